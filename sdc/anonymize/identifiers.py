"""Direct identifiers: drop them, or replace them with keyed pseudonyms.

A pseudonym is ``HMAC-SHA256(key, value)`` in hexadecimal, truncated (16 hex digits = 64
bits by default). The same key and value always give the same pseudonym, so records stay
linkable across releases made with the same key; without the key a pseudonym cannot be
recomputed from a guessed value (unlike a plain hash of a name or a phone number).

The key comes from the environment variable ``SDC_PSEUDONYM_KEY`` or from a key file the
caller names. It never enters the returned data, the treatment record, an error message or
a log line; the record only says where the key came from (``"environment"`` or ``"file"``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError, PolicyError
from sdc.io import write_text_new

__all__ = [
    "KEY_ENV",
    "MIN_KEY_LENGTH",
    "drop_columns",
    "load_pseudonym_key",
    "new_key_file",
    "pseudonym",
    "pseudonymize",
]

KEY_ENV = "SDC_PSEUDONYM_KEY"
MIN_KEY_LENGTH = 16

_HOW_TO_SET = (
    f"set the environment variable {KEY_ENV} to a secret of at least {MIN_KEY_LENGTH} "
    'characters (e.g. the output of `python -c "import secrets; print(secrets.token_hex(32))"`)'
    " or give a key file; keep the key out of the release"
)


def load_pseudonym_key(
    key_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[bytes, str]:
    """Find the pseudonymisation key.

    A key file, when given, wins over the environment. Surrounding whitespace (such as the
    final newline of a key file) is stripped.

    Args:
        key_file: path of a file holding the key, or None to use the environment.
        environ: the environment to read (default ``os.environ``).

    Returns:
        The key bytes and where they came from: ``"file"`` or ``"environment"``.

    Raises:
        PolicyError: no key, an unreadable key file, or a key shorter than 16 characters.
            The message never contains the key.
    """
    if key_file is not None:
        path = Path(key_file)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise PolicyError(
                f"the pseudonymisation key file {path} cannot be read ({exc.strerror}); "
                + _HOW_TO_SET
            ) from exc
        source = "file"
        where = f"the key file {path}"
    else:
        env = os.environ if environ is None else environ
        key = env.get(KEY_ENV, "").strip().encode("utf-8")
        source = "environment"
        where = f"{KEY_ENV}"
        if not key:
            raise PolicyError(
                f"pseudonymize needs a secret key but {KEY_ENV} is not set; " + _HOW_TO_SET
            )
    if len(key) < MIN_KEY_LENGTH:
        raise PolicyError(
            f"the pseudonymisation key in {where} is too short ({len(key)} characters); "
            + _HOW_TO_SET
        )
    return key, source


def new_key_file(path: str | Path) -> Path:
    """Create a file holding a fresh random pseudonymisation key, readable by its owner only.

    The file is created with mode 0600 in the same call that creates it (``os.open`` with
    ``O_EXCL``), never written first and restricted afterwards: in between, anyone on the
    machine could read the key and recompute every pseudonym. An existing file is never
    overwritten.

    Args:
        path: the key file to create; its folder is created if needed.

    Returns:
        The path of the new key file.

    Raises:
        DataError: the file already exists or cannot be created.
    """
    path = Path(path)
    write_text_new(path, secrets.token_hex(32) + "\n", mode=0o600)
    return path


def pseudonym(value: object, key: bytes, length: int = 16) -> str:
    """The pseudonym of one value: HMAC-SHA256 of its text, as ``length`` hex digits.

    The text of a value is its ``str()``, except that integral floats lose their ``.0``
    (so ``123`` read as an integer and ``123.0`` read as a float give the same pseudonym).

    Args:
        value: a non-missing data value.
        key: the secret key.
        length: hex digits kept (8 to 64).
    """
    if isinstance(value, float | np.floating) and float(value).is_integer():
        text = str(int(value))
    else:
        text = str(value)
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:length]


def pseudonymize(
    df: pd.DataFrame,
    columns: Sequence[str],
    *,
    key: bytes | None = None,
    key_file: str | Path | None = None,
    length: int = 16,
    environ: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Replace each value of ``columns`` by its keyed pseudonym; missing values stay missing.

    Args:
        df: the microdata; not modified.
        columns: the direct identifiers to pseudonymise.
        key: the key itself (for library callers); else it is loaded by
            :func:`load_pseudonym_key` from ``key_file`` or the environment.
        key_file: file holding the key.
        length: hex digits per pseudonym, 8 to 64 (16 = 64 bits: collisions are
            negligible below about 100 million distinct values).
        environ: environment to read the key from (default ``os.environ``).

    Returns:
        The treated copy (pseudonym columns have the pandas string dtype) and the record.

    Raises:
        PolicyError: no usable key, or a bad ``length``.
        DataError: a column is not in the data.
    """
    if isinstance(length, bool) or not isinstance(length, int) or not 8 <= length <= 64:
        raise PolicyError(f"pseudonym length must be a whole number from 8 to 64, got {length!r}")
    _check_columns(df, columns)
    if key is not None:
        if len(key) < MIN_KEY_LENGTH:
            raise PolicyError(
                f"the pseudonymisation key is too short ({len(key)} bytes); " + _HOW_TO_SET
            )
        source = "argument"
    else:
        key, source = load_pseudonym_key(key_file, environ)
    out = df.copy()
    changed: dict[str, int] = {}
    for col in columns:
        codes, uniques = pd.factorize(out[col], use_na_sentinel=True)
        names = np.array([pseudonym(v, key, length) for v in uniques] + [None], dtype=object)
        out[col] = pd.Series(
            names[np.where(codes < 0, len(uniques), codes)], index=out.index, dtype="str"
        )
        changed[col] = int((codes >= 0).sum())
    record = Treatment(
        name="pseudonymize",
        columns=tuple(columns),
        parameters={"algorithm": "HMAC-SHA256", "length": length, "key_source": source},
        changed=changed,
    )
    return out, record


def drop_columns(
    df: pd.DataFrame, columns: Sequence[str], *, reason: str = "direct"
) -> tuple[pd.DataFrame, Treatment]:
    """Remove columns (direct identifiers, or columns the policy marks ``role: drop``).

    Args:
        df: the microdata; not modified.
        columns: the columns to remove.
        reason: the policy role that asked for it (``"direct"`` or ``"drop"``), recorded.

    Returns:
        The data without the columns, and a record whose ``changed`` counts the values
        removed per column.

    Raises:
        DataError: a column is not in the data.
    """
    _check_columns(df, columns)
    record = Treatment(
        name="drop",
        columns=tuple(columns),
        parameters={"role": reason},
        changed={c: len(df) for c in columns},
    )
    return df.drop(columns=list(columns)), record


def _check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise DataError(
            f"column(s) {', '.join(map(repr, absent))} are not in the data; "
            f"it has {', '.join(map(str, df.columns))}"
        )
