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

from sdc.errors import BudgetExceeded, DataError, PolicyError, PolicyNotMet, SdcError  # noqa: E402
from sdc.io import Table, read_table  # noqa: E402
from sdc.policy import Policy, load_policy  # noqa: E402
from sdc.risk import RiskReport, RiskThresholds, assess_risk  # noqa: E402

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
