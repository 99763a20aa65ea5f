"""The ledger lock (atomic check-and-record across processes) and its error messages."""

from __future__ import annotations

import errno
import fcntl
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.budget import Budget
from sdc.errors import BudgetExceeded, DataError
from sdc.release.ledger import Ledger

SHA = "3f2a" + "0" * 60
ROOT = Path(__file__).resolve().parents[2]

# A second release on the same data: take the lock, check 0.6 of a 1.0 cap, record it.
# Exit code 3 means the budget check refused it.
CHILD = """
import sys
from sdc.errors import BudgetExceeded
from sdc.budget import Budget
from sdc.release.ledger import Ledger

ledger = Ledger(sys.argv[1])
print("ready", flush=True)
with ledger.locked():
    print("locked", flush=True)
    try:
        ledger.check(sys.argv[2], Budget(0.6), Budget(1.0))
    except BudgetExceeded:
        print("refused", flush=True)
        sys.exit(3)
    ledger.record(sys.argv[2], ["t"], Budget(0.6), "laplace", "p")
print("recorded", flush=True)
"""


@pytest.fixture(autouse=True)
def _no_ledger_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests pass ledger paths explicitly; messages then name the setting generically."""
    monkeypatch.delenv("SDC_LEDGER", raising=False)


def _child(path: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), SHA],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # unbuffered, so select() sees exactly what the child has written
        env=env,
    )


def _readline(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """One line of the child's output, or b"" if none came within ``timeout`` seconds."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline().strip() if ready else b""


def _probe(lock: Path) -> bool:
    """Whether another open file description can take the lock right now."""
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the probe's lock, if it got one
    return True


# --- the lock -----------------------------------------------------------------------


def test_locked_creates_lock_beside_ledger_and_excludes_others(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "new" / "folder" / "ledger.jsonl")
    assert ledger.lock_path == tmp_path / "new" / "folder" / "ledger.jsonl.lock"
    with ledger.locked() as held:
        assert held is ledger
        assert ledger.lock_path.is_file()
        assert not _probe(ledger.lock_path)
        # check and record work inside the lock
        assert ledger.check(SHA, Budget(0.4), Budget(1.0)) == Budget(0.6)
        ledger.record(SHA, ["t"], Budget(0.4), "laplace", "p")
    assert _probe(ledger.lock_path)
    # ... and outside it
    assert ledger.spent(SHA) == Budget(0.4)
    ledger.record(SHA, ["u"], Budget(0.1), "laplace", "p")
    assert ledger.check(SHA, Budget(0.5), Budget(1.0)) == Budget(0.0)
    # the lock is released when the block raises, too
    with pytest.raises(BudgetExceeded), ledger.locked():
        ledger.check(SHA, Budget(0.6), Budget(1.0))
    assert _probe(ledger.lock_path)
    # the ledger itself was not touched by locking
    assert len(ledger.entries()) == 2


