"""The growth and performance reports, composed from exact totals of the performance data."""
