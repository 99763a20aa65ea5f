"""``grouped_sums`` extras for tables: top contributions, value detail, contribution bound.

Every engine must agree exactly with a plain pandas reference written here record by
record (the generated survey has values and weights exact in floating point).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from sdc.risk.engines import get_engine

from .conftest import Sources
from .test_engines import ENGINES, engine_for


def _key(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str) and value == "":
        return None
    return value


@dataclass
class _Cell:
    count: int = 0
    weighted: float = 0.0
    values: list[tuple[float | None, float]] = field(default_factory=list)
    contributions: list[float] = field(default_factory=list)
    kept: list[float | None] = field(default_factory=list)


def reference(
    df: pd.DataFrame,
    by: list[str],
    value: str | None,
    weight: str | None,
    top: int,
    clamp: tuple[float, float] | None,
    unit: str | None,
    bound: int,
) -> dict[tuple[object, ...], dict[str, float]]:
    """Cell -> statistics, computed record by record."""
    seen: dict[object, int] = {}
    cells: dict[tuple[object, ...], _Cell] = {}
    for rec in df.to_dict("records"):
        key = tuple(_key(rec[b]) for b in by)
        cell = cells.setdefault(key, _Cell())
        w = 1.0 if weight is None else float(rec[weight])
        cell.count += 1
        cell.weighted += w
        v: float | None = None
        if value is not None:
            raw = rec[value]
            v = float(raw) if raw is not None and np.isfinite(float(raw)) else None
        if value is None or v is not None:
            cell.values.append((v, w))
            cell.contributions.append(w if v is None else v * w)
        ok = True
        if unit is not None:
            u = _key(rec[unit])
            rank = seen.get(u, 0)
            seen[u] = rank + 1
            ok = rank < bound
        if ok and (value is None or v is not None):
            cell.kept.append(v)
    out = {}
    for key, c in cells.items():
        contributions = sorted(c.contributions, reverse=True)
        row: dict[str, float] = {"count": c.count, "weighted_count": c.weighted}
        if value is not None:
            present = [v for v, _ in c.values if v is not None]
            row["value_count"] = len(present)
            row["value_weighted_count"] = sum(w for _, w in c.values)
            row["value_min"] = min(present, default=np.nan)
        for i in range(top):
            row[f"top_{i + 1}"] = contributions[i] if i < len(contributions) else np.nan
        if unit is not None or clamp is not None:
            row["clamped_count"] = len(c.kept)
            if clamp is not None:
                row["clamped_sum"] = sum(
                    min(max(v, clamp[0]), clamp[1]) for v in c.kept if v is not None
                )
        out[key] = row
    return out


def _as_dict(got: pd.DataFrame, by: list[str]) -> dict[tuple[object, ...], dict[str, object]]:
    out = {}
    for rec in got.to_dict("records"):
        key = tuple(_key(rec.pop(b)) for b in by)
        out[key] = {str(k): v for k, v in rec.items()}
    return out


def _same(a: object, b: float) -> bool:
    assert isinstance(a, (int, float, np.number))
    fa, fb = float(a), float(b)
    return (math.isnan(fa) and math.isnan(fb)) or fa == fb


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["frame", "parquet", "csv"])
@pytest.mark.parametrize(
    ("value", "weight", "top", "clamp", "unit", "bound"),
    [
        ("income", "wgt", 3, None, None, 1),
        (None, "wgt", 2, None, None, 1),
        (None, None, 1, None, "hh", 2),
        ("income", None, 2, (100.0, 600.0), "hh", 1),
        ("income", "wgt", 0, (0.0, 500.0), None, 1),
        ("income", None, 0, None, "hh", 3),
    ],
)
def test_grouped_extras_match_reference(
    engine: str,
    kind: str,
    value: str | None,
    weight: str | None,
    top: int,
    clamp: tuple[float, float] | None,
    unit: str | None,
    bound: int,
    survey_sources: Sources,
) -> None:
    by = ["sex", "region"]
    got = engine_for(engine).grouped_sums(
        survey_sources.get(kind),
        by,
        value,
        weight,
        top=top,
        value_detail=value is not None,
        clamp=clamp,
        unit=unit,
        contribution_bound=bound,
    )
    want = reference(survey_sources.frame, by, value, weight, top, clamp, unit, bound)
    have = _as_dict(got, by)
    assert set(have) == set(want)
    for key, row in want.items():
        for col, expected in row.items():
            assert _same(have[key][col], expected), (key, col, have[key][col], expected)
    for col in ("count", "value_count", "clamped_count"):
        if col in got:
            assert got[col].dtype == np.int64


@pytest.mark.parametrize("engine", ENGINES)
def test_contribution_bound_by_hand(engine: str) -> None:
    # Unit 7 has five records in cell a; with a bound of 2 only its first two count.
    df = pd.DataFrame(
        {
            "g": ["b", "a", "a", "a", "a", "a", "b"],
            "u": [7, 7, 7, 7, 7, 8, 9],
            "v": [10.0, 1.0, 2.0, 3.0, 4.0, 50.0, -5.0],
        }
    )
    got = engine_for(engine).grouped_sums(
        df, ["g"], "v", clamp=(0.0, 20.0), unit="u", contribution_bound=2
    )
    # unit 7 keeps rows 0 (b, 10) and 1 (a, 1); unit 8 row 5 (a, 50 -> 20); unit 9 row 6.
    assert got["g"].tolist() == ["a", "b"]
    assert got["count"].tolist() == [5, 2]
    assert got["clamped_count"].tolist() == [2, 2]
    assert got["clamped_sum"].tolist() == [21.0, 10.0]
    single = engine_for(engine).grouped_sums(df, ["g"], unit="u", contribution_bound=1)
    assert single["clamped_count"].tolist() == [1, 2]
    assert list(single.columns) == ["g", "count", "weighted_count", "clamped_count"]


@pytest.mark.parametrize("engine", ENGINES)
def test_top_by_hand(engine: str) -> None:
    df = pd.DataFrame(
        {"g": ["a", "a", "a", "b"], "v": [1.0, -3.0, np.inf, 2.0], "w": [2.0, 1.0, 1.0, 0.5]}
    )
    got = engine_for(engine).grouped_sums(df, ["g"], "v", "w", top=3, value_detail=True)
    assert got["top_1"].tolist() == [2.0, 1.0]
    assert got["top_2"].tolist()[0] == -3.0
    assert np.isnan(got["top_2"].tolist()[1])
    assert np.isnan(got["top_3"]).all()
    # the infinite value is missing: skipped by the sums and the detail
    assert got["sum"].tolist() == [-2.0, 2.0]
    assert got["value_count"].tolist() == [2, 1]
    assert got["value_weighted_count"].tolist() == [3.0, 0.5]
    assert got["value_min"].tolist() == [-3.0, 2.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_extras_of_nothing(engine: str) -> None:
    df = pd.DataFrame({"g": pd.Series([], dtype="str"), "v": pd.Series([], dtype=float)})
    total = engine_for(engine).grouped_sums(df, [], "v", top=2, value_detail=True, clamp=(0.0, 1.0))
    assert len(total) == 1
    row = total.iloc[0]
    assert row["count"] == 0 and row["value_count"] == 0 and row["clamped_count"] == 0
    assert row["clamped_sum"] == 0.0 and np.isnan(row["top_1"]) and np.isnan(row["value_min"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"top": -1}, "top must be"),
        ({"top": True}, "top must be"),
        ({"value_detail": True, "value": None}, "value_detail needs"),
        ({"clamp": (0.0, 1.0), "value": None}, "clamp needs"),
        ({"clamp": (2.0, 1.0)}, "clamp must be"),
        ({"clamp": (0.0, float("inf"))}, "clamp must be"),
        ({"contribution_bound": 0, "unit": "g"}, "contribution_bound must be"),
    ],
)
@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_bad_requests(engine: str, kwargs: dict[str, object], match: str) -> None:
    df = pd.DataFrame({"g": ["a"], "v": [1.0]})
    args = {"value": "v", **kwargs}
    with pytest.raises(ValueError, match=match):
        get_engine(engine).grouped_sums(df, ["g"], **args)  # type: ignore[arg-type]
