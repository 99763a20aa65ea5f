"""A content fingerprint of parsed data, the same for every re-export of the same records.

The privacy-budget ledger must recognise a dataset whatever file it arrives in: saved with
CRLF line ends or a byte-order mark, with its rows or columns in another order, with spaces
around values, or as Parquet instead of CSV. A hash of the file's bytes changes with each of
those; this fingerprint does not, because it is computed on the parsed records:

1. every value is normalised to text as the reader would parse it (numbers in one canonical
   form, so ``25``, ``25.0`` and ``" 25 "`` agree; surrounding whitespace and a BOM
   removed; every kind of missing value one marker);
2. each record is hashed to 64 bits (BLAKE2b) from its ``column=value`` pairs with the column
   names sorted, so column order does not matter;
3. the multiset of record hashes is sorted and hashed again (SHA-256), so row order does not
   matter while duplicate records still count.

A copy with one record dropped or added has another fingerprint, so a
:class:`RowSketch` is kept too: the 256 smallest record hashes (a uniform random sample of
the records, since the hashes are uniform), of which the ledger stores only 16 bits each.
From two sketches :meth:`RowSketch.containment` estimates which share of one dataset's
records are in the other, so a near copy (a few records dropped, added or edited) is
recognised too. A copy with columns dropped or recoded is not: each record's hash covers
every column, and such a copy must be given the same ``privacy.dataset`` name by policy.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: How many of the smallest record hashes a sketch keeps.
SKETCH_SIZE = 256
#: Bits of each sampled record hash stored in the ledger (a membership tag, not the record).
TAG_BITS = 16
#: Fewer comparable sampled records than this and no containment is estimated.
MIN_OVERLAP = 16

_MISSING = "\x00NA"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_LEADING_ZERO = re.compile(r"^[+-]?0\d")


def _number_text(value: float) -> str:
    """One text for a number however it was stored: ``25``, ``25.0`` -> ``25``."""
    if not math.isfinite(value):
        return repr(value)
    if value == int(value) and abs(value) < 2**63:
        return str(int(value))
    return repr(float(value))


def normalise_value(value: Any) -> str:
    """A value as text, the same whichever file format or spelling it came from.

    Args:
        value: one cell as a reader returns it (str, int, float, bool, date, missing).

    Returns:
        The canonical text: numbers without a trailing ``.0``, text stripped of surrounding
        whitespace and a BOM, dates in ISO 8601, every missing value one marker.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return _MISSING
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return _MISSING if math.isnan(value) else _number_text(float(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    text = str(value).replace("\ufeff", "").strip()
    if text == "":
        return _MISSING
    # Text that the CSV reader would have read as a number (no leading zero, like a code).
    if _NUMBER.match(text) and not _LEADING_ZERO.match(text):
        return _number_text(float(text))
    return text


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One 64-bit hash per record, independent of column order (uint64 array).

    Args:
        frame: the parsed data.

    Returns:
        The record hashes, in the frame's row order.
    """
    names = sorted((normalise_value(c), c) for c in frame.columns)
    columns = [_cells(name, frame[c]) for name, c in names]
    out = np.zeros(len(frame), dtype=np.uint64)
    for i, cells in enumerate(zip(*columns, strict=True)):
        digest = hashlib.blake2b(b"\x1f".join(cells), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "big")
    return out


def _cells(name: str, values: pd.Series) -> list[bytes]:
    """``name=value`` of every cell of a column, normalising each distinct value once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    prefix = name.encode("utf-8") + b"\x1e"
    texts = [prefix + normalise_value(v).encode("utf-8") for v in uniques]
    return [texts[i] for i in codes.tolist()]


@dataclass(frozen=True)
class RowSketch:
    """A small sample of a dataset's record hashes, to recognise near copies.

    Attributes:
        threshold: the largest sampled record hash (64 bits); every record hash at or below
            it is in the sample. ``2**64 - 1`` when the data has no more than
            :data:`SKETCH_SIZE` distinct records (then every record is sampled).
        tags: the low :data:`TAG_BITS` bits of each sampled hash, sorted.
    """

    threshold: int
    tags: tuple[int, ...]

    @classmethod
    def of(cls, hashes: np.ndarray) -> RowSketch:
        """The sketch of a dataset from its record hashes."""
        distinct = np.unique(hashes)
        if len(distinct) <= SKETCH_SIZE:
            threshold = 2**64 - 1
            sample = distinct
        else:
            sample = distinct[:SKETCH_SIZE]
            threshold = int(sample[-1])
        mask = (1 << TAG_BITS) - 1
        return cls(threshold, tuple(sorted(int(h) & mask for h in sample)))

    def as_dict(self) -> dict[str, Any]:
        """JSON form, as the ledger stores it."""
        return {"threshold": f"{self.threshold:016x}", "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, data: Any) -> RowSketch:
        """Read a sketch back from the ledger.

        Raises:
            ValueError: the stored form is not a sketch.
        """
        if not isinstance(data, dict) or not isinstance(data.get("tags"), list):
            raise ValueError("sketch must be an object with a list of tags")
        return cls(int(str(data["threshold"]), 16), tuple(int(t) for t in data["tags"]))


@dataclass(frozen=True)
class Fingerprint:
    """The content fingerprint of a dataset (see the module docstring).

    Attributes:
        digest: SHA-256 (hex) of the sorted record hashes and the sorted column names.
        sketch: a sample of the record hashes, for near copies.
        hashes: every record hash (kept in memory only, never written).
    """

    digest: str
    sketch: RowSketch
    hashes: np.ndarray

    def containment_in(self, other: RowSketch) -> float | None:
        """Estimated share of this dataset's distinct records that are also in ``other``.

        Uses this dataset's full record hashes against the other's sample: every record hash
        of the other dataset at or below its threshold is in its sample, so the records of
        this dataset whose hash falls below that threshold are a random sample on which
        membership can be tested.

        Returns:
            The share in [0, 1], or None when too few records fall below the threshold to
            tell.
        """
        mask = (1 << TAG_BITS) - 1
        distinct = np.unique(self.hashes)
        below = distinct[distinct <= np.uint64(other.threshold)]
        if len(below) < min(MIN_OVERLAP, len(distinct)) or len(below) == 0:
            return None
        tags = set(other.tags)
        hits = sum(1 for h in below.tolist() if (int(h) & mask) in tags)
        return hits / len(below)


def content_fingerprint(frame: pd.DataFrame) -> Fingerprint:
    """The order-insensitive content fingerprint of parsed data.

    Args:
        frame: the data as read by :func:`sdc.io.read_table`.

    Returns:
        Its :class:`Fingerprint`: equal for a re-export of the same records (other line ends,
        BOM, row or column order, whitespace, CSV or Parquet), different otherwise.
    """
    hashes = row_hashes(frame)
    digest = hashlib.sha256()
    for name in sorted(normalise_value(c) for c in frame.columns):
        digest.update(name.encode("utf-8") + b"\x1e")
    digest.update(b"\x1d")
    digest.update(np.sort(hashes).astype(">u8").tobytes())
    return Fingerprint(digest.hexdigest(), RowSketch.of(hashes), hashes)
