"""MST: differentially private synthetic microdata from a maximum-spanning-tree model.

The method of McKenna, Miklau and Sheldon (2021), "Winning the NIST Contest: A scalable
and general approach to differentially private synthetic data", written for ``sdc``:

1. Under zero-concentrated DP, the budget ``rho`` is the largest that converts to the
   requested ``(epsilon, delta)`` with OpenDP's conversion (``make_zCDP_to_approxDP``).
2. A third of ``rho`` measures every 1-way marginal with Gaussian noise. Categories whose
   noisy count is below three noise standard deviations are merged into one cell per
   column ("domain compression"; decided from noisy counts only).
3. A third selects ``m - 1`` pairs of columns, Kruskal style: in each round the exponential
   mechanism (report-noisy-max with Gumbel noise) picks, among the pairs that join two
   different components of the tree built so far, one whose true 2-way counts are far (L1)
   from the independence estimate built from the noisy 1-way marginals.
4. A third measures the 2-way marginals of the selected tree with Gaussian noise.
5. A tree model consistent with all noisy marginals is fitted (``_tree.fit_tree``) and
   ``rows`` records are drawn from it by ancestral sampling, then mapped back to values.

Every noisy number comes from an OpenDP measurement (``_dp``) and is never seeded; ``seed``
only makes steps 5 and the mapping back reproducible, which read no private data. With one
column all of ``rho`` measures its marginal; with two columns the pair is known, so
selection is free and ``rho`` is split between the 1-way and the 2-way measurements.

``synthesize(method="aim")`` runs AIM instead (``sdc.synth.aim``): the same codebook,
units and sampling, with adaptive, workload-aware rounds and a graphical model.

Privacy unit: one record (add/remove neighbours) by default; the data must then hold one
row per person. With ``household=COLUMN`` the unit is a household (add/remove all of its
records) and its contribution is bounded first; see ``synthesize``. Records with a value
that is missing or not in the codebook are dropped before any measurement (a row filter,
which keeps the guarantee); numeric values are clamped to their public bounds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from sdc.errors import DataError, PolicyError
from sdc.synth import _dp
from sdc.synth._codebook import Codebook, ValueType, build_codebook
from sdc.synth._dp import Measurement
from sdc.synth._pgm import Clique, clique_size
from sdc.synth._tree import Edge, TreeModel, fit_tree, project_simplex
from sdc.synth.aim import MAX_CELLS, AimRun, run_aim

Method = Literal["mst", "aim"]

#: Noisy 1-way counts below this many noise standard deviations are merged (as in MST).
COMPRESSION_THRESHOLD = 3.0


@dataclass(frozen=True)
class SynthResult:
    """The synthetic data and an account of how it was made.

    Attributes:
        data: the synthetic records (the synthesised columns, in the order requested).
        method: the synthesis method (``"mst"`` or ``"aim"``).
        epsilon: the requested epsilon.
        delta: the requested delta.
        rho: the zCDP budget derived from ``(epsilon, delta)`` with OpenDP's conversion.
        rho_spent: the sum of OpenDP's privacy losses of all measurements (<= ``rho``).
        epsilon_spent: the epsilon at ``delta`` that ``rho_spent`` converts to (<= ``epsilon``).
        tree: the selected pairs of columns, in the order they were selected (MST).
        measurements: every DP measurement with its privacy loss and noise scale.
        sigma_1way: Gaussian noise standard deviation of each 1-way cell.
        sigma_2way: Gaussian noise standard deviation of each 2-way cell (0 without pairs);
            for AIM, that of the last round's measurement.
        selection_scale: Gumbel scale of each selection round (0 without selection); for
            AIM, that of the last round.
        merged: per column, the codebook labels merged into one cell because their noisy
            counts were small (derived from DP measurements; safe to publish).
        rows: number of synthetic records.
        seed: seed of the sampling step (None: not reproducible).
        bins: number of bins of numeric columns.
        records_used: records that entered the measurements. NOT differentially private:
            an exact count from the private data, for the data steward only.
        dropped: per column, values missing or outside the codebook, whose records were
            dropped. NOT differentially private (steward only).
        clamped: per numeric column, values clamped to the bounds. NOT differentially
            private (steward only).
        unit: the privacy unit: ``"record"`` or ``"household"``.
        contribution: the most records of one unit that entered the measurements (1 for a
            record; the public bound ``contribution`` for a household).
        selected: AIM: the set of columns selected in each round, in order.
        workload: AIM: the workload (sets of columns whose marginals should be accurate).
        max_seconds: AIM: the time limit.
        ended: AIM: ``"budget"`` or ``"time limit"``, what made the last round the last
            (either way the whole budget is spent).
    """

    data: pd.DataFrame = field(compare=False, repr=False)
    method: str
    epsilon: float
    delta: float
    rho: float
    rho_spent: float
    epsilon_spent: float
    tree: tuple[tuple[str, str], ...]
    measurements: tuple[Measurement, ...]
    sigma_1way: float
    sigma_2way: float
    selection_scale: float
    merged: Mapping[str, tuple[str, ...]]
    rows: int
    seed: int | None
    bins: int
    records_used: int
    dropped: Mapping[str, int]
    clamped: Mapping[str, int]
    unit: Literal["record", "household"] = "record"
    contribution: int = 1
    selected: tuple[tuple[str, ...], ...] = ()
    workload: tuple[tuple[str, ...], ...] = ()
    max_seconds: float | None = None
    ended: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready account for the manifest, without the data or the private counts.

        ``records_used``, ``dropped`` and ``clamped`` are exact figures from the private
        data and are left out on purpose: they are not covered by the DP guarantee.
        """
        out = {
            "method": self.method,
            "epsilon": self.epsilon,
            "delta": self.delta,
            "rho": self.rho,
            "rho_spent": self.rho_spent,
            "epsilon_spent": self.epsilon_spent,
            "privacy_unit": (
                "record (add/remove one row)"
                if self.unit == "record"
                else f"household (add/remove one household, at most {self.contribution} "
                "records each)"
            ),
            "tree": [list(e) for e in self.tree],
            "sigma_1way": self.sigma_1way,
            "sigma_2way": self.sigma_2way,
            "selection_scale": self.selection_scale,
            "measurements": [m.to_dict() for m in self.measurements],
            "merged": {k: list(v) for k, v in self.merged.items()},
            "rows": self.rows,
            "seed": self.seed,
            "bins": self.bins,
            "columns": list(self.data.columns),
        }
        if self.method == "aim":
            del out["tree"]
            out["workload"] = [list(w) for w in self.workload]
            out["max_seconds"] = self.max_seconds
            out["selected"] = [list(c) for c in self.selected]
            out["ended"] = self.ended
        return out