def test_second_process_waits_for_the_lock_then_sees_the_first_record(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    with ledger.locked():
        proc = _child(ledger.path)
        try:
            assert _readline(proc, 60) == b"ready"
            # The child is now at (or about to reach) flock: it must not get the lock while
            # this process holds it.
            assert _readline(proc, 0.8) == b""
            assert proc.poll() is None
            # This release checks and records 0.6 of the 1.0 cap while the child waits.
            ledger.check(SHA, Budget(0.6), Budget(1.0))
            ledger.record(SHA, ["mine"], Budget(0.6), "laplace", "p")
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    out, err = proc.communicate(timeout=60)
    # Once released, the child locks, sees 0.6 spent and is refused: no overspend.
    assert out.split() == [b"locked", b"refused"], err.decode()
    assert proc.returncode == 3
    assert ledger.spent(SHA) == Budget(0.6)
    assert [e.outputs for e in ledger.entries()] == [("mine",)]


def test_two_concurrent_releases_cannot_both_pass_the_check(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    # Hold the lock until both children are started, so they contend for it.
    with ledger.locked():
        procs = [_child(ledger.path) for _ in range(2)]
        try:
            assert [_readline(p, 60) for p in procs] == [b"ready", b"ready"]
        except BaseException:
            for p in procs:
                p.kill()
                p.wait()
            raise
    results = [p.communicate(timeout=60) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 3], [err.decode() for _, err in results]
    assert ledger.spent(SHA) == Budget(0.6)
    assert len(ledger.entries()) == 1


def test_lock_errors_are_data_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the lock file's place is taken by a folder
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.lock_path.mkdir()
    with pytest.raises(DataError) as info, ledger.locked():
        pass  # pragma: no cover
    assert str(info.value).startswith(
        f"cannot create the privacy-budget ledger lock {ledger.lock_path}: "
    )
    assert "writable folder" in str(info.value)

    # the file system refuses the lock
    other = Ledger(tmp_path / "b" / "ledger.jsonl")

    def no_locks(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(DataError) as info, other.locked():
        pass  # pragma: no cover
    assert str(info.value) == (
        f"cannot lock the privacy-budget ledger lock {other.lock_path}: No locks available; "
        "point the ledger path (SDC_LEDGER) to a file on a local disk that supports locking"
    )


# --- errors reading and writing -----------------------------------------------------


def test_ledger_that_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path))
    ledger = Ledger()
    message = (
        f"the privacy-budget ledger {tmp_path} is a folder; point SDC_LEDGER to a file such "
        f"as {tmp_path / 'ledger.jsonl'}"
    )
    for call in (
        ledger.entries,
        lambda: ledger.spent(SHA),
        ledger.summary,
        lambda: ledger.check(SHA, Budget(0.1), Budget(1.0)),
        lambda: ledger.record(SHA, ["t"], Budget(0.1), "laplace", "p"),
    ):
        with pytest.raises(DataError) as info:
            call()
        assert str(info.value) == message
    with pytest.raises(DataError) as info, ledger.locked():
        pass  # pragma: no cover
    assert str(info.value) == message
    # without SDC_LEDGER the message names the setting generically
    monkeypatch.delenv("SDC_LEDGER")
    with pytest.raises(DataError, match=r"point the ledger path \(SDC_LEDGER\) to a file"):
        Ledger(tmp_path).entries()


def test_non_utf8_ledger_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    ledger.record(SHA, ["t"], Budget(0.5), "laplace", "p")
    with path.open("ab") as fh:
        fh.write(b"\n\xff\xfe garbage\n")
    with pytest.raises(DataError) as info:
        ledger.spent(SHA)
    assert str(info.value) == (
        f"{path} line 3: not UTF-8 text, so not a ledger record (invalid start byte at byte 0); "
        "fix or remove that line, or point the ledger path (SDC_LEDGER) to the right file"
    )


@pytest.mark.parametrize(
    ("line", "detail"),
    [
        (
            '{"time": "t", "dataset_sha256": "x", "outputs": ["a"], "epsilon": -0.5, '
            '"mechanism": "m", "policy": "p"}',
            "privacy budget epsilon must be >= 0, got -0.5",
        ),
        (
            '{"time": "t", "dataset_sha256": "x", "outputs": ["a"], "epsilon": 0.5, '
            '"delta": 1.5, "mechanism": "m", "policy": "p"}',
            "privacy budget delta must be < 1, got 1.5",
        ),
        (
            '{"time": "t", "dataset_sha256": "x", "outputs": ["a"], "epsilon": "NaN", '
            '"mechanism": "m", "policy": "p"}',
            "privacy budget epsilon must be >= 0, got nan",
        ),
        (
            '{"time": "t", "dataset_sha256": "x", "outputs": ["a"], "epsilon": 1' + "0" * 400 + ", "
            '"mechanism": "m", "policy": "p"}',
            "int too large to convert to float",
        ),
        (
            '{"time": "t", "dataset_sha256": "x", "outputs": "a", "epsilon": 0.5, '
            '"mechanism": "m", "policy": "p"}',
            "outputs must be a list, got str",
        ),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"time": "t"}', "missing field 'outputs'"),
    ],
)
def test_invalid_records_name_file_and_line(tmp_path: Path, line: str, detail: str) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    ledger.record(SHA, ["t"], Budget(0.5), "laplace", "p")
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    with pytest.raises(DataError) as info:
        ledger.summary()
    assert str(info.value) == (
        f"{path} line 2: not a valid ledger record ({detail}); "
        "fix or remove that line (the other lines still count)"
    )


