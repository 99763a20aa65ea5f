"""Risk measures: key frequencies, individual/global/household risk, l-diversity, SUDA2."""

from sdc.risk.assess import (
    Breach,
    GroupDisclosure,
    HouseholdRisk,
    KAnonymity,
    LDiversity,
    RiskReport,
    RiskThresholds,
    SudaSummary,
    TCloseness,
    VariableContribution,
    assess_risk,
)
from sdc.risk.frequencies import KeyFrequencies, encode_keys, key_frequencies

__all__ = [
    "Breach",
    "GroupDisclosure",
    "HouseholdRisk",
    "KAnonymity",
    "KeyFrequencies",
    "LDiversity",
    "RiskReport",
    "RiskThresholds",
    "SudaSummary",
    "TCloseness",
    "VariableContribution",
    "assess_risk",
    "encode_keys",
    "key_frequencies",
]
