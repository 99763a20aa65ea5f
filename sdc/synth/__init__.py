"""Differentially private synthetic microdata and its evaluation."""
