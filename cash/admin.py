"""Staff admin for the cash side. Payout reports, their rows, providers,
mappings and the exception queue: cash/payout_admin.py."""

from . import payout_admin  # noqa: F401