def test_unreadable_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a real OS error, even for root: a path component is a file
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "afile" / "ledger.jsonl"
    with pytest.raises(DataError) as info:
        Ledger(path).entries()
    assert str(info.value) == (
        f"cannot read the privacy-budget ledger {path}: Not a directory; give yourself read "
        "and write access to it or point the ledger path (SDC_LEDGER) to another file"
    )

    # no read permission (simulated: the tests may run as root, who may read anything)
    good = tmp_path / "ledger.jsonl"
    Ledger(good).record(SHA, ["t"], Budget(0.5), "laplace", "p")
    real_open = Path.open

    def denied(self: Path, *args: object, **kwargs: object) -> object:
        if self == good:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "open", denied)
    monkeypatch.setenv("SDC_LEDGER", str(good))
    with pytest.raises(DataError) as info:
        Ledger().spent(SHA)
    assert str(info.value) == (
        f"cannot read the privacy-budget ledger {good}: Permission denied; give yourself read "
        "and write access to it or point SDC_LEDGER to another file"
    )
    with pytest.raises(DataError) as info:
        Ledger().record(SHA, ["t"], Budget(0.5), "laplace", "p")
    assert str(info.value) == (
        f"cannot write the privacy-budget ledger {good}: Permission denied; the release was "
        "not recorded; make the file and its folder writable (and check the disk has space) "
        "or point SDC_LEDGER to a writable file"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root may read and write any file")
def test_unreadable_ledger_by_permissions(tmp_path: Path) -> None:  # pragma: no cover
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    ledger.record(SHA, ["t"], Budget(0.5), "laplace", "p")
    path.chmod(0)
    try:
        with pytest.raises(DataError, match=r"cannot read the privacy-budget ledger .*denied"):
            ledger.entries()
        with pytest.raises(DataError, match=r"cannot write the privacy-budget ledger .*denied"):
            ledger.record(SHA, ["t"], Budget(0.5), "laplace", "p")
    finally:
        path.chmod(0o600)


def test_write_failures(tmp_path: Path) -> None:
    # the ledger's folder cannot be created: a file is in the way
    (tmp_path / "afile").write_text("x")
    path = tmp_path / "afile" / "sub" / "ledger.jsonl"
    with pytest.raises(DataError) as info:
        Ledger(path).record(SHA, ["t"], Budget(0.5), "laplace", "p")
    message = str(info.value)
    assert message.startswith(f"cannot write the privacy-budget ledger {path}: ")
    assert "the release was not recorded" in message
    # the disk is full
    full = Path("/dev/full")
    if full.exists():
        with pytest.raises(DataError) as info:
            Ledger(full).record(SHA, ["t"], Budget(0.5), "laplace", "p")
        assert str(info.value).startswith(
            "cannot write the privacy-budget ledger /dev/full: No space left on device; "
        )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode()))
def test_any_file_content_reads_or_raises_data_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(content)
    try:
        entries = Ledger(path).entries()
    except DataError as exc:
        assert str(exc).startswith(f"{path} line ")
    else:
        assert all(isinstance(e.budget, Budget) for e in entries)


def test_locked_when_the_ledger_cannot_be_looked_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # is_dir() itself failing (e.g. EACCES on a parent) is not mistaken for a folder: the lock
    # is still taken, and reading reports the real problem.
    ledger = Ledger(tmp_path / "ledger.jsonl")

    real_is_dir = Path.is_dir

    def denied(self: Path) -> bool:
        if self == ledger.path:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_is_dir(self)

    monkeypatch.setattr(Path, "is_dir", denied)
    with ledger.locked():
        assert not _probe(ledger.lock_path)
    assert _probe(ledger.lock_path)
