"""SUDA2: minimal sample uniques, SUDA scores and DIS-SUDA scores, as sdcMicro's ``suda2``.

An *itemset* of record ``i`` is a set ``S`` of key variables together with ``i``'s values on
them. It is a *sample unique* when no other record has those values, and a *minimal sample
unique* (MSU) when, in addition, none of its proper subsets is a sample unique (Elliot,
Manning & Ford 2002; Manning, Haglin & Keane 2008). Records with many small MSUs are the
"special uniques" most likely to be population uniques.

Scores (matching sdcMicro 5.x, ``R/suda2.R`` and ``src/Suda2.h``, ``original_scores=TRUE``):

* an MSU of size ``k`` among ``m`` key variables weighs ``(m - k)!``, the product
  ``prod_{i=k}^{m-1} (m - i)`` of Elliot et al. (``g_ab`` in ``Suda2.h``); a record's SUDA score
  is the sum of the weights of its MSUs. sdcMicro searches MSUs of every size up to ``m``;
  ``max_msu`` stops earlier, keeping the same weights, so a record without larger MSUs scores
  exactly as in sdcMicro. (Elliot's formula with a smaller maximum ``M`` only divides every
  weight by the constant ``(m - M - 1)!``, which the DIS-SUDA score does not see.)
* ``original_scores=False`` gives sdcMicro's older IHSN weights
  ``(2^(m-k) - 1) * k! (m-k)! / m!``.
* DIS-SUDA (Elliot & Manning 2003, as ``Suda2.h`` computes it): with ``U`` the number of records
  whose whole key is unique, ``P`` the number of records in keys that occur exactly twice,
  ``f`` the sampling fraction (``DisFraction``) and ``Q = 1 + (8 - m) / 20``::

      dis = U f / (U f + P (1 - f))
      dis_suda_i = 1 / (1 + (U / dis - U) / (score_i^Q * sum_j score_j^-Q))

  for records with a positive score, 0 otherwise (sum over records with a positive score,
  in record order). ``U / dis - U`` is ``P (1 - f) / f``: ``U`` cancels except for rounding.
  sdcMicro evaluates ``dis``, ``U / dis - U`` and ``Q`` in single precision; so do we. (Some
  sdcMicro versions count in ``U`` only unique keys alone in their 16-bit hash bucket; since
  ``U`` cancels, that moves DIS-SUDA by about 1e-7 relative at most.)
* The attribute contribution of variable ``v`` is ``100 * sum_i c_iv / sum_i score_i`` where
  ``c_iv`` adds the weights of record ``i``'s MSUs that contain ``v`` (sdcMicro's
  ``attribute_contributions``; they do not sum to 100 because an MSU of size ``k`` counts for
  ``k`` variables). sdcMicro counts MSUs built from *perfectly correlated items* (two values of
  different variables held by exactly the same records) through one representative item, the
  one of the lowest variable index, and credits the variables as it does there; see
  :func:`_credit_contributions`. Scores and MSU counts do not depend on this.
* Fewer than three key variables: sdcMicro pads the data with constant dummy columns to three,
  so the weights and ``Q`` use ``m = 3``; we do the same.

Missing values (``-1`` codes, sdcMicro's ``missing`` argument, default ``-999``, and ``NA``) are
not items: an itemset only uses the record's observed variables, and a record with a missing
value never matches a record on that variable (so it can make *other* records unique). For
the DIS counts ``U`` and ``P`` whole keys are compared as they are, missing equal to missing.
This is not the wildcard rule of :func:`sdc.risk.frequencies.key_frequencies`.

The search is level-wise over variable subsets, vectorised over records (see
:func:`_msu_search`): a record can only have an MSU on ``S`` if it is non-unique on every
``S`` minus one variable, and every record that matches such a candidate on ``S`` is itself
such a candidate, so each subset only looks at the surviving candidates. This is the
pruning property SUDA2 is built on; the cost is a few numpy passes over the surviving
candidates per subset.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from sdc.errors import DataError
from sdc.risk.frequencies import combine_codes

_INT64_LIMIT = 2**62
#: Bits of a group's record count in the packed tally of :meth:`_Search.step` (the single-
#: record keys go above them); float64 sums stay exact below 2**53.
_COUNT_BITS = 26
_ALONE = float((1 << _COUNT_BITS) + 1)


@dataclass(frozen=True)
class SudaResult:
    """SUDA2 results, per record in input order.

    Attributes:
        score: SUDA score of each record (0 for records without an MSU).
        dis_score: DIS-SUDA score of each record, a probability in [0, 1].
        msu_counts: (n, max_msu) int64 matrix; column ``k - 1`` counts the record's MSUs of
            size ``k``.
        contributions: attribute contribution (%) of each key column, by column index, as
            sdcMicro's ``attribute_contributions$contribution`` (0.0 for every column when no
            record has an MSU, where sdcMicro divides 0 by 0).
        max_msu: the largest MSU size searched (the requested one, clamped to the number of
            key columns).
    """

    score: np.ndarray
    dis_score: np.ndarray
    msu_counts: np.ndarray
    contributions: dict[int, float]
    max_msu: int


def suda2(
    codes: np.ndarray,
    max_msu: int | None = None,
    dis_fraction: float = 0.01,
    *,
    original_scores: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> SudaResult:
    """Find minimal sample uniques and compute SUDA and DIS-SUDA scores as sdcMicro's ``suda2``.

    Args:
        codes: (n, m) integer matrix of key codes from
            :func:`sdc.risk.frequencies.encode_keys`, ``-1`` for a missing value.
        max_msu: largest MSU size to search. ``None`` (the default) searches every size up to
            ``m`` as sdcMicro does; a larger value is clamped to ``m``. A smaller value is
            faster and drops the (lightly weighted) larger MSUs from the scores.
        dis_fraction: sampling fraction of the file, sdcMicro's ``DisFraction``, in (0, 1].
        original_scores: ``True`` for Elliot's weights ``(m - k)!`` (sdcMicro's default),
            ``False`` for the older IHSN weights.
        progress: called as ``("SUDA2", done, total)`` with the variable subsets searched
            (or pruned) so far out of every subset up to ``max_msu``.

    Returns:
        A :class:`SudaResult`.

    Raises:
        DataError: if ``codes`` is not a non-empty 2-D integer matrix with codes >= -1, or
            ``max_msu`` / ``dis_fraction`` are out of range.
    """
    codes = _check_codes(codes)
    n, m = codes.shape
    if max_msu is None:
        top = m
    else:
        if isinstance(max_msu, bool) or not isinstance(max_msu, int | np.integer):
            raise DataError(f"max_msu must be a whole number >= 1, got {max_msu!r}")
        if max_msu < 1:
            raise DataError(f"max_msu must be at least 1, got {max_msu}")
        top = min(int(max_msu), m)
    if not isinstance(dis_fraction, int | float | np.floating) or not (0.0 < dis_fraction <= 1.0):
        raise DataError(
            f"dis_fraction is the sampling fraction and must be in (0, 1], got {dis_fraction!r}"
        )

    m_eff = max(m, 3)  # sdcMicro pads one or two key variables with constant dummies
    weights = _weights(m_eff, original_scores)

    # Distinct keys (missing kept as its own value) and how many records hold each.
    row_id = combine_codes(codes + 1)
    n_rows = int(row_id.max()) + 1
    first = np.full(n_rows, n, dtype=np.int64)
    np.minimum.at(first, row_id, np.arange(n, dtype=np.int64))
    rows = codes[first]
    mult = np.bincount(row_id, minlength=n_rows).astype(np.int64)

    prim, csize = _correlated_items(rows, mult)
    counts, contrib = _msu_search(rows, mult, top, weights, prim, csize, progress)

    row_score = np.zeros(n_rows, dtype=np.float64)
    for k in range(top):  # sdcMicro's summation order
        row_score += counts[:, k] * weights[k]
    score = row_score[row_id]
    msu_counts = counts[row_id]

    total = float(row_score @ mult)
    if total > 0:
        contributions = {v: float(100.0 * contrib[v] / total) for v in range(m)}
    else:
        contributions = {v: 0.0 for v in range(m)}

    n_unique = int(np.count_nonzero(mult == 1))
    n_pair_records = 2 * int(np.count_nonzero(mult == 2))
    dis_score = _dis_suda(score, n_unique, n_pair_records, dis_fraction, m_eff)
    return SudaResult(
        score=score,
        dis_score=dis_score,
        msu_counts=msu_counts,
        contributions=contributions,
        max_msu=top,
    )


def _check_codes(codes: np.ndarray) -> np.ndarray:
    """Validate the code matrix and return it as a C-contiguous int64 array."""
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise DataError(f"SUDA2 needs a 2-D matrix of key codes (records x keys), got {arr.ndim}-D")
    n, m = arr.shape
    if m == 0:
        raise DataError("SUDA2 needs at least one key variable; name the quasi-identifiers")
    if n == 0:
        raise DataError("SUDA2 needs at least one record; the data are empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise DataError(
            f"SUDA2 key codes must be integers (use encode_keys), got dtype {arr.dtype}"
        )
    arr = np.array(arr, dtype=np.int64, order="C")  # a copy: densified below
    if int(arr.min()) < -1:
        raise DataError("SUDA2 key codes must be >= 0, or -1 for a missing value (use encode_keys)")
    for j in range(m):  # sparse codes (not from encode_keys) are made dense per column
        col = arr[:, j]
        if int(col.max()) >= n:
            obs = col >= 0
            col[obs] = pd.factorize(col[obs])[0]
    return arr


def _weights(m_eff: int, original_scores: bool) -> np.ndarray:
    """Weight of an MSU of size k = 1..m_eff (``g_ab`` in sdcMicro's Suda2.h)."""
    out = np.empty(m_eff, dtype=np.float64)
    for k in range(1, m_eff + 1):
        if original_scores:
            out[k - 1] = float(math.factorial(m_eff - k))
        else:
            frac = Fraction(
                (2 ** (m_eff - k) - 1) * math.factorial(k) * math.factorial(m_eff - k),
                math.factorial(m_eff),
            )
            out[k - 1] = float(frac)
    return out


def _dis_suda(
    score: np.ndarray, n_unique: int, n_pair_records: int, dis_fraction: float, m_eff: int
) -> np.ndarray:
    """DIS-SUDA scores, with sdcMicro's single-precision steps."""
    out = np.zeros(score.shape, dtype=np.float64)
    positive = score > 0
    if not positive.any():
        return out
    f32 = np.float32
    frac = f32(dis_fraction)
    u = f32(n_unique)  # > 0 here: a record with an MSU has a unique whole key
    uf = u * frac
    dis = uf / (uf + f32(n_pair_records) * (f32(1.0) - frac))
    spread = float(u / dis - u)
    q = float(f32(1.0) + (f32(8.0) - f32(m_eff)) / f32(20.0))
    powered = np.power(score[positive], q)
    adj = float(np.cumsum(1.0 / powered)[-1])  # sequential, in record order, as sdcMicro
    out[positive] = 1.0 / (1.0 + spread / (powered * adj))
    return out


def _correlated_items(rows: np.ndarray, mult: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Perfectly correlated items per distinct key, for sdcMicro's contribution accounting.

    Two items (values of two variables) are perfectly correlated when exactly the same records
    hold them. sdcMicro keeps only the item of the lowest variable index of such a class and
    counts the others through it. Only items held by at least two records form classes
    (an item held by one record is a 1-MSU).

    Returns:
        ``prim[r, v]``: the variable of the representative of the class of key ``r``'s item on
        ``v`` (``v`` itself when the item has no correlated partner), and ``csize[r, v]``: the
        size of that class (1 when alone).
    """
    n_rows, m = rows.shape
    prim = np.tile(np.arange(m, dtype=np.int64), (n_rows, 1))
    csize = np.ones((n_rows, m), dtype=np.int64)
    if m < 2:
        return prim, csize
    observed = rows >= 0
    freq = np.zeros((n_rows, m), dtype=np.int64)
    for v in range(m):
        obs = observed[:, v]
        per_value = np.bincount(rows[obs, v], weights=mult[obs]).astype(np.int64)
        freq[obs, v] = per_value[rows[obs, v]]
    cards = rows.max(axis=0) + 1
    for u in range(m):
        for v in range(u + 1, m):
            cand = observed[:, u] & observed[:, v] & (freq[:, u] >= 2)
            cand &= freq[:, u] == freq[:, v]
            idx = np.flatnonzero(cand)
            if idx.size == 0:
                continue
            # The items are the same set of records iff the pair count equals both item counts.
            both = observed[:, u] & observed[:, v]
            key_all = rows[both, u] * int(cards[v]) + rows[both, v]
            inv, _ = pd.factorize(key_all)
            joint = np.bincount(inv, weights=mult[both]).astype(np.int64)
            joint_row = np.zeros(n_rows, dtype=np.int64)
            joint_row[both] = joint[inv]
            same = idx[joint_row[idx] == freq[idx, u]]
            if same.size == 0:
                continue
            csize[same, u] += 1
            csize[same, v] += 1
            prim[same, v] = np.minimum(prim[same, v], u)
    return prim, csize


def _msu_search(
    rows: np.ndarray,
    mult: np.ndarray,
    top: int,
    weights: np.ndarray,
    prim: np.ndarray,
    csize: np.ndarray,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Count the MSUs of each size per distinct key and accumulate variable contributions.

    Level-wise over variable subsets. ``alive[T]`` marks the *surviving* keys of subset ``T``
    (a packed bitset over the distinct keys): keys that are non-unique on every proper subset
    of ``T`` (the candidates of ``T``), are non-unique on ``T`` itself, and share their ``T``
    values with at least one single-record key. The candidates of ``S`` are the keys surviving
    every ``S`` minus one variable (subsets are generated as in Apriori, from two survivors
    with a common prefix). A candidate held by one record that is alone with its values on
    ``S`` has an MSU there, and any key that matches a candidate on ``S`` is a candidate too,
    so counting among the candidates gives the true sample counts.
    """
    search = _Search(rows, mult, top, weights, prim, csize)
    n_rows, m = rows.shape
    total = sum(math.comb(m, size) for size in range(1, top + 1))
    tick = (lambda done: progress("SUDA2", done, total)) if progress else (lambda done: None)
    done = m
    alive: dict[tuple[int, ...], np.ndarray] = {}
    for v in range(m):
        cand = np.flatnonzero(rows[:, v] >= 0)
        if cand.size:
            survivors = search.step(cand, (v,))
            if survivors is not None:
                alive[(v,)] = survivors
    tick(done)

    for size in range(2, top + 1):
        level_start = done
        by_prefix: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for subset in alive:
            by_prefix[subset[:-1]].append(subset[-1])
        nxt: dict[tuple[int, ...], np.ndarray] = {}
        for prefix, lasts in by_prefix.items():
            lasts.sort()
            for i, a in enumerate(lasts[:-1]):
                for b in lasts[i + 1 :]:
                    subset = (*prefix, a, b)
                    among = _candidates(alive, subset, n_rows)
                    if among is not None:
                        survivors = search.step(among, subset)
                        if survivors is not None:
                            nxt[subset] = survivors
                    done = min(done + 1, level_start + math.comb(m, size))
                    tick(done)
        done = level_start + math.comb(m, size)
        tick(done)
        alive = nxt
        if not alive:
            break
    tick(total)
    return search.counts, search.contrib


def _candidates(
    alive: dict[tuple[int, ...], np.ndarray], subset: tuple[int, ...], n_rows: int
) -> np.ndarray | None:
    """The keys surviving every ``subset`` minus one variable (None when there are none)."""
    acc = alive[subset[:-1]] & alive[subset[:-2] + subset[-1:]]
    for drop in range(len(subset) - 2):
        part = alive.get(subset[:drop] + subset[drop + 1 :])
        if part is None:
            return None
        acc &= part
    if not acc.any():
        return None
    return np.flatnonzero(np.unpackbits(acc, count=n_rows))


class _Search:
    """State of one MSU search: key columns, key multiplicities and the running tallies."""

    def __init__(
        self,
        rows: np.ndarray,
        mult: np.ndarray,
        top: int,
        weights: np.ndarray,
        prim: np.ndarray,
        csize: np.ndarray,
    ) -> None:
        n_rows, m = rows.shape
        self.n_rows = n_rows
        self.columns = np.ascontiguousarray(rows.T)  # one contiguous array per variable
        self.cards = [int(c) for c in rows.max(axis=0) + 1]
        # Records per key plus 2**_COUNT_BITS for a single-record key: summed over a group,
        # the low bits count its records and the high bits its single-record keys.
        self.mult = mult.astype(np.float64)
        self.single = (mult == 1).astype(np.float64)
        self.packed = int(mult.sum()) < (1 << _COUNT_BITS)
        self.tally = self.mult + self.single * float(1 << _COUNT_BITS)
        self.weights = weights
        self.prim = prim
        self.csize = csize
        self.counts = np.zeros((n_rows, top), dtype=np.int64)
        self.contrib = np.zeros(m, dtype=np.float64)  # summed over records, per variable
        self.correlated = np.asarray((csize > 1).any(axis=1))  # keys with a correlated item

    def step(
        self,
        cand: np.ndarray,
        subset: tuple[int, ...],
    ) -> np.ndarray | None:
        """Record the MSUs on ``subset`` among ``cand``; return the survivors' bitset."""
        key = self.columns[subset[0]][cand]
        span = self.cards[subset[0]]
        for var in subset[1:]:
            card = self.cards[var]
            if span * card >= _INT64_LIMIT:  # huge key space: re-factorise as we go
                key, uniques = pd.factorize(key)
                span = len(uniques)
            key *= card
            key += self.columns[var][cand]
            span *= card
        if span > max(4 * cand.size, 1 << 16):
            key, uniques = pd.factorize(key)
            span = len(uniques)
        unique, keep = self._groups(key, cand, span)
        if unique.any():
            self._record(cand[unique], subset)
        if not keep.any():
            return None
        mask = np.zeros(self.n_rows, dtype=bool)
        mask[cand] = keep
        return np.packbits(mask)

    def _groups(
        self, key: np.ndarray, cand: np.ndarray, span: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Which candidates are alone in their group, and which groups survive.

        A group survives when it has two or more records and at least one single-record
        key. With the packed tally one weighted count answers both: a group's sum is
        ``records + 2**_COUNT_BITS * single-record keys``, so it is exactly
        ``2**_COUNT_BITS + 1`` for a single-record key alone, and above that for a
        surviving group (fewer records than ``2**_COUNT_BITS`` without a single key).
        """
        if self.packed:
            tally = np.bincount(key, weights=self.tally[cand], minlength=span)[key]
            return tally == _ALONE, tally > _ALONE
        count = np.bincount(key, weights=self.mult[cand], minlength=span)[key]
        has_single = np.bincount(key, weights=self.single[cand], minlength=span) > 0
        return count == 1, (count >= 2) & has_single[key]

    def _record(self, found: np.ndarray, subset: tuple[int, ...]) -> None:
        """Count the MSUs on ``subset`` of the keys ``found`` and credit their variables."""
        size = len(subset)
        self.counts[found, size - 1] += 1
        weight = self.weights[size - 1]
        plain = ~self.correlated[found]
        self.contrib[list(subset)] += weight * np.count_nonzero(plain)
        if not plain.all():
            _credit_contributions(
                found[~plain], subset, weight, self.contrib, self.prim, self.csize
            )


def _credit_contributions(
    found: np.ndarray,
    subset: tuple[int, ...],
    weight: float,
    contrib: np.ndarray,
    prim: np.ndarray,
    csize: np.ndarray,
) -> None:
    """Add to ``contrib`` (per variable) the credits of MSUs on ``subset`` as sdcMicro does.

    sdcMicro finds each MSU once in its *representative* form (every item replaced by the
    lowest-variable item of its perfectly correlated class) and multiplies it by the product
    of the class sizes. Its credits per representative MSU of size ``k`` with weight ``w``:

    * ``k = 1``: the variable gets ``w`` (an item held by one record has no class).
    * ``k = 2`` (items ``a``, ``b``): ``a`` gets ``|class(b)| w``, ``b`` gets ``|class(a)| w``
      and every other member of either class gets ``w`` (Suda2.h, ``FindMsu``, the branch for
      a 1-MSU of a subset "in main dataset").
    * ``k >= 3``: each representative variable gets ``prod |class| * w``; the other class
      members get nothing (Suda2.h, ``FindMsu``, the branch for larger MSUs).

    Without correlated items all class sizes are 1 and every MSU credits each of its variables
    with ``w``; the caller handles those keys directly. The other MSUs of a class product are
    counted in the scores but credited through their representative here.
    """
    size = len(subset)
    if size == 1:
        contrib[subset[0]] += weight * found.size
        return
    cols = np.asarray(subset, dtype=np.int64)
    canonical = (prim[np.ix_(found, cols)] == cols).all(axis=1)
    rep = found[canonical]
    if rep.size == 0:
        return
    sizes = csize[np.ix_(rep, cols)]
    if size >= 3:
        contrib[cols] += float(sizes.prod(axis=1).sum()) * weight
        return
    a, b = subset
    contrib[a] += float(sizes[:, 1].sum()) * weight
    contrib[b] += float(sizes[:, 0].sum()) * weight
    members = (prim[rep] == a) | (prim[rep] == b)
    members[:, a] = False
    members[:, b] = False
    contrib += members.sum(axis=0) * weight
