"""sdc: statistical disclosure control for citizen-generated data.

Modules map to tasks:

- ``sdc.io``: read and write survey files (CSV, XLSX, Stata, SPSS, Parquet).
- ``sdc.policy``: the policy file model (:func:`load_policy`).
- ``sdc.scan``: profile columns and draft a policy.
- ``sdc.risk``: re-identification and attribute-disclosure measures (:func:`assess_risk`).
- ``sdc.anonymize``: treatments that lower the risk (recoding, suppression, PRAM, ...).
- ``sdc.tables``: safe frequency and magnitude tables, including DP tables.
- ``sdc.synth``: differentially private synthetic microdata.
- ``sdc.release``: the release bundle, its check, and the privacy-budget ledger.
- ``sdc.workflow``: one function per CLI command, for use from Python.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any

from sdc.errors import BudgetExceeded, DataError, PolicyError, PolicyNotMet, SdcError  # noqa: E402

if TYPE_CHECKING:
    from sdc.io import Table, read_table
    from sdc.policy import Policy, load_policy
    from sdc.risk import RiskReport, RiskThresholds, assess_risk

#: The library API, imported on first use: ``import sdc`` (and ``sdc --help``) stays fast.
_LAZY = {
    "Table": "sdc.io",
    "read_table": "sdc.io",
    "Policy": "sdc.policy",
    "load_policy": "sdc.policy",
    "RiskReport": "sdc.risk",
    "RiskThresholds": "sdc.risk",
    "assess_risk": "sdc.risk",
}


def __getattr__(name: str) -> Any:
    """Import the library's names on first use (PEP 562)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'sdc' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "BudgetExceeded",
    "DataError",
    "Policy",
    "PolicyError",
    "PolicyNotMet",
    "RiskReport",
    "RiskThresholds",
    "SdcError",
    "Table",
    "__version__",
    "assess_risk",
    "load_policy",
    "read_table",
]
