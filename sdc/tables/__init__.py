"""Frequency and magnitude tables: sensitivity rules, secondary suppression, DP tables.

- :class:`TableSpec` / :class:`DpSpec`: what to tabulate and how to protect it.
- :func:`build_table` / :func:`build_tables`: build and protect -> :class:`ProtectedTable`.
- :func:`check_finite`: refuse infinite values a table would sum (before any budget).
- :func:`audit_suppression`: the interval audit of a suppression pattern (``sdc check``).
- :func:`to_pivot`: the readable cross-tabulation of a tidy table.
- :func:`tables_budget`: the DP budget a list of specs will spend.
"""

from sdc.tables.build import (
    FLAGS,
    CellInterval,
    ProtectedTable,
    audit_suppression,
    build_table,
    build_tables,
    check_finite,
    tables_budget,
    to_pivot,
)
from sdc.tables.spec import DpSpec, TableSpec

__all__ = [
    "FLAGS",
    "CellInterval",
    "DpSpec",
    "ProtectedTable",
    "TableSpec",
    "audit_suppression",
    "build_table",
    "build_tables",
    "check_finite",
    "tables_budget",
    "to_pivot",
]
