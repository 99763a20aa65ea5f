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

Check and record are two steps, so two releases running at the same time could both pass
the check and together exceed the cap. :meth:`Ledger.locked` closes that gap: it holds an
exclusive ``flock`` on ``<ledger>.lock`` beside the ledger, and ``sdc release`` holds it
from the budget check until the ledger line is written, so concurrent releases on any
dataset in the same ledger run their check-and-record one after the other.

A ledger that cannot be read or written (a folder, a file that is not UTF-8, missing
permissions, a line that is not a valid record) raises :class:`~sdc.errors.DataError`
naming the file, the line where it applies, and how to fix it.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdc.errors import BudgetExceeded, DataError, PolicyError
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


def _reason(exc: OSError) -> str:
    """The operating system's short reason for an I/O error (``Permission denied``)."""
    return exc.strerror or str(exc)


def _is_dir(path: Path) -> bool:
    """Whether ``path`` is a folder; ``False`` when it cannot even be looked at."""
    try:
        return path.is_dir()
    except OSError:
        return False


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

    @property
    def lock_path(self) -> Path:
        """The lock file beside the ledger: ``<ledger>.lock``."""
        return self.path.with_name(self.path.name + ".lock")

    def _where(self) -> str:
        """How the ledger's location is chosen, for the fix in a message."""
        return "SDC_LEDGER" if os.environ.get(LEDGER_ENV) else "the ledger path (SDC_LEDGER)"

    def _folder_error(self) -> DataError:
        return DataError(
            f"the privacy-budget ledger {self.path} is a folder; point {self._where()} to a "
            f"file such as {self.path / 'ledger.jsonl'}"
        )

    @contextmanager
    def locked(self) -> Iterator[Ledger]:
        """Hold the ledger's exclusive lock, so a budget check and its record are atomic.

        Takes an exclusive ``fcntl.flock`` on :attr:`lock_path` (creating it and its folder
        if needed) and blocks until any other process holding it lets go. Inside the block
        :meth:`check` and :meth:`record` work as usual; no other process that also uses
        ``locked()`` can check or record on this ledger in between. ``sdc release`` holds the
        lock from the budget check until the ledger line is written::

            with ledger.locked():
                ledger.check(sha, request, cap, dataset=name)
                ...  # measure, write the bundle
                ledger.record(sha, outputs, spent, mechanism, policy, dataset=name)

        The lock is not re-entrant: do not nest ``locked()`` on the same ledger (even through
        another :class:`Ledger` object), it would wait for itself. Reading and writing without
        the lock still work, but then give no such guarantee.

        Yields:
            This ledger.

        Raises:
            DataError: if the ledger is a folder or the lock file cannot be created or locked.
        """
        if _is_dir(self.path):
            raise self._folder_error()
        lock = self.lock_path
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise DataError(
                f"cannot create the privacy-budget ledger lock {lock}: {_reason(exc)}; make "
                f"its folder writable or point {self._where()} to a file in a writable folder"
            ) from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise DataError(
                    f"cannot lock the privacy-budget ledger lock {lock}: {_reason(exc)}; "
                    f"point {self._where()} to a file on a local disk that supports locking"
                ) from exc
            try:
                yield self
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def entries(self) -> list[LedgerEntry]:
        """Every recorded release, in file order.

        Raises:
            DataError: if the ledger is a folder, cannot be read, is not UTF-8 text, or a line
                is not a valid ledger record (names the file and line).
        """
        try:
            with self.path.open("rb") as fh:
                raw = fh.readlines()
        except FileNotFoundError:
            return []
        except IsADirectoryError as exc:
            raise self._folder_error() from exc
        except OSError as exc:
            raise DataError(
                f"cannot read the privacy-budget ledger {self.path}: {_reason(exc)}; give "
                f"yourself read and write access to it or point {self._where()} to another file"
            ) from exc
        out: list[LedgerEntry] = []
        for lineno, data in enumerate(raw, start=1):
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{self.path} line {lineno}: not UTF-8 text, so not a ledger record "
                    f"({exc.reason} at byte {exc.start}); fix or remove that line, or point "
                    f"{self._where()} to the right file"
                ) from exc
            if not line.strip():
                continue
            out.append(self._parse(line, lineno))
        return out

    def _parse(self, line: str, lineno: int) -> LedgerEntry:
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
            outputs = obj["outputs"]
            if not isinstance(outputs, list):
                raise TypeError(f"outputs must be a list, got {type(outputs).__name__}")
            return LedgerEntry(
                time=str(obj["time"]),
                dataset_sha256=str(obj["dataset_sha256"]),
                dataset=str(obj.get("dataset", "")),
                outputs=tuple(str(o) for o in outputs),
                budget=Budget(float(obj["epsilon"]), float(obj.get("delta", 0.0))),
                mechanism=str(obj["mechanism"]),
                policy_name=str(obj["policy"]),
            )
        except KeyError as exc:
            raise DataError(
                f"{self.path} line {lineno}: not a valid ledger record (missing field "
                f"{exc}); fix or remove that line (the other lines still count)"
            ) from exc
        except (ValueError, TypeError, OverflowError, RecursionError, PolicyError) as exc:
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

        Raises:
            DataError: if the ledger cannot be written (a folder, no permission, disk full);
                the release is then not recorded.
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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one complete line in append mode: POSIX appends are atomic with
            # respect to other appenders for writes of this size.
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except IsADirectoryError as exc:
            raise self._folder_error() from exc
        except OSError as exc:
            raise DataError(
                f"cannot write the privacy-budget ledger {self.path}: {_reason(exc)}; the "
                f"release was not recorded; make the file and its folder writable (and check "
                f"the disk has space) or point {self._where()} to a writable file"
            ) from exc
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
