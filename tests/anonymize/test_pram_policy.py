"""PRAM through the policy: strata, a steward's own matrix, and what policy show says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.pram import pram
from sdc.errors import DataError, PolicyError
from sdc.policy import parse_policy
from sdc.release.microdata import treat_microdata
from tests.cli._runner import run

POLICY = """\
version: 1
name: pram
columns:
  region: {role: quasi}
  hiv: {role: sensitive, pram: PRAM}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [pram]}
"""


def policy(pram_text: str, tmp: Path = Path("p.yaml")):  # type: ignore[no-untyped-def]
    return parse_policy(POLICY.replace("PRAM", pram_text), source=tmp)


def survey(n: int = 4_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south"], n)
    # In the south everyone says "neg": within-stratum PRAM can never change it there.
    hiv = np.where(region == "south", "neg", rng.choice(["neg", "pos", "unknown"], n))
    return pd.DataFrame({"region": region, "hiv": hiv})


def test_a_given_matrix_is_applied_as_it_is() -> None:
    df = survey()
    swap = {"neg": {"pos": 1.0}, "pos": {"neg": 1.0}, "unknown": {"unknown": 1.0}}
    out, record = pram(df, "hiv", matrix=swap, seed=1)
    want = df["hiv"].map({"neg": "pos", "pos": "neg", "unknown": "unknown"})
    assert out["hiv"].tolist() == want.tolist()
    assert record.parameters["invariant"] is False and record.parameters["matrix"] == swap


def test_strata_through_the_policy_keep_a_single_category_stratum() -> None:
    df = survey()
    treated = treat_microdata(df, policy("{p: 0.6, strata: [region]}"), seed=3)
    south = (df["region"] == "south").to_numpy()
    assert (treated.frame.loc[south, "hiv"] == "neg").all()
    north_changed = (treated.frame.loc[~south, "hiv"] != df.loc[~south, "hiv"]).sum()
    assert north_changed > 100
    record = next(t for t in treated.treatments if t.name == "pram")
    assert list(record.parameters["strata"]) == ["region"]
    assert {m["stratum"] for m in record.details["strata"]} == {"north", "south"}


def test_without_strata_the_south_is_perturbed() -> None:
    df = survey()
    treated = treat_microdata(df, policy("{p: 0.6}"), seed=3)
    south = (df["region"] == "south").to_numpy()
    assert (treated.frame.loc[south, "hiv"] != "neg").any()


@pytest.mark.parametrize(
    ("pram_text", "message"),
    [
        ("{alpha: 0.5}", "pram takes p (the retention probability of sdc's invariant matrix) or matrix (your own transition matrix), one of the two"),
        ("{p: 0.8, matrix: {a: {a: 1}, b: {b: 1}}}", "pram takes p (the retention probability of sdc's invariant matrix) or matrix (your own transition matrix), one of the two"),
        ("{matrix: {a: {a: 0.5, b: 0.4}, b: {b: 1}}}", "pram.matrix row 'a' sums to 0.9; each row must sum to 1"),
        ("{matrix: {a: {c: 1}, b: {b: 1}}}", "pram.matrix row 'a' moves to ['c'], which have no row of their own; give every category a row"),
        ("{matrix: {a: {a: 1}, b: {b: 1}}, strata: [region]}", "a given pram.matrix applies to every record alike; strata are for p (one invariant matrix per stratum)"),
    ],
)  # fmt: skip
def test_bad_pram_entries(pram_text: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        policy(pram_text)
    assert str(err.value) == f"p.yaml line 5: columns.hiv.pram: {message}"


def test_strata_must_be_released_columns() -> None:
    with pytest.raises(PolicyError) as err:
        policy("{p: 0.8, strata: [village]}")
    assert str(err.value) == (
        "p.yaml line 5: 'village' is not a released column of the policy; strata must be "
        "columns kept in the release (other than the PRAM column itself)"
    )


def test_a_category_without_a_row_is_refused() -> None:
    df = survey()
    with pytest.raises(DataError) as err:
        pram(df, "hiv", matrix={"neg": {"neg": 1.0}, "pos": {"pos": 1.0}}, seed=1)
    assert str(err.value) == (
        "column 'hiv' holds ['unknown'], which pram.matrix has no row for; its rows: ['neg', 'pos']"
    )


def test_policy_show_says_p_is_not_sdcmicros_pd(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICY.replace("PRAM", "{p: 0.9}"))
    code, out, _ = run("policy", "show", str(tmp_path / "p.yaml"))
    assert code == 0
    assert out.endswith(
        "# pram.p is the retention probability of sdc's base matrix, not sdcMicro's pd: "
        "sdcMicro draws\n# each diagonal from U[pd, 1], so its pd = 0.8 behaves like p = 0.9 "
        "here.\n"
    )
