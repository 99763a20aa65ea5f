"""The privacy-budget ledger: every DP release on a dataset, as JSON lines.

The budget belongs to a named dataset (the policy's ``privacy.dataset``), not to a file, and
the ledger holds three kinds of line:

- ``spend``: written *ahead* of a release, before any DP measurement runs: the dataset, the
  (epsilon, delta), the outputs, the mechanism, the policy, the input file's SHA-256 and the
  data's content fingerprint and sketch (:mod:`sdc.fingerprint`), so a re-export, a renamed
  copy or a near copy of the same records is recognised;
- ``complete``: the release's bundle is in place. A spend never completed (a crash, a kill,
  an error after the line was written) still counts as spent;
- ``cap``: a dataset's cap, fixed at its first release and changed only by
  :meth:`Ledger.raise_cap` (``sdc budget raise``), with the reason.

Budgets add up under basic sequential composition, so what a dataset has spent is the sum of
its spend lines. Lines from before dataset names existed (no ``kind``) are spends charged to
the input file's name.

The ledger is ``privacy.ledger`` (relative to the policy file), else ``SDC_LEDGER``, else
``~/.sdc/ledger.jsonl`` (:func:`ledger_for`). Writes append whole lines in one ``write`` and
``fsync``. A last line without its newline that is not a valid record is what an interrupted
write leaves (a full disk, a kill): it never reached ``fsync``, so no measurement ran on it;
reading skips it with a note and the next write cuts it off. Any other bad line raises
:class:`~sdc.errors.DataError` naming the file, the line and how to fix it.

Check and record are two steps, so two releases running at the same time could both pass
the check and together exceed the cap. :meth:`Ledger.locked` closes that gap: it holds an
exclusive ``flock`` on ``<ledger>.lock`` beside the ledger's real file (symbolic links
resolved, so every path to the same ledger shares one lock), and ``sdc release`` holds it
from its last budget check until the write-ahead line is fsynced.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdc.budget import Budget, format_number
from sdc.errors import BudgetExceeded, DataError, PolicyError
from sdc.fingerprint import Fingerprint, RowSketch
from sdc.io import fsync_folder

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
    """One DP release as recorded in the ledger (its write-ahead line).

    Attributes:
        time: UTC timestamp, ISO 8601, of the write-ahead line.
        dataset_sha256: SHA-256 of the input file's bytes (informative only: the budget is
            charged to ``dataset``).
        dataset: the dataset charged, the policy's ``privacy.dataset`` (for a line written
            before dataset names existed: the input file's name).
        outputs: names of the DP outputs of the release.
        budget: the (epsilon, delta) spent.
        mechanism: the mechanism(s), e.g. ``"discrete laplace"``.
        policy_name: the policy's ``name``.
        id: the release's id, which its completion line repeats (``""`` on old lines).
        fingerprint: the content fingerprint of the data (:mod:`sdc.fingerprint`), or ``""``.
        sketch: the sample of record hashes that recognises near copies, or None.
        complete: whether a completion line says the bundle was put in place. An
            incomplete entry (a crash, a kill, an error after the write-ahead line) still
            counts as spent.
    """

    time: str
    dataset_sha256: str
    dataset: str
    outputs: tuple[str, ...]
    budget: Budget
    mechanism: str
    policy_name: str
    id: str = ""
    fingerprint: str = ""
    sketch: RowSketch | None = None
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The JSON object written to the ledger (without ``complete``: a later line says so)."""
        out: dict[str, Any] = {
            "kind": "spend",
            "id": self.id,
            "time": self.time,
            "dataset": self.dataset,
            "dataset_sha256": self.dataset_sha256,
            "outputs": list(self.outputs),
            "epsilon": self.budget.epsilon,
            "delta": self.budget.delta,
            "mechanism": self.mechanism,
            "policy": self.policy_name,
        }
        if self.fingerprint:
            out["fingerprint"] = self.fingerprint
        if self.sketch is not None:
            out["sketch"] = self.sketch.as_dict()
        return out


