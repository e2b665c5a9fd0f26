"""The cash side's operations: importing statements (imports), the open-item
sources (sources), matching (matching) and staff decisions (decisions)."""
