"""The cash side's operations: importing statements (imports), the open-item
sources (sources), matching (matching) and staff decisions (decisions)."""

# Open-item sources beside the vendor payouts of .sources, registered on import.
from . import payout_sources  # noqa: F401