@dataclass(frozen=True)
class CapEntry:
    """A dataset's budget cap as the ledger fixes it.

    The first DP release on a dataset writes its cap (from the policy's ``privacy.budget``
    and ``privacy.delta``); only ``sdc budget raise`` writes another, with a reason. Editing
    the policy never changes it.

    Attributes:
        time: UTC timestamp, ISO 8601.
        dataset: the dataset's name.
        cap: the (epsilon, delta) cap.
        reason: why it was set (``first release`` or the reason given to ``sdc budget raise``).
    """

    time: str
    dataset: str
    cap: Budget
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON object written to the ledger."""
        return {
            "kind": "cap",
            "time": self.time,
            "dataset": self.dataset,
            "epsilon": self.cap.epsilon,
            "delta": self.cap.delta,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class LedgerSummaryRow:
    """What one dataset has spent, for ``sdc budget``.

    Attributes:
        dataset: the dataset's name.
        releases: number of recorded DP releases.
        incomplete: how many of them never completed (still counted as spent).
        spent: total (epsilon, delta) under basic composition.
        cap: the cap the ledger holds for it, or None (lines from before caps were kept).
        last_release: timestamp of the latest release.
        policies: the policy names used, in first-use order.
    """

    dataset: str
    releases: int
    incomplete: int
    spent: Budget
    cap: Budget | None
    last_release: str
    policies: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stable keys for ``sdc budget --json``)."""
        return {
            "dataset": self.dataset,
            "releases": self.releases,
            "incomplete": self.incomplete,
            "epsilon": self.spent.epsilon,
            "delta": self.spent.delta,
            "cap_epsilon": None if self.cap is None else self.cap.epsilon,
            "cap_delta": None if self.cap is None else self.cap.delta,
            "last_release": self.last_release,
            "policies": list(self.policies),
        }


