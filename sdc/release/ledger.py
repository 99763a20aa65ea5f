"""The privacy-budget ledger: every DP release on a dataset, as JSON lines.

Each differentially private release records one line: the dataset's SHA-256 (the ledger
keys on content, not on file names, so a renamed copy shares its budget), the outputs, the
(epsilon, delta) spent, the mechanism and the policy. Budgets add up under basic sequential
composition, so what a dataset has spent is the sum of its lines. A release that would
take a dataset past the policy's cap is refused by :meth:`Ledger.check` before any noise
is drawn.

The file is ``~/.sdc/ledger.jsonl`` unless the environment variable ``SDC_LEDGER`` names
another. Writes append one complete line with ``open("a")`` and ``fsync``, so concurrent
releases cannot interleave partial records and a crash leaves at worst one unreadable
last line, which :meth:`Ledger.entries` reports with its line number.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdc.errors import BudgetExceeded, DataError
from sdc.release.budget import Budget, format_number

#: Environment variable naming the ledger file.
LEDGER_ENV = "SDC_LEDGER"


def default_ledger_path() -> Path:
    """The ledger file: ``$SDC_LEDGER`` if set, else ``~/.sdc/ledger.jsonl``."""
    env = os.environ.get(LEDGER_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".sdc" / "ledger.jsonl"


@dataclass(frozen=True)
class LedgerEntry:
    """One DP release as recorded in the ledger.

    Attributes:
        time: UTC timestamp, ISO 8601.
        dataset_sha256: SHA-256 of the input data (hex).
        dataset: a display name for the data (e.g. the file name), or ``""``.
        outputs: names of the DP outputs of the release.
        budget: the (epsilon, delta) spent.
        mechanism: the mechanism(s), e.g. ``"discrete laplace"``.
        policy_name: the policy's ``name``.
    """

    time: str
    dataset_sha256: str
    dataset: str
    outputs: tuple[str, ...]
    budget: Budget
    mechanism: str
    policy_name: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON object written to the ledger."""
        return {
            "time": self.time,
            "dataset_sha256": self.dataset_sha256,
            "dataset": self.dataset,
            "outputs": list(self.outputs),
            "epsilon": self.budget.epsilon,
            "delta": self.budget.delta,
            "mechanism": self.mechanism,
            "policy": self.policy_name,
        }


