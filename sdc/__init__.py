"""sdc: statistical disclosure control for citizen-generated data.

Modules map to tasks:

- ``sdc.io``: read and write survey files (CSV, XLSX, Stata, SPSS, Parquet).
- ``sdc.policy``: the policy file model (``load_policy``).
- ``sdc.risk``: re-identification and attribute-disclosure measures.
- ``sdc.anonymize``: treatments that lower the risk.
- ``sdc.tables``: safe frequency and magnitude tables, including DP tables.
- ``sdc.synth``: differentially private synthetic microdata.
- ``sdc.release``: the release bundle, its manifest and the privacy-budget ledger.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
