"""Alerts: configurations evaluated on the performance data, their instances, and their schedule."""