def synthesize(
    df: pd.DataFrame,
    *,
    columns: Sequence[str],
    domains: Mapping[str, Sequence[object]],
    bounds: Mapping[str, tuple[float, float]],
    epsilon: float,
    delta: float,
    rows: int,
    seed: int | None,
    method: Method = "mst",
    bins: int = 16,
    domain_from_data: bool = False,
    types: Mapping[str, ValueType] | None = None,
    household: str | None = None,
    contribution: int = 1,
    workload: Sequence[Sequence[str]] | None = None,
    max_seconds: float = 60.0,
) -> SynthResult:
    """Make differentially private synthetic records with MST or AIM (``sdc.synth.aim``).

    Args:
        df: the private data, one row per person.
        columns: the columns to synthesise (at least one).
        domains: the public category list of each categorical column. Synthetic values
            only ever come from these lists.
        bounds: public ``(lower, upper)`` bounds of each numeric column (never read off
            the data); values are clamped to them and cut into ``bins`` equal-width bins,
            and synthetic values are drawn uniformly within the bin (whole numbers if
            ``types`` says ``integer``).
        epsilon: the (epsilon, delta)-DP budget of the whole synthesis, > 0.
        delta: the delta of the budget, 0 < delta < 1.
        rows: number of synthetic records, >= 1.
        seed: seed of the sampling step (the DP noise is never seeded); None for fresh
            randomness.
        method: the synthesis method: ``"mst"`` or ``"aim"``.
        bins: number of bins per numeric column, >= 2.
        domain_from_data: read the category list of a column missing from ``domains`` off
            the data. This reveals which categories occur, outside the DP guarantee; use
            only when the categories are public anyway.
        types: the public type of each column (``integer``, ``number``, ``category`` or
            ``date``), which fixes the synthetic column's dtype; never read off the data.
            Default: ``number`` for a column with bounds, else from the category list.
        household: the household id column: the privacy unit becomes one household (all
            of its records). Each household is cut to at most ``contribution`` records,
            chosen with fresh, unseeded randomness, before any measurement; records
            without a household id are dropped (a row filter).
        contribution: the public bound on the records of one household (>= 1); only with
            ``household``.
        workload: AIM only: the sets of columns whose marginals should be accurate; default
            every pair of ``columns``.
        max_seconds: AIM only: the time limit of the synthesis, > 0. When it would be passed
            the next round is the last and spends all of the budget that is left.

    Returns:
        The synthetic data with the budget spent, the selected tree and the noise scales.

    Raises:
        PolicyError: a parameter is out of range, or a column has no category list or bounds.
        DataError: a column is missing, a bounded column is not numeric, or no record fits
            the codebook.
    """
    started = time.monotonic()
    _check_parameters(method, epsilon, delta, rows, seed, contribution, max_seconds)
    if household is not None:
        if household not in df.columns:
            raise DataError(f"synthetic: the household column '{household}' is not in the data")
        df = truncate_households(df, household, contribution)
    sensitivity = float(contribution) if household is not None else 1.0
    codebook = build_codebook(df, columns, domains, bounds, bins, domain_from_data, types)
    codes, dropped, clamped = codebook.encode(df)
    if len(codes) == 0:
        raise DataError(
            "synthetic: no record has all its values in the codebook; check that the category "
            f"lists match the data (values outside them per column: {dropped})"
        )
    sets = _workload(workload, codebook) if method == "aim" else []
    rho = _dp.rho_from_epsilon_delta(float(epsilon), float(delta))
    common: dict[str, Any] = dict(
        method=method,
        epsilon=float(epsilon),
        delta=float(delta),
        rho=rho,
        rows=int(rows),
        seed=seed,
        bins=bins,
        records_used=len(codes),
        dropped=dropped,
        clamped={c.name: clamped[c.name] for c in codebook.codecs if c.kind == "numeric"},
        unit="record" if household is None else "household",
        contribution=1 if household is None else contribution,
    )
    if method == "aim":
        aim_run = run_aim(
            codes,
            codebook.sizes,
            codebook.names,
            rho=rho,
            sensitivity=sensitivity,
            workload=sets,
            deadline=started + float(max_seconds),
        )
        common["workload"] = tuple(tuple(codebook.names[a] for a in w) for w in sets)
        common["max_seconds"] = float(max_seconds)
        return _aim_result(aim_run, codebook, common)
    return _mst_result(_run_mst(codes, codebook, rho, sensitivity), codebook, common)


