"""Privacy budgets: an (epsilon, delta) pair that adds up under basic composition.

A :class:`Budget` is a value: frozen, validated when built, never negative. Budgets add
(sequential composition of two releases on the same data), subtract (what is left of a
cap) and compare component-wise, so ``spent + request <= cap`` reads as it should: both
epsilon and delta must fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sdc.errors import BudgetExceeded, PolicyError

#: Differences smaller than this are float noise from adding many small budgets.
_TOLERANCE = 1e-12


def format_number(x: float) -> str:
    """Format a budget figure for messages: ``0.5``, ``1.0``, ``1e-06`` (no float noise).

    Args:
        x: the number.

    Returns:
        The shortest ``repr`` of ``x`` rounded to 10 significant digits.
    """
    return repr(float(f"{x:.10g}"))


@dataclass(frozen=True)
class Budget:
    """A privacy budget or a privacy loss: ``epsilon`` and ``delta``, both >= 0.

    Attributes:
        epsilon: the epsilon of (epsilon, delta)-differential privacy.
        delta: the delta; 0 for pure differential privacy.

    Raises:
        PolicyError: if a component is negative, infinite or not a number, or delta >= 1.
    """

    epsilon: float
    delta: float = 0.0

    def __post_init__(self) -> None:
        for name in ("epsilon", "delta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise PolicyError(f"privacy budget {name} must be a number, got {value!r}")
            if not math.isfinite(value) or value < -_TOLERANCE:
                raise PolicyError(f"privacy budget {name} must be >= 0, got {value!r}")
            # Clamp float noise such as -1e-17 from cap - spent to an exact zero.
            object.__setattr__(self, name, max(float(value), 0.0))
        if self.delta >= 1.0:
            raise PolicyError(f"privacy budget delta must be < 1, got {self.delta!r}")

    @classmethod
    def zero(cls) -> Budget:
        """The empty budget (nothing spent)."""
        return cls(0.0, 0.0)

    def __add__(self, other: Budget) -> Budget:
        if not isinstance(other, Budget):
            return NotImplemented
        return Budget(self.epsilon + other.epsilon, self.delta + other.delta)

    def __sub__(self, other: Budget) -> Budget:
        """What is left of ``self`` after ``other``.

        Raises:
            BudgetExceeded: if ``other`` does not fit in ``self``.
        """
        if not isinstance(other, Budget):
            return NotImplemented
        if not other <= self:
            raise BudgetExceeded(
                f"cannot take {other.describe()} from {self.describe()}: "
                "it is more than the budget holds"
            )
        eps = self.epsilon - other.epsilon
        delta = self.delta - other.delta
        return Budget(
            0.0 if eps <= _TOLERANCE * max(1.0, self.epsilon) else eps,
            0.0 if delta <= _TOLERANCE else delta,
        )

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Budget):
            return NotImplemented
        return (
            self.epsilon <= other.epsilon + _TOLERANCE * max(1.0, other.epsilon)
            and self.delta <= other.delta + _TOLERANCE
        )

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Budget):
            return NotImplemented
        return other <= self

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Budget):
            return NotImplemented
        return self <= other and self != other

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Budget):
            return NotImplemented
        return other < self

    def describe(self) -> str:
        """Human wording: ``epsilon 0.5`` or ``epsilon 0.5, delta 1e-06``."""
        if self.delta > 0:
            return f"epsilon {format_number(self.epsilon)}, delta {format_number(self.delta)}"
        return f"epsilon {format_number(self.epsilon)}"

    def as_dict(self) -> dict[str, float]:
        """JSON-ready form: ``{"epsilon": ..., "delta": ...}``."""
        return {"epsilon": self.epsilon, "delta": self.delta}
