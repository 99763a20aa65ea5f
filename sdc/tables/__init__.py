"""Frequency and magnitude tables: sensitivity rules, secondary suppression, DP tables.

- :class:`TableSpec` / :class:`DpSpec`: what to tabulate and how to protect it.
- :func:`build_table` / :func:`build_tables`: build and protect -> :class:`ProtectedTable`.
- :func:`check_finite`: refuse infinite values a table would sum (before any budget).
- :func:`link_tables`: protect a release's tables of one quantity as one system.
- :func:`audit_suppression` / :func:`audit_linked`: the interval audit of a suppression
  pattern, of one table or of several published together (``sdc check``).
- :func:`to_pivot`: the readable cross-tabulation of a tidy table.
- :func:`tables_budget`: the DP budget a list of specs will spend.
"""

from sdc.tables.build import (
    FLAGS,
    CellInterval,
    ProtectedTable,
    audit_linked,
    audit_suppression,
    build_table,
    build_tables,
    check_finite,
    link_tables,
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
    "audit_linked",
    "build_tables",
    "check_finite",
    "link_tables",
    "tables_budget",
    "to_pivot",
]