def _check_parameters(
    method: str,
    epsilon: float,
    delta: float,
    rows: int,
    seed: int | None,
    contribution: int,
    max_seconds: float,
) -> None:
    """Refuse a parameter out of range, with one clear message."""
    if method not in ("mst", "aim"):
        raise PolicyError(
            f"synthetic: unknown method '{method}'; the available methods are 'mst' and 'aim'"
        )
    if not (isinstance(epsilon, int | float) and math.isfinite(epsilon) and epsilon > 0):
        raise PolicyError(f"synthetic: epsilon must be a positive number, got {epsilon}")
    if not (isinstance(delta, int | float) and 0 < delta < 1):
        raise PolicyError(f"synthetic: delta must be between 0 and 1 (exclusive), got {delta}")
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise PolicyError(f"synthetic: rows must be a whole number >= 1, got {rows}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise PolicyError(f"synthetic: seed must be a whole number >= 0 or empty, got {seed}")
    if isinstance(contribution, bool) or not isinstance(contribution, int) or contribution < 1:
        raise PolicyError(
            f"synthetic: contribution must be a whole number >= 1, got {contribution}"
        )
    if not (
        isinstance(max_seconds, int | float) and math.isfinite(max_seconds) and max_seconds > 0
    ):
        raise PolicyError(f"synthetic: max_seconds must be a positive number, got {max_seconds}")


def _mst_result(run: _Run, codebook: Codebook, common: dict[str, Any]) -> SynthResult:
    """Sample from MST's tree model and account for the run."""
    rng = np.random.default_rng(common["seed"])
    sampled = run.model.sample(common["rows"], rng)
    original = _decompress(sampled, run.compression, rng)
    data = codebook.decode(original, rng)
    rho_spent = math.fsum(m.rho for m in run.measurements)
    if rho_spent > common["rho"]:  # pragma: no cover - guarded by _budget_split
        raise AssertionError(f"MST spent rho {rho_spent} over its budget; this is a bug")
    return SynthResult(
        data=data,
        rho_spent=rho_spent,
        epsilon_spent=_dp.epsilon_from_rho(rho_spent, common["delta"]),
        tree=tuple((codebook.names[a], codebook.names[b]) for a, b in run.tree),
        measurements=run.measurements,
        sigma_1way=run.sigma_1way,
        sigma_2way=run.sigma_2way,
        selection_scale=run.selection_scale,
        merged={
            codec.name: tuple(codec.labels()[i] for i in comp.merged)
            for codec, comp in zip(codebook.codecs, run.compression, strict=True)
            if comp.merged
        },
        **common,
    )


def _workload(workload: Sequence[Sequence[str]] | None, codebook: Codebook) -> list[Clique]:
    """The workload as sets of column indices; default every pair (or the one column)."""
    names = codebook.names
    m = len(names)
    if workload is None:
        return [(a, b) for a in range(m) for b in range(a + 1, m)] or [(0,)]
    if not workload:
        raise PolicyError("synthetic: workload is empty; list sets of columns, or leave it out")
    sets = []
    for w in workload:
        unknown = [c for c in w if c not in names]
        if not w or unknown or len(set(w)) != len(w):
            why = (
                "is empty"
                if not w
                else (
                    f"names {unknown[0]!r}, which is not synthesised"
                    if unknown
                    else "repeats a column"
                )
            )
            raise PolicyError(f"synthetic: the workload set {list(w)} {why}")
        clique = tuple(sorted(names.index(c) for c in w))
        cells = clique_size(clique, codebook.sizes)
        if cells > MAX_CELLS:
            raise PolicyError(
                f"synthetic: the workload set {list(w)} has {cells:,} cells, more than the "
                f"{MAX_CELLS:,} a model may hold; use smaller sets or fewer bins"
            )
        sets.append(clique)
    return sorted(set(sets))


def _aim_result(run: AimRun, codebook: Codebook, common: dict[str, Any]) -> SynthResult:
    """Sample from AIM's model and account for the run."""
    rng = np.random.default_rng(common["seed"])
    data = codebook.decode(run.model.sample(common["rows"], rng), rng)
    rho_spent = math.fsum(m.rho for m in run.measurements)
    if rho_spent > common["rho"]:  # pragma: no cover - guarded by run_aim
        raise AssertionError(f"AIM spent rho {rho_spent} over its budget; this is a bug")
    return SynthResult(
        data=data,
        rho_spent=rho_spent,
        epsilon_spent=_dp.epsilon_from_rho(rho_spent, common["delta"]),
        tree=(),
        measurements=run.measurements,
        sigma_1way=run.sigma_1way,
        sigma_2way=run.sigma_last,
        selection_scale=run.selection_scale,
        merged={},
        selected=tuple(tuple(codebook.names[a] for a in c) for c in run.selected),
        ended=run.ended,
        **common,
    )


def truncate_households(df: pd.DataFrame, household: str, contribution: int) -> pd.DataFrame:
    """Keep at most ``contribution`` records of each household, chosen at random.

    Why this bounds a household's influence: the records kept of one household depend only
    on that household's own records and on randomness independent of everyone else's, so
    adding or removing a whole household changes the truncated data by at most
    ``contribution`` records and leaves every other household's records as they were. Each
    count of a marginal then changes by at most ``contribution`` in total (L1 <= c), hence
    its L2 sensitivity is at most ``c`` (reached when all of them fall in one cell; it is
    ``sqrt(c)`` only if they fall in distinct cells, which nothing guarantees), and MST's
    selection score (an L1 distance to a fixed estimate) moves by at most ``c``. The
    measurements are calibrated at that worst case.

    The choice uses fresh, unseeded randomness (never the published seed): with a known seed
    the kept records would be a function of public information and of the other records.

    Args:
        df: the records, with the household id column.
        household: the household id column; records without an id are dropped.
        contribution: the public bound on records per household (>= 1).

    Returns:
        The kept records, in a random order.
    """
    known = df[df[household].notna()]
    shuffled = known.iloc[np.random.default_rng().permutation(len(known))]
    rank = shuffled.groupby(household, sort=False).cumcount().to_numpy()
    return shuffled[rank < contribution]


@dataclass(frozen=True)
class _Compression:
    """Map from a column's codebook codes to its compressed codes.

    ``forward[code]`` is the compressed code; the last compressed code stands for all of
    ``merged`` when there are at least two of them. ``weights`` spreads a merged cell back
    over its members (their noisy counts, clipped at zero).
    """

    forward: np.ndarray
    kept: np.ndarray
    merged: tuple[int, ...]
    weights: np.ndarray
    noisy: np.ndarray
    variance: np.ndarray

    @property
    def size(self) -> int:
        return len(self.noisy)


def _compress(noisy: np.ndarray, sigma: float) -> _Compression:
    """Merge the categories whose noisy count is below the threshold (post-processing)."""
    small = noisy < COMPRESSION_THRESHOLD * sigma
    if small.sum() <= 1:
        k = len(noisy)
        ident = np.arange(k)
        return _Compression(ident, ident, (), np.ones(0), noisy, np.full(k, sigma**2))
    keep = np.flatnonzero(~small)
    merged = np.flatnonzero(small)
    forward = np.empty(len(noisy), dtype=np.int64)
    forward[keep] = np.arange(len(keep))
    forward[merged] = len(keep)
    y = np.append(noisy[keep], noisy[merged].sum())
    var = np.append(np.full(len(keep), sigma**2), len(merged) * sigma**2)
    w = np.clip(noisy[merged], 0.0, None)
    w = w / w.sum() if w.sum() > 0 else np.full(len(merged), 1.0 / len(merged))
    return _Compression(forward, keep, tuple(int(i) for i in merged), w, y, var)


def _decompress(
    codes: np.ndarray, compression: Sequence[_Compression], rng: np.random.Generator
) -> np.ndarray:
    """Map compressed codes back to codebook codes; a merged cell is spread by weight."""
    out = np.empty_like(codes)
    for j, comp in enumerate(compression):
        col = codes[:, j]
        if not comp.merged:
            out[:, j] = col
            continue
        back = np.append(comp.kept, -1)
        out[:, j] = back[col]
        rare = col == comp.size - 1
        out[rare, j] = rng.choice(np.array(comp.merged), size=int(rare.sum()), p=comp.weights)
    return out


@dataclass(frozen=True)
class _Run:
    model: TreeModel
    compression: tuple[_Compression, ...]
    tree: tuple[tuple[int, int], ...]
    measurements: tuple[Measurement, ...]
    sigma_1way: float
    sigma_2way: float
    selection_scale: float


def _budget_split(m: int, rho: float) -> tuple[float, float, float]:
    """(1-way, selection, 2-way) shares of rho for ``m`` columns.

    The shares are cut by a relative 1e-12 so that float rounding in the per-measurement
    split and in the sum of the spent figures can never take the total above ``rho``.
    """
    rho = rho * (1.0 - 1e-12)
    if m == 1:
        return rho, 0.0, 0.0
    if m == 2:
        return rho / 2.0, 0.0, rho / 2.0
    return rho / 3.0, rho / 3.0, rho / 3.0


def nominal_scales(m: int, rho: float, sensitivity: float) -> tuple[float, float, float]:
    """``(sigma_1way, selection_scale, sigma_2way)`` MST calibrates for ``m`` columns.

    The noise each measurement gets for its share of ``rho`` at ``sensitivity``, before the
    few-ulp widening that keeps OpenDP's map within the share (0 for a step not run). A
    checker recomputes them from the policy to compare with a manifest's account.
    """
    rho_1, rho_sel, rho_2 = _budget_split(m, rho)
    d = float(sensitivity)
    sigma_1 = d / math.sqrt(2.0 * rho_1 / m)
    scale_sel = 2.0 * d / math.sqrt(8.0 * rho_sel / (m - 1)) if m > 2 else 0.0
    sigma_2 = d / math.sqrt(2.0 * rho_2 / (m - 1)) if m > 1 else 0.0
    return sigma_1, scale_sel, sigma_2


def _pair_counts(codes: np.ndarray, a: int, b: int, size_b: int, size_a: int) -> np.ndarray:
    key = codes[:, a] * size_b + codes[:, b]
    return np.bincount(key, minlength=size_a * size_b).reshape(size_a, size_b).astype(float)


def _run_mst(codes: np.ndarray, codebook: Codebook, rho: float, sensitivity: float) -> _Run:
    names = codebook.names
    m = len(names)
    rho_1, rho_sel, rho_2 = _budget_split(m, rho)
    measurements: list[Measurement] = []

    # 1. All 1-way marginals, then domain compression on the noisy counts.
    compression = []
    sigma_1 = 0.0
    for j, size in enumerate(codebook.sizes):
        counts = np.bincount(codes[:, j], minlength=size).astype(float)
        noisy, sigma_1, spent = _dp.gaussian_counts(counts, rho_1 / m, sensitivity)
        measurements.append(Measurement("1-way", (names[j],), spent, sigma_1, sensitivity))
        compression.append(_compress(noisy, sigma_1))
    comp = np.column_stack([c.forward[codes[:, j]] for j, c in enumerate(compression)])
    sizes = [c.size for c in compression]

    # 2. Tree selection (Kruskal with the exponential mechanism).
    tree: list[tuple[int, int]] = []
    scale_sel = 0.0
    if m == 2:
        tree.append((0, 1))
    elif m > 2:
        total = max(
            float(np.mean([c.noisy.sum() for c in compression])),
            1.0,
        )
        probs = [_positive_share(c.noisy) for c in compression]
        pairs = [(a, b) for a in range(m) for b in range(a + 1, m)]
        scores = {}
        for a, b in pairs:
            truth = _pair_counts(comp, a, b, sizes[b], sizes[a])
            estimate = total * np.outer(probs[a], probs[b])
            scores[(a, b)] = float(np.abs(truth - estimate).sum())
        component = list(range(m))

        def find(x: int) -> int:
            while component[x] != x:
                component[x] = component[component[x]]
                x = component[x]
            return x

        for _ in range(m - 1):
            candidates = [p for p in pairs if find(p[0]) != find(p[1])]
            index, scale_sel, spent = _dp.noisy_max(
                np.array([scores[p] for p in candidates]), rho_sel / (m - 1), sensitivity
            )
            a, b = candidates[index]
            measurements.append(
                Measurement("select", (names[a], names[b]), spent, scale_sel, sensitivity)
            )
            tree.append((a, b))
            component[find(a)] = find(b)

    # 3. The selected 2-way marginals.
    edges = []
    sigma_2 = 0.0
    for a, b in tree:
        truth = _pair_counts(comp, a, b, sizes[b], sizes[a])
        noisy, sigma_2, spent = _dp.gaussian_counts(truth, rho_2 / len(tree), sensitivity)
        measurements.append(Measurement("2-way", (names[a], names[b]), spent, sigma_2, sensitivity))
        edges.append(Edge(a, b, noisy, sigma_2**2))

    model = fit_tree(
        sizes, [c.noisy for c in compression], [c.variance for c in compression], edges
    )
    return _Run(
        model, tuple(compression), tuple(tree), tuple(measurements), sigma_1, sigma_2, scale_sel
    )


def _positive_share(noisy: np.ndarray) -> np.ndarray:
    """A probability vector from noisy counts (post-processing for the selection score)."""
    total = max(float(noisy.sum()), 1.0)
    return project_simplex(noisy, total) / total
