"""Writing a release bundle atomically, and reading one back.

A bundle is a folder of outputs plus ``manifest.json``. It is written into a temporary
folder beside the target and renamed into place only when every file is complete, so a
crash never leaves half a release. An existing folder is never overwritten unless the
caller asks (``force``), and then only after the new bundle is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sdc.errors import DataError
from sdc.io import file_sha256
from sdc.release.manifest import SCHEMA

MANIFEST = "manifest.json"


def check_target(out: Path, inputs: list[Path], *, force: bool = False) -> None:
    """Refuse a target that is, or holds, an input, or an existing folder.

    ``force`` only replaces an earlier release bundle (a folder with a readable
    ``manifest.json``): any other folder may hold the steward's own files.

    Args:
        out: the bundle folder to write.
        inputs: every file the release reads or keeps (data, policy, hierarchy files, key
            file, ledger); none may be the target or inside it.
        force: replace an existing bundle.
    """
    if out.is_symlink() and not out.exists():
        raise DataError(
            f"{out}: is a symbolic link to {os.readlink(out)}, which does not exist; give "
            "the release a new folder name (a release is never written through a link)"
        )
    resolved = out.resolve()
    for path in inputs:
        target = path.resolve()
        if target == resolved or target.is_relative_to(resolved):
            raise DataError(f"{out}: refusing to write a release over the input {path.name}")
    if not out.exists():
        return
    if not force:
        raise DataError(
            f"{out}: already exists and a release is never overwritten unless asked: add "
            "--force to replace an earlier release bundle, or choose a new folder"
        )
    if not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    try:
        read_manifest(out)
    except DataError:
        raise DataError(
            f"{out}: --force only replaces an earlier release bundle, and this folder has no "
            "sdc manifest; choose a new folder"
        ) from None


@contextmanager
def staged_folder(out: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success move it to ``out``, on error remove it."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    except OSError as exc:
        raise DataError(f"{out}: cannot create the release folder ({exc.strerror})") from exc
    tmp.chmod(0o755)  # mkdtemp makes it private; a bundle is meant to be shared
    try:
        yield tmp
        if out.exists() or out.is_symlink():
            if not force:
                raise DataError(f"{out}: appeared while the release was written; not replaced")
            _replace(out, tmp)
        else:
            try:
                os.rename(tmp, out)
            except OSError as exc:
                raise DataError(
                    f"{out}: cannot move the release into place ({exc.strerror})"
                ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(out: Path, tmp: Path) -> None:
    """Swap the earlier bundle ``out`` for the complete new one in ``tmp``.

    The earlier bundle is moved into a fresh folder of this run's own (never a fixed name
    such as ``.out.old``, which may be someone else's folder) and that folder is removed
    only once the new bundle is in place; if the swap fails the earlier bundle is put back.
    """
    aside = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
    old = aside / out.name
    try:
        os.rename(out, old)
    except OSError as exc:
        aside.rmdir()
        raise DataError(f"{out}: cannot move the earlier release aside ({exc.strerror})") from exc
    try:
        os.rename(tmp, out)
    except OSError as exc:
        os.rename(old, out)  # put the earlier bundle back
        aside.rmdir()
        raise DataError(f"{out}: cannot move the release into place ({exc.strerror})") from exc
    shutil.rmtree(aside, ignore_errors=True)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON with stable key order and a trailing newline."""
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def output_hashes(
    folder: Path, skip: Callable[[str], bool] = lambda name: name == MANIFEST
) -> dict[str, str]:
    """SHA-256 of every file in the bundle (relative POSIX paths), except the manifest."""
    hashes = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_file() and not skip(rel):
            hashes[rel] = file_sha256(path)
    return hashes


def read_manifest(folder: Path) -> dict[str, Any]:
    """Read ``manifest.json`` of a bundle, with a clear error if it is missing or broken."""
    if not folder.is_dir():
        raise DataError(f"{folder}: no such release folder")
    path = folder / MANIFEST
    if not path.exists():
        raise DataError(f"{folder}: not a release bundle (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise DataError(f"{path}: not an sdc manifest (schema {SCHEMA})")
    return manifest
