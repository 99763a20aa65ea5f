"""Differentially private synthetic microdata and its evaluation.

- ``synthesize``: MST or AIM synthetic records under (epsilon, delta)-DP (``sdc.synth.mst``,
  ``sdc.synth.aim`` with the graphical model of ``sdc.synth._pgm``).
- ``evaluate``: utility (TVD, pMSE, correlations) and privacy (exact matches, distance to
  the closest record against a hold-out) of synthetic records (``sdc.synth.evaluate``).
"""

from sdc.synth.evaluate import DistanceSummary, SynthEvaluation, evaluate
from sdc.synth.mst import Measurement, SynthResult, synthesize

__all__ = [
    "DistanceSummary",
    "Measurement",
    "SynthEvaluation",
    "SynthResult",
    "evaluate",
    "synthesize",
]
