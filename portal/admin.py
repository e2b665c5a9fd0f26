"""The portal's admin registrations: the settlement statements admin lives in
portal/settlement_admin.py (it makes statements and tells vendors)."""

from . import settlement_admin  # noqa: F401
