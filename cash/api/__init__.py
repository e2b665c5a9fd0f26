"""The cash side's API (staff only): payout reports and their exceptions."""
