"""Pandas engine: everything in memory, on integer-encoded keys (the default).

This engine is a thin shell over :mod:`sdc.risk.frequencies`, the reference implementation
the other engines are tested against.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sdc.errors import DataError
from sdc.risk.engines.base import (
    DataSource,
    DiversitySummary,
    FrequencyResult,
    LMeasure,
    RiskFunction,
    check_columns,
    check_diversity_request,
    check_grouped_request,
    check_request,
    evaluate_pairs,
    grouped_dtypes,
    source_kind,
    source_name,
    summary_from,
    weight_error,
)
from sdc.risk.frequencies import (
    MissingRule,
    all_blank,
    blank_keys_match_all,
    combine_codes,
    encode_keys,
    key_frequencies,
)


def _load(source: DataSource, columns: Sequence[str | None]) -> pd.DataFrame:
    kind = source_kind(source)
    if kind == "frame":
        assert isinstance(source, pd.DataFrame)
        frame = source
    else:
        from sdc.io import read_table

        frame = read_table(Path(source)).frame  # type: ignore[arg-type]
    check_columns([str(c) for c in frame.columns], list(columns), source_name(source))
    return frame


def _weights(frame: pd.DataFrame, weight: str | None, name: str) -> np.ndarray | None:
    """The weights as float64; every one must be a finite positive number."""
    if weight is None:
        return None
    column = frame[weight]
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        w = np.full(len(column), np.nan)  # dates are not weights (duckdb agrees)
    else:
        values = pd.to_numeric(column, errors="coerce")
        w = np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    bad = int(np.count_nonzero(~(np.isfinite(w) & (w > 0))))
    if bad:
        raise weight_error(weight, name, bad)
    return w


def household_product(risk: np.ndarray, household: pd.Series) -> np.ndarray:
    """``1 - prod(1 - r_i)`` over each household; a record without an id is its own."""
    survive = pd.Series(1.0 - risk, index=household.index)
    prod = survive.groupby(household, dropna=True, sort=False).transform("prod")
    out = 1.0 - prod.to_numpy(dtype=np.float64, na_value=np.nan)
    alone = household.isna().to_numpy()
    out[alone] = risk[alone]
    return out


class PandasEngine:
    """Counting engine in memory: pandas and numpy on integer-encoded keys."""

    name = "pandas"

    def key_frequencies(
        self,
        source: DataSource,
        quasi: Sequence[str],
        weight: str | None = None,
        missing: MissingRule = "wildcard",
        *,
        k: int | None = None,
        risk: RiskFunction | None = None,
        household: str | None = None,
        out_path: str | os.PathLike[str] | None = None,
        per_record: bool = True,
    ) -> FrequencyResult:
        """Count every record's key in memory; see :class:`~sdc.risk.engines.CountingEngine`."""
        quasi = list(quasi)
        check_request(quasi, missing, k, risk, household)
        if out_path is not None and Path(out_path).exists():
            raise DataError(f"{out_path}: already exists; choose a new name for the results")
        frame = _load(source, [*quasi, weight, household])
        w = _weights(frame, weight, source_name(source))
        codes = encode_keys(frame, quasi, missing)
        freq = key_frequencies(codes, w, missing)
        fk = freq.fk.astype(np.int64, copy=False)
        Fk = freq.Fk.astype(np.float64, copy=False)
        if missing == "category":
            blank = all_blank(encode_keys(frame, quasi, "wildcard"))
            fk, Fk = blank_keys_match_all(fk, Fk, blank, w)
        n = len(fk)
        keys = int(combine_codes(codes + 1).max()) + 1 if n else 0

        grouped = pd.DataFrame({"f_k": fk, "F_k": Fk}).groupby(["f_k", "F_k"], sort=True)
        pairs = grouped.size().reset_index(name="records")
        pairs["records"] = pairs["records"].astype(np.int64)
        pairs = evaluate_pairs(pairs, risk)
        summary = summary_from(
            records=n,
            keys=keys,
            sample_uniques=int(np.count_nonzero(fk == 1)),
            fk_below_3=int(np.count_nonzero(fk < 3)),
            k=k,
            fk_below_k=int(np.count_nonzero(fk < k)) if k is not None else None,
            sum_inv_fk=float(np.sum(1.0 / fk)) if n else 0.0,
            pairs=pairs,
        )
        rk = hh = None
        if risk is not None and (household is not None or out_path is not None or per_record):
            rk = pairs["r_k"].to_numpy(dtype=np.float64)[grouped.ngroup().to_numpy()]
        if rk is not None and household is not None:
            ids = frame[household].reset_index(drop=True)
            hh = household_product(rk, ids)
            summary = replace(
                summary,
                households=int(ids.nunique(dropna=True)) + int(ids.isna().sum()),
                household_risk_sum=float(hh.sum()),
                household_risk_max=float(hh.max()) if n else 0.0,
            )
        if out_path is None and not per_record:
            return FrequencyResult(self.name, summary, pairs)
        if out_path is None:
            return FrequencyResult(
                self.name, summary, pairs, fk=fk, Fk=Fk, rk=rk, household_risk=hh
            )
        columns: dict[str, np.ndarray] = {"row": np.arange(n, dtype=np.int64), "f_k": fk, "F_k": Fk}
        if rk is not None:
            columns["r_k"] = rk
        if hh is not None:
            columns["household_risk"] = hh
        pq.write_table(pa.table(columns), str(out_path))
        return FrequencyResult(self.name, summary, pairs, out_path=Path(out_path))

    def attribute_disclosure(
        self,
        source: DataSource,
        quasi: Sequence[str],
        sensitive: Sequence[str],
        *,
        l: int | None = None,  # noqa: E741 - the measure is called l
        l_measure: LMeasure = "distinct",
        recursive_c: float = 2.0,
        group_share: float = 0.9,
    ) -> tuple[DiversitySummary, ...]:
        """l-diversity and group disclosure in memory.

        Computed by :func:`sdc.risk.assess.assess_risk`'s own code; see
        :class:`~sdc.risk.engines.CountingEngine`.
        """
        from sdc.risk.assess import RiskThresholds, attribute_disclosure

        quasi, sensitive = list(quasi), list(sensitive)
        check_diversity_request(quasi, sensitive, l, l_measure, recursive_c, group_share)
        frame = _load(source, [*quasi, *sensitive])
        thresholds = RiskThresholds(
            l=l, l_diversity=l_measure, recursive_c=recursive_c, group_share=group_share
        )
        ldiv, _, gdisc = attribute_disclosure(frame, quasi, sensitive, thresholds)
        return tuple(
            DiversitySummary(
                variable=ld.variable,
                distinct_min=ld.distinct_min,
                entropy_min=ld.entropy_min,
                recursive_min=ld.recursive_min,
                keys_below_l=ld.keys_below_l,
                records_below_l=ld.records_below_l,
                share=gd.share,
                share_keys=gd.keys,
                share_records=gd.records,
                worst_share=gd.worst_share,
            )
            for ld, gd in zip(ldiv, gdisc, strict=True)
        )

    def grouped_sums(
        self,
        source: DataSource,
        by: Sequence[str],
        value: str | None = None,
        weight: str | None = None,
        *,
        top: int = 0,
        value_detail: bool = False,
        clamp: tuple[float, float] | None = None,
        unit: str | None = None,
        contribution_bound: int = 1,
        clamp_step: float | None = None,
    ) -> pd.DataFrame:
        """Counts and sums per cell in memory; see :class:`~sdc.risk.engines.CountingEngine`."""
        by = list(by)
        check_grouped_request(value, top, value_detail, clamp, contribution_bound, clamp_step)
        frame = _load(source, [*by, value, weight, unit])
        name = source_name(source)
        w = _weights(frame, weight, name)
        data: dict[str, object] = {}
        for b in by:
            col = frame[b]
            if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
                col = col.replace("", np.nan)
            data[b] = col.to_numpy()
        ones = np.ones(len(frame), dtype=np.float64)
        weights = ones if w is None else w
        data["__w"] = weights
        data["__n"] = ones
        v: np.ndarray | None = None
        if value is not None:
            try:
                v = frame[value].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise DataError(f"value column {value!r} of {name} is not numeric") from exc
            v = np.where(np.isfinite(v), v, np.nan)
            data["__v"] = v
            data["__wv"] = v * weights
        work = pd.DataFrame(data)
        aggs = {"count": ("__n", "size"), "weighted_count": ("__w", "sum")}
        if value is not None:
            aggs.update(sum=("__v", "sum"), weighted_sum=("__wv", "sum"), __nv=("__v", "count"))
        if not by:
            work["__total"] = 0
        groups = work.groupby(by or ["__total"], dropna=False, sort=True)
        out = groups.agg(**aggs).reset_index(drop=not by)
        if not by and out.empty:
            out = pd.DataFrame({"count": [0], "weighted_count": [0.0]})
            if value is not None:
                out = out.assign(sum=np.nan, weighted_sum=np.nan, __nv=0)
        if value is not None:
            empty = out.pop("__nv").to_numpy() == 0
            out.loc[empty, ["sum", "weighted_sum"]] = np.nan
        gid = groups.ngroup().to_numpy(dtype=np.int64)
        size = len(out)
        has = np.ones(len(frame), dtype=bool) if v is None else ~np.isnan(v)
        if value_detail:
            assert v is not None
            out["value_count"] = np.bincount(gid[has], minlength=size)
            out["value_weighted_count"] = np.bincount(
                gid[has], weights=weights[has], minlength=size
            )
            low = np.full(size, np.inf)
            np.minimum.at(low, gid[has], v[has])
            out["value_min"] = np.where(np.isinf(low), np.nan, low)
        if top > 0:
            contribution = weights if v is None else v * weights
            out = out.assign(**_top_columns(gid[has], contribution[has], size, top))
        if unit is not None or clamp is not None:
            kept = has.copy()
            if unit is not None:
                rank = frame.groupby(unit, sort=False, dropna=False).cumcount().to_numpy()
                kept &= rank < contribution_bound
            out["clamped_count"] = np.bincount(gid[kept], minlength=size)
            if clamp is not None:
                assert v is not None
                clipped = np.clip(v[kept], clamp[0], clamp[1])
                out["clamped_sum"] = np.bincount(gid[kept], weights=clipped, minlength=size)
                if clamp_step is not None:
                    units = np.floor(clipped / clamp_step + 0.5).astype(np.int64)
                    total = np.zeros(size, dtype=np.int64)
                    np.add.at(total, gid[kept], units)
                    out["clamped_units"] = total
        return grouped_dtypes(out, len(by))


def _top_columns(gid: np.ndarray, contribution: np.ndarray, size: int, top: int) -> dict:
    """``top_1..top_<top>``: each group's largest contributions, NaN where it has fewer."""
    tops = np.full((size, top), np.nan)
    order = np.lexsort((-contribution, gid))
    sg = gid[order]
    first = np.r_[True, sg[1:] != sg[:-1]] if len(sg) else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(sg)), 0))
    rank = np.arange(len(sg)) - start
    take = rank < top
    tops[sg[take], rank[take]] = contribution[order][take]
    return {f"top_{i + 1}": tops[:, i] for i in range(top)}
