"""The errors `sdc` raises for things a user can fix.

Every class here is a *user* error: the CLI prints its message on one line and exits 2
(or 1 for :class:`PolicyNotMet` and :class:`BudgetExceeded`: findings, not mistakes).
Anything else that escapes the library is a bug and keeps its traceback.
"""

from __future__ import annotations


class SdcError(Exception):
    """Base class for errors caused by the input, the policy or the environment."""

    exit_code = 2


class DataError(SdcError):
    """The data file cannot be read or does not fit the request."""


class PolicyError(SdcError):
    """The policy file is malformed or does not fit the data."""


class BudgetExceeded(SdcError):
    """A differential-privacy release would spend more than the policy's budget.

    Like :class:`PolicyNotMet` it is a finding (exit 1), not a mistake in the input.
    """

    exit_code = 1


class PolicyNotMet(SdcError):
    """The data cannot be brought within the policy's thresholds; nothing was written."""

    exit_code = 1
