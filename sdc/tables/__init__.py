"""Frequency and magnitude tables: sensitivity rules, secondary suppression, DP tables."""
