"""l-diversity and group disclosure out of core: every engine equals the in-memory report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.risk.assess import RiskThresholds, assess_risk
from sdc.risk.engines.base import DiversitySummary
from sdc.risk.scale import assess_at_scale, scale_text

from .conftest import QUASI, make_survey
from .test_engines import ENGINES, engine_for


def with_sensitive(n: int, seed: int) -> pd.DataFrame:
    """The engines' survey with two sensitive columns, blanks of every kind included."""
    df = make_survey(n, seed=seed)
    rng = np.random.default_rng(seed + 1)
    diag = rng.choice(["flu", "cold", "none", "asthma", ""], n, p=[0.2, 0.2, 0.45, 0.1, 0.05])
    df["diag"] = pd.Series(diag, dtype=object).where(rng.random(n) > 0.05, None)
    df["visits"] = rng.integers(0, 3, n).astype(np.float64)
    df.loc[rng.random(n) < 0.08, "visits"] = np.nan
    return df


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    df = with_sensitive(800, seed=11)
    folder = tmp_path_factory.mktemp("diversity")
    df.to_csv(folder / "s.csv", index=False)
    df.to_parquet(folder / "s.parquet", index=False)
    return {"frame": df, "csv": folder / "s.csv", "parquet": folder / "s.parquet"}


def expected(df: pd.DataFrame, quasi: list[str], th: RiskThresholds) -> list[DiversitySummary]:
    """The in-memory report's figures, read off :func:`assess_risk`."""
    report = assess_risk(df, quasi=quasi, sensitive=["diag", "visits"], thresholds=th, suda=False)
    return [
        DiversitySummary(
            ld.variable,
            ld.distinct_min,
            ld.entropy_min,
            ld.recursive_min,
            ld.keys_below_l,
            ld.records_below_l,
            g.share,
            g.keys,
            g.records,
            g.worst_share,
        )
        for ld, g in zip(report.l_diversity, report.group_disclosure, strict=True)
    ]


def same(got: tuple[DiversitySummary, ...], want: list[DiversitySummary]) -> None:
    """Equal field by field; entropy to the last bits (sums run in another order)."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.entropy_min == pytest.approx(w.entropy_min, rel=1e-12)
        assert g == DiversitySummary(**{**w.__dict__, "entropy_min": g.entropy_min})


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["frame", "csv", "parquet"])
def test_engines_match_the_in_memory_report(engine: str, kind: str, sources: dict) -> None:
    df = sources["frame"]
    eng = engine_for(engine)
    for quasi in (QUASI[:2], QUASI):
        for measure, least, share in (
            ("distinct", 3, 0.6),
            ("entropy", 2, 0.9),
            ("recursive", 2, 1.0),
        ):
            th = RiskThresholds(l=least, l_diversity=measure, group_share=share)
            got = eng.attribute_disclosure(
                sources[kind],
                quasi,
                ["diag", "visits"],
                l=least,
                l_measure=measure,  # type: ignore[arg-type]
                recursive_c=th.recursive_c,
                group_share=share,
            )
            same(got, expected(df, quasi, th))


@pytest.mark.parametrize("engine", ENGINES)
def test_by_hand(engine: str) -> None:
    # Group a: x, x, y, blank -> distinct 3 (the blank counts), recursive 1 (2 < 2*1 fails),
    # entropy exp(-(.5 ln .5 + 2 * .25 ln .25)) = 2^1.5; share 2/3.
    # Group b: z, z -> distinct 1, share 1. Group of blank keys: left out of the minimum.
    df = pd.DataFrame(
        {
            "k": ["a", "a", "a", "a", "b", "b", "", None],
            "s": ["x", "x", "y", "", "z", "z", "q", "r"],
        }
    )
    got = engine_for(engine).attribute_disclosure(df, ["k"], ["s"], l=2, group_share=0.6)
    (d,) = got
    assert (d.distinct_min, d.recursive_min, d.keys_below_l, d.records_below_l) == (1, 1, 1, 2)
    assert d.entropy_min == pytest.approx(1.0)
    assert (d.share_keys, d.share_records, d.worst_share) == (2, 6, 1.0)
    (e,) = engine_for(engine).attribute_disclosure(df[df["k"] == "a"], ["k"], ["s"])
    assert (e.distinct_min, e.recursive_min) == (3, 1)
    assert e.entropy_min == pytest.approx(2**1.5, rel=1e-12)
    assert (e.keys_below_l, e.share_keys, e.worst_share) == (None, 0, 2 / 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_only_blank_groups_are_judged_when_nothing_else_is(engine: str) -> None:
    # Every key is blank: as in memory, the figures then come from all groups.
    df = pd.DataFrame({"k": [None, "", None], "s": ["x", "y", "x"]})
    want = expected(df.assign(diag=df["s"], visits=1.0), ["k"], RiskThresholds())[0]
    (got,) = engine_for(engine).attribute_disclosure(df, ["k"], ["s"])
    assert (
        (got.distinct_min, got.recursive_min)
        == (
            want.distinct_min,
            want.recursive_min,
        )
        == (2, 1)
    )
    assert (got.share_keys, got.worst_share) == (0, 0.0)


def test_requests_are_checked(sources: dict, tmp_path: Path) -> None:
    eng = engine_for("duckdb")
    with pytest.raises(ValueError, match="'diag' is both a key and sensitive"):
        eng.attribute_disclosure(sources["frame"], ["diag"], ["diag"])
    with pytest.raises(ValueError, match="l_measure must be distinct, entropy or recursive"):
        eng.attribute_disclosure(sources["frame"], ["sex"], ["diag"], l_measure="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"group_share must be in \(0.5, 1\], not 0.2"):
        eng.attribute_disclosure(sources["frame"], ["sex"], ["diag"], group_share=0.2)
    with pytest.raises(DataError, match="'nope' is not a column of s.parquet"):
        eng.attribute_disclosure(sources["parquet"], ["sex"], ["nope"])
    empty = tmp_path / "empty.csv"
    empty.write_text("sex,diag\n")
    with pytest.raises(DataError, match="empty.csv: has a header but no records"):
        eng.attribute_disclosure(empty, ["sex"], ["diag"])


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_scale_report_shows_and_judges_them(engine: str, sources: dict) -> None:
    df = sources["frame"]
    th = RiskThresholds(l=3, group_share=0.6, group_share_enforced=True)
    report = assess_at_scale(
        sources["parquet"],
        quasi=QUASI[:2],
        sensitive=["diag", "visits"],
        thresholds=th,
        counter=engine_for(engine),
    )
    memory = assess_risk(
        df, quasi=QUASI[:2], sensitive=["diag", "visits"], thresholds=th, suda=False
    )
    assert [ld.distinct_min for ld in report.l_diversity] == [
        ld.distinct_min for ld in memory.l_diversity
    ]
    assert report.group_disclosure == memory.group_disclosure
    at_scale = {b.name: b for b in report.breaches}
    in_memory = {b.name: b for b in memory.breaches}
    for name in ("l", "group_share"):
        assert (name in at_scale) == (name in in_memory)
        if name in at_scale:
            assert at_scale[name].variable == in_memory[name].variable
    out = report.to_dict()
    assert out["sensitive"] == ["diag", "visits"]
    assert [d["variable"] for d in out["l_diversity"]] == ["diag", "visits"]
    assert out["group_disclosure"][0]["keys"] == memory.group_disclosure[0].keys
    assert "l_diversity" not in out["not_computed"]
    assert "group_disclosure" not in out["not_computed"]
    text = scale_text(report)
    assert "l-diversity of diag (distinct, min)" in text
    assert "groups where one value of diag covers 60% or more" in text