@dataclass
class _State:
    """Everything read from the ledger file."""

    spends: list[LedgerEntry] = field(default_factory=list)
    caps: dict[str, CapEntry] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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
        shown: how the ledger is named in manifests and messages (the path as the policy or
            ``SDC_LEDGER`` gives it, never made absolute); default the path itself.
        setting: the setting that chose it, named in the fix of a message:
            ``privacy.ledger``, ``SDC_LEDGER`` or None (the default, or a path given directly).
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        shown: str | None = None,
        setting: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_ledger_path()
        self.shown = shown if shown is not None else str(self.path)
        self.setting = setting

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    @property
    def lock_path(self) -> Path:
        """The lock file beside the ledger's real file: ``<real ledger>.lock``.

        The path is resolved first, so a ledger reached through a symbolic link shares the
        lock of every other path to the same file.
        """
        real = Path(os.path.realpath(self.path))
        return real.with_name(real.name + ".lock")

    def _where(self) -> str:
        """How the ledger's location is chosen, for the fix in a message."""
        if self.setting is not None:
            return self.setting
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
        lock from the budget check until the write-ahead line is written::

            with ledger.locked():
                ledger.check(name, request, cap, fingerprint=fp)
                entry = ledger.record(name, outputs, request, mechanism, policy, cap=cap)
            ...  # measure, write the bundle
            ledger.complete(entry, "release/")

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

    # ---- reading ---------------------------------------------------------------------

    def exists(self) -> bool:
        """Whether the ledger file exists yet (a new ledger starts every budget at zero)."""
        try:
            return self.path.is_file()
        except OSError:
            return False

    def _read_bytes(self) -> bytes:
        try:
            with self.path.open("rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return b""
        except IsADirectoryError as exc:
            raise self._folder_error() from exc
        except OSError as exc:
            raise DataError(
                f"cannot read the privacy-budget ledger {self.path}: {_reason(exc)}; give "
                f"yourself read and write access to it or point {self._where()} to another file"
            ) from exc

    def _state(self) -> _State:
        """Read every line: spends (with their completion), caps, and what was skipped.

        A last line without its newline that is not a valid record is what an interrupted
        write leaves (a full disk, a kill): it never reached ``fsync``, so no measurement
        ran on it. It is skipped and reported in ``notes``; any other bad line raises.
        """
        raw = self._read_bytes()
        state = _State()
        completed: set[str] = set()
        lines = raw.split(b"\n")
        tail = lines.pop()  # b"" when the file ends with a newline
        for lineno, data in enumerate(lines, start=1):
            self._read_line(data, lineno, state, completed)
        if tail.strip():
            lineno = len(lines) + 1
            try:
                self._read_line(tail, lineno, state, completed)
            except DataError:
                state.notes.append(_torn_note(self.path, lineno, len(tail)))
        state.spends = [replace(e, complete=not e.id or e.id in completed) for e in state.spends]
        return state

    def _read_line(self, data: bytes, lineno: int, state: _State, completed: set[str]) -> None:
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{self.path} line {lineno}: not UTF-8 text, so not a ledger record "
                f"({exc.reason} at byte {exc.start}); fix or remove that line, or point "
                f"{self._where()} to the right file"
            ) from exc
        if not line.strip():
            return
        obj = self._parse(line, lineno)
        if isinstance(obj, LedgerEntry):
            state.spends.append(obj)
        elif isinstance(obj, CapEntry):
            state.caps[obj.dataset] = obj
        else:
            completed.add(obj)

    def _parse(self, line: str, lineno: int) -> LedgerEntry | CapEntry | str:
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
            kind = obj.get("kind", "spend")
            if kind == "complete":
                return str(obj["id"])
            if kind == "cap":
                return CapEntry(
                    time=str(obj["time"]),
                    dataset=str(obj["dataset"]),
                    cap=Budget(float(obj["epsilon"]), float(obj.get("delta", 0.0))),
                    reason=str(obj["reason"]),
                )
            if kind != "spend":
                raise ValueError(f"unknown kind {kind!r}")
            outputs = obj["outputs"]
            if not isinstance(outputs, list):
                raise TypeError(f"outputs must be a list, got {type(outputs).__name__}")
            sketch = obj.get("sketch")
            return LedgerEntry(
                time=str(obj["time"]),
                dataset_sha256=str(obj.get("dataset_sha256", "")),
                dataset=str(obj.get("dataset") or obj.get("dataset_sha256", "")),
                outputs=tuple(str(o) for o in outputs),
                budget=Budget(float(obj["epsilon"]), float(obj.get("delta", 0.0))),
                mechanism=str(obj["mechanism"]),
                policy_name=str(obj["policy"]),
                id=str(obj.get("id", "")),
                fingerprint=str(obj.get("fingerprint", "")),
                sketch=None if sketch is None else RowSketch.from_dict(sketch),
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

    def entries(self) -> list[LedgerEntry]:
        """Every recorded release, in file order, each marked complete or not.

        Raises:
            DataError: if the ledger is a folder, cannot be read, is not UTF-8 text, or a line
                is not a valid ledger record (names the file and line). A partial last line
                left by an interrupted write is skipped (see :meth:`notes`).
        """
        return self._state().spends

    def notes(self) -> list[str]:
        """What reading the ledger skipped (a partial last line), for the user to know."""
        return self._state().notes

    def cap(self, dataset: str) -> Budget | None:
        """The cap the ledger holds for a dataset, or None before its first release."""
        entry = self._state().caps.get(dataset)
        return None if entry is None else entry.cap

    def spent(self, dataset: str) -> Budget:
        """Total budget spent on a dataset (basic composition), incomplete releases included."""
        return self._spent(self._state(), dataset)

    @staticmethod
    def _spent(state: _State, dataset: str) -> Budget:
        total = Budget.zero()
        for entry in state.spends:
            if entry.dataset == dataset:
                total = total + entry.budget
        return total

    # ---- the budget check ------------------------------------------------------------

    def check(
        self,
        dataset: str,
        request: Budget,
        cap: Budget,
        *,
        fingerprint: Fingerprint | None = None,
        where: str = "",
    ) -> Budget:
        """Refuse a release that would take the dataset past its cap, or is another's data.

        Args:
            dataset: the dataset's name (``privacy.dataset``).
            request: what the release will spend.
            cap: the policy's cap (``privacy.budget``, ``privacy.delta``). Once the ledger
                holds a cap for the dataset, that one applies; a policy asking for more is
                refused (only ``sdc budget raise`` raises a cap).
            fingerprint: the data's content fingerprint; refused when it is the data (or
                nearly all the data) of a dataset recorded under another name.
            where: the policy line of ``privacy.budget``, for the message.

        Returns:
            What is left after the release.

        Raises:
            BudgetExceeded: the dataset's cap would be passed, the policy asks for a higher
                cap than the ledger holds, or the data was recorded under another name.
        """
        state = self._state()
        if fingerprint is not None:
            self._refuse_other_name(state, dataset, fingerprint)
        fixed = state.caps.get(dataset)
        if fixed is not None:
            at = f"{where}: " if where else ""
            if not Budget(cap.epsilon) <= Budget(fixed.cap.epsilon):
                raise BudgetExceeded(
                    f"{at}privacy.budget asks for a cap of epsilon {format_number(cap.epsilon)} "
                    f"but the ledger {self.shown} fixed dataset {dataset}'s cap at epsilon "
                    f"{format_number(fixed.cap.epsilon)} ({fixed.reason}); editing the policy "
                    f"does not raise it: run `sdc budget raise {dataset} --to "
                    f"{format_number(cap.epsilon)} --reason TEXT`"
                )
            if not Budget(0.0, cap.delta) <= Budget(0.0, fixed.cap.delta):
                raise BudgetExceeded(
                    f"{at}privacy.delta asks for a cap of delta {format_number(cap.delta)} but "
                    f"the ledger {self.shown} fixed dataset {dataset}'s at delta "
                    f"{format_number(fixed.cap.delta)} at its first release; lower privacy.delta"
                )
            cap = Budget(min(cap.epsilon, fixed.cap.epsilon), min(cap.delta, fixed.cap.delta))
        spent = self._spent(state, dataset)
        total = spent + request
        if total <= cap:
            return cap - total
        left = Budget(
            max(cap.epsilon - spent.epsilon, 0.0),
            max(cap.delta - spent.delta, 0.0),
        )
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
            f"release needs {needs} but only {have} is left for dataset {dataset}; see `sdc budget`"
        )

    def _refuse_other_name(self, state: _State, dataset: str, fingerprint: Fingerprint) -> None:
        """Refuse data recorded (exactly, or nearly all of it) under another dataset name."""
        for entry in state.spends:
            if entry.dataset == dataset:
                continue
            if entry.fingerprint and entry.fingerprint == fingerprint.digest:
                raise BudgetExceeded(
                    f"this data is dataset {entry.dataset} of the ledger {self.shown} (same "
                    f"records, fingerprint {short_sha(entry.fingerprint)}), not {dataset}; a "
                    f"renamed or re-exported copy spends from the same budget: set "
                    f"privacy.dataset: {entry.dataset}"
                )
        for entry in state.spends:
            if entry.dataset == dataset or entry.sketch is None:
                continue
            share = fingerprint.containment_in(entry.sketch)
            if share is not None and share >= NEAR_COPY:
                raise BudgetExceeded(
                    f"about {share:.0%} of this data's records are in dataset {entry.dataset} "
                    f"of the ledger {self.shown}, so it is a near copy of it, not {dataset}; "
                    f"set privacy.dataset: {entry.dataset} (a near copy spends from the same "
                    "budget)"
                )

    # ---- writing ---------------------------------------------------------------------

    def _append(self, objects: Sequence[dict[str, Any]]) -> None:
        """Append whole lines in one write, flushed and fsynced.

        A partial last line left by an interrupted write is cut off first (it never held a
        completed record; see :meth:`_state`), so the new lines never join it.
        """
        text = "".join(
            json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objects
        ).encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            with self.path.open("ab") as fh:
                prefix = self._repair_tail(fh)
                # One write of complete lines in append mode: POSIX appends are atomic with
                # respect to other appenders for writes of this size.
                fh.write(prefix + text)
                fh.flush()
                os.fsync(fh.fileno())
            if created:
                fsync_folder(self.path.parent)
        except IsADirectoryError as exc:
            raise self._folder_error() from exc
        except OSError as exc:
            raise DataError(
                f"cannot write the privacy-budget ledger {self.path}: {_reason(exc)}; the "
                f"release was not recorded; make the file and its folder writable (and check "
                f"the disk has space) or point {self._where()} to a writable file"
            ) from exc

    def _repair_tail(self, fh: Any) -> bytes:
        """Cut off a partial last line (or end a complete one); returns what to write first."""
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return b""
        with self.path.open("rb") as reader:
            reader.seek(max(size - 65536, 0))
            chunk = reader.read()
        if chunk.endswith(b"\n"):
            return b""
        cut = chunk.rfind(b"\n")
        tail = chunk[cut + 1 :] if cut >= 0 else chunk
        try:
            self._parse(tail.decode("utf-8"), 0)
        except (DataError, UnicodeDecodeError):
            if cut < 0 and size > len(chunk):
                return b"\n"  # a huge broken line: leave it for a person to look at
            fh.truncate(size - len(tail))
            return b""
        return b"\n"  # a valid record without its newline: keep it

    def record(
        self,
        dataset: str,
        outputs: Sequence[str],
        budget: Budget,
        mechanism: str,
        policy_name: str,
        *,
        input_sha256: str = "",
        fingerprint: Fingerprint | None = None,
        cap: Budget | None = None,
        time: datetime | None = None,
    ) -> LedgerEntry:
        """Write a release's spending ahead of it (one line, flushed and fsynced).

        Call it before any DP measurement runs, and :meth:`complete` once the bundle is in
        place; an entry never completed still counts as spent. The first release on a
        dataset also fixes its cap in the ledger (``cap``, in the same write).

        Args:
            dataset: the dataset charged (``privacy.dataset``).
            outputs: names of the DP outputs.
            budget: what the release spends.
            mechanism: the mechanism(s) used.
            policy_name: the policy's name.
            input_sha256: SHA-256 of the input file (informative).
            fingerprint: the data's content fingerprint and sketch.
            cap: the policy's cap, fixed in the ledger if it holds none for the dataset yet.
            time: timestamp (default now, UTC).

        Returns:
            The recorded entry (pass it to :meth:`complete`).

        Raises:
            DataError: if the ledger cannot be written (a folder, no permission, disk full);
                the release is then not recorded and must not go ahead.
        """
        when = _stamp(time)
        entry = LedgerEntry(
            time=when,
            dataset_sha256=input_sha256,
            dataset=dataset,
            outputs=tuple(outputs),
            budget=budget,
            mechanism=mechanism,
            policy_name=policy_name,
            id=uuid.uuid4().hex,
            fingerprint=fingerprint.digest if fingerprint is not None else "",
            sketch=fingerprint.sketch if fingerprint is not None else None,
            complete=False,
        )
        lines = [entry.as_dict()]
        if cap is not None and dataset not in self._state().caps:
            lines.insert(0, CapEntry(when, dataset, cap, "first release").as_dict())
        self._append(lines)
        return entry

    def complete(self, entry: LedgerEntry, bundle: str, *, time: datetime | None = None) -> None:
        """Mark a written-ahead release complete: its bundle is in place.

        Args:
            entry: what :meth:`record` returned.
            bundle: the bundle folder, as given.
            time: timestamp (default now, UTC).
        """
        self._append([{"kind": "complete", "id": entry.id, "time": _stamp(time), "bundle": bundle}])

    def raise_cap(
        self, dataset: str, epsilon: float, reason: str, *, time: datetime | None = None
    ) -> tuple[Budget, Budget]:
        """Raise a dataset's cap (``sdc budget raise``), recorded with the reason.

        Args:
            dataset: a dataset with a cap in the ledger.
            epsilon: the new epsilon cap; delta keeps its cap.
            reason: why, in the steward's words (kept in the ledger).
            time: timestamp (default now, UTC).

        Returns:
            The old and the new cap.

        Raises:
            DataError: the dataset has no cap in this ledger, the new cap is not higher, or the
                reason is empty.
        """
        with self.locked():
            state = self._state()
            fixed = state.caps.get(dataset)
            if fixed is None:
                known = sorted(state.caps)
                hint = f"; datasets with a cap: {', '.join(known)}" if known else ""
                raise DataError(
                    f"dataset {dataset} has no cap in the ledger {self.shown} (a cap is fixed at "
                    f"a dataset's first DP release){hint}"
                )
            if not reason.strip():
                raise DataError("--reason must say why the cap is raised; it is kept in the ledger")
            if not math.isfinite(epsilon) or epsilon <= fixed.cap.epsilon:
                raise DataError(
                    f"--to {format_number(epsilon)} does not raise dataset {dataset}'s cap of "
                    f"{fixed.cap.describe()}; give a higher epsilon"
                )
            new = Budget(epsilon, fixed.cap.delta)
            self._append([CapEntry(_stamp(time), dataset, new, reason.strip()).as_dict()])
        return fixed.cap, new

    # ---- the summary -------------------------------------------------------------------

    def summary(self) -> list[LedgerSummaryRow]:
        """One row per dataset, in order of first release, for ``sdc budget``."""
        state = self._state()
        rows: dict[str, LedgerSummaryRow] = {}
        for entry in state.spends:
            prev = rows.get(entry.dataset)
            fixed = state.caps.get(entry.dataset)
            if prev is None:
                rows[entry.dataset] = LedgerSummaryRow(
                    dataset=entry.dataset,
                    releases=1,
                    incomplete=0 if entry.complete else 1,
                    spent=entry.budget,
                    cap=None if fixed is None else fixed.cap,
                    last_release=entry.time,
                    policies=(entry.policy_name,),
                )
                continue
            policies = prev.policies
            if entry.policy_name not in policies:
                policies = (*policies, entry.policy_name)
            rows[entry.dataset] = replace(
                prev,
                releases=prev.releases + 1,
                incomplete=prev.incomplete + (0 if entry.complete else 1),
                spent=prev.spent + entry.budget,
                last_release=max(prev.last_release, entry.time),
                policies=policies,
            )
        return list(rows.values())


#: Share of a new dataset's records found in a recorded one from which it is a near copy.
NEAR_COPY = 0.9


def _stamp(time: datetime | None) -> str:
    return (time or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


def _torn_note(path: Path, lineno: int, size: int) -> str:
    return (
        f"{path} line {lineno}: a partial last line ({size} bytes) left by an interrupted "
        "write was ignored; it held no completed record and the next write removes it"
    )


def ledger_for(given: Path | None, policy_folder: Path | None) -> Ledger:
    """The ledger a policy uses: ``privacy.ledger``, else ``SDC_LEDGER``, else ``~/.sdc``.

    Args:
        given: the policy's ``privacy.ledger``, as written (relative to the policy file).
        policy_folder: the policy file's folder (None for a policy not read from a file).

    Returns:
        The ledger, named in manifests as the setting gives it (never made absolute).
    """
    if given is not None:
        path = given if given.is_absolute() or policy_folder is None else policy_folder / given
        return Ledger(path, shown=given.as_posix(), setting="privacy.ledger")
    env = os.environ.get(LEDGER_ENV)
    if env:
        return Ledger(Path(env).expanduser(), shown=env, setting=None)
    return Ledger(default_ledger_path(), shown="~/.sdc/ledger.jsonl")