@dataclass(frozen=True)
class LedgerSummaryRow:
    """What one dataset has spent, for ``sdc budget``.

    Attributes:
        dataset_sha256: SHA-256 of the data.
        dataset: the display name of its latest release.
        releases: number of recorded DP releases.
        spent: total (epsilon, delta) under basic composition.
        last_release: timestamp of the latest release.
        policies: the policy names used, in first-use order.
    """

    dataset_sha256: str
    dataset: str
    releases: int
    spent: Budget
    last_release: str
    policies: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys for ``sdc budget --json``)."""
        return {
            "dataset_sha256": self.dataset_sha256,
            "dataset": self.dataset,
            "releases": self.releases,
            "epsilon": self.spent.epsilon,
            "delta": self.spent.delta,
            "last_release": self.last_release,
            "policies": list(self.policies),
        }


def short_sha(sha256: str) -> str:
    """The abbreviated hash used in messages: first 4 hex digits and an ellipsis."""
    return f"{sha256[:4]}…"


class Ledger:
    """The append-only privacy-budget ledger (JSON lines).

    Args:
        path: the ledger file; default :func:`default_ledger_path`. It need not exist yet.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def entries(self) -> list[LedgerEntry]:
        """Every recorded release, in file order.

        Raises:
            DataError: if a line is not a valid ledger record (names the file and line).
        """
        if not self.path.exists():
            return []
        out: list[LedgerEntry] = []
        with self.path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                out.append(self._parse(line, lineno))
        return out

    def _parse(self, line: str, lineno: int) -> LedgerEntry:
        try:
            obj = json.loads(line)
            return LedgerEntry(
                time=str(obj["time"]),
                dataset_sha256=str(obj["dataset_sha256"]),
                dataset=str(obj.get("dataset", "")),
                outputs=tuple(str(o) for o in obj["outputs"]),
                budget=Budget(float(obj["epsilon"]), float(obj.get("delta", 0.0))),
                mechanism=str(obj["mechanism"]),
                policy_name=str(obj["policy"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(
                f"{self.path} line {lineno}: not a valid ledger record ({exc}); "
                "fix or remove that line (the other lines still count)"
            ) from exc

    def spent(self, dataset_sha256: str) -> Budget:
        """Total budget spent on a dataset (basic composition: the sum of its releases)."""
        total = Budget.zero()
        for entry in self.entries():
            if entry.dataset_sha256 == dataset_sha256:
                total = total + entry.budget
        return total

    def check(
        self,
        dataset_sha256: str,
        request: Budget,
        cap: Budget,
        *,
        dataset: str = "",
    ) -> Budget:
        """Refuse a release that would take the dataset past its cap.

        Args:
            dataset_sha256: SHA-256 of the data.
            request: what the release will spend.
            cap: the policy's budget for this dataset.
            dataset: display name for the message (e.g. ``survey.csv``).

        Returns:
            What is left after the release.

        Raises:
            BudgetExceeded: ``release needs epsilon 0.5 but only 0.2 of 1.0 is left for
                survey.csv (sha256 3f2a…); see `sdc budget```.
        """
        spent = self.spent(dataset_sha256)
        total = spent + request
        if total <= cap:
            return cap - total
        left = Budget(
            max(cap.epsilon - spent.epsilon, 0.0),
            max(cap.delta - spent.delta, 0.0),
        )
        name = f"{dataset} " if dataset else ""
        if request.delta > 0 or spent.delta > 0:
            needs = (
                f"epsilon {format_number(request.epsilon)} and delta {format_number(request.delta)}"
            )
            have = (
                f"epsilon {format_number(left.epsilon)} and delta {format_number(left.delta)}"
                f" of epsilon {format_number(cap.epsilon)} and delta {format_number(cap.delta)}"
            )
        else:
            needs = f"epsilon {format_number(request.epsilon)}"
            have = f"{format_number(left.epsilon)} of {format_number(cap.epsilon)}"
        raise BudgetExceeded(
            f"release needs {needs} but only {have} is left for "
            f"{name}(sha256 {short_sha(dataset_sha256)}); see `sdc budget`"
        )

    def record(
        self,
        dataset_sha256: str,
        outputs: Sequence[str],
        budget: Budget,
        mechanism: str,
        policy_name: str,
        *,
        dataset: str = "",
        time: datetime | None = None,
    ) -> LedgerEntry:
        """Append one release to the ledger (one line, flushed and fsynced).

        Args:
            dataset_sha256: SHA-256 of the data.
            outputs: names of the DP outputs.
            budget: what the release spent.
            mechanism: the mechanism(s) used.
            policy_name: the policy's name.
            dataset: display name for ``sdc budget``.
            time: timestamp (default now, UTC).

        Returns:
            The recorded entry.
        """
        when = (time or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
        entry = LedgerEntry(
            time=when,
            dataset_sha256=dataset_sha256,
            dataset=dataset,
            outputs=tuple(outputs),
            budget=budget,
            mechanism=mechanism,
            policy_name=policy_name,
        )
        line = json.dumps(entry.as_dict(), ensure_ascii=False, sort_keys=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one complete line in append mode: POSIX appends are atomic with
        # respect to other appenders for writes of this size.
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())
        return entry

    def summary(self) -> list[LedgerSummaryRow]:
        """One row per dataset, in order of first release, for ``sdc budget``."""
        rows: dict[str, LedgerSummaryRow] = {}
        for entry in self.entries():
            prev = rows.get(entry.dataset_sha256)
            if prev is None:
                rows[entry.dataset_sha256] = LedgerSummaryRow(
                    dataset_sha256=entry.dataset_sha256,
                    dataset=entry.dataset,
                    releases=1,
                    spent=entry.budget,
                    last_release=entry.time,
                    policies=(entry.policy_name,),
                )
                continue
            policies = prev.policies
            if entry.policy_name not in policies:
                policies = (*policies, entry.policy_name)
            rows[entry.dataset_sha256] = LedgerSummaryRow(
                dataset_sha256=entry.dataset_sha256,
                dataset=entry.dataset or prev.dataset,
                releases=prev.releases + 1,
                spent=prev.spent + entry.budget,
                last_release=max(prev.last_release, entry.time),
                policies=policies,
            )
        return list(rows.values())
