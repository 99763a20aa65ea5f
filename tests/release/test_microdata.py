"""Every microdata treatment path through a policy: the data, the manifest, no seeds."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sdc.errors import PolicyNotMet
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.microdata import remove_identifiers, treat_microdata
from sdc.release.pipeline import ReleaseResult, release
from sdc.risk.frequencies import encode_keys, key_frequencies, protection_counts

SEED = 918273645
KEY = "a-test-key-of-32-characters-long!"

VILLAGES = {"A": "North", "B": "North", "C": "South", "D": "South", "E": "South"}


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", KEY)


def survey(n: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "name": [f"Zq Person {i}" for i in range(n)],
            "pid": [f"ID{i % 70:04d}" for i in range(n)],
            "age": rng.integers(16, 90, n),
            "sex": rng.choice(["f", "m"], n),
            "village": rng.choice(list(VILLAGES), n),
            "postcode": rng.choice(["41230", "41277", "52110", "52199"], n),
            "visit": [f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "lat": np.round(rng.uniform(-3.0, -1.0, n), 5),
            "hh_size": rng.integers(0, 12, n),
            "hiv": rng.choice(["pos", "neg"], n, p=[0.2, 0.8]),
            "income": rng.integers(0, 5000, n),
            "notes": ["call me" for _ in range(n)],
        }
    )


HEAD = """\
version: 1
name: paths
unlisted: drop
columns:
  name: {{role: direct}}
  pid: {{role: direct, action: pseudonymize}}
  notes: {{role: drop}}
  sex: {{role: quasi}}
{columns}
thresholds: {{k: 2, max_suppression: 0.5{extra}}}
outputs:
  microdata: {microdata}
"""


def run(
    tmp_path: Path,
    columns: str,
    microdata: str = "{treatments: [recode, suppress]}",
    *,
    extra: str = "",
    frame: pd.DataFrame | None = None,
    files: dict[str, str] | None = None,
) -> tuple[ReleaseResult, pd.DataFrame, dict[str, Any], str]:
    """Release with ``SEED``; return the result, the input, the manifest and its text."""
    data = tmp_path / "survey.csv"
    (survey() if frame is None else frame).to_csv(data, index=False)
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    text = HEAD.format(columns=columns, microdata=microdata, extra=extra)
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    table = read_table(data)
    result = release(table, policy, tmp_path / "rel", seed=SEED, ledger=Ledger(tmp_path / "l"))
    manifest_text = (tmp_path / "rel" / "manifest.json").read_text()
    assert str(SEED) not in manifest_text
    assert str(SEED) not in (tmp_path / "rel" / "report.html").read_text()
    assert KEY not in manifest_text
    manifest = json.loads(manifest_text)
    for t in manifest["microdata"]["treatments"]:
        assert "private" not in t and "seed" not in t["parameters"]
    assert manifest["microdata"]["seed"].startswith("withheld")
    assert manifest["non_dp_seed_given"] is True
    assert check_bundle(tmp_path / "rel", policy).passed
    return result, table.frame, manifest, manifest_text


def treatment(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in manifest["microdata"]["treatments"] if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in manifest["microdata"]["treatments"]]
    return found[0]


def released(result: ReleaseResult) -> pd.DataFrame:
    assert result.microdata is not None
    return result.microdata.frame


@dataclass(frozen=True)
class Path_:
    """One treatment path: policy lines, the record expected, a check of the data."""

    columns: str
    name: str
    treated: list[str]
    parameters: dict[str, Any]
    check: Callable[[pd.DataFrame, pd.DataFrame], None]
    microdata: str = "{treatments: [recode, suppress]}"
    files: dict[str, str] = field(default_factory=dict)


def _bands(before: pd.DataFrame, after: pd.DataFrame) -> None:
    # top code 80 falls in the band [60, 90): that band becomes the open top band
    assert set(after["age"].dropna()) <= {"0-29", "30-59", "60+"}
    kept = after["age"].notna()
    assert (kept & (before["age"] >= 60)).sum() == (after["age"] == "60+").sum()
    assert (kept & (before["age"] < 30)).sum() == (after["age"] == "0-29").sum()


def _map(before: pd.DataFrame, after: pd.DataFrame) -> None:
    kept = after["village"].notna()
    assert after.loc[kept, "village"].tolist() == before.loc[kept, "village"].map(VILLAGES).tolist()


def _prefix(before: pd.DataFrame, after: pd.DataFrame) -> None:
    kept = after["postcode"].notna()
    want = before.loc[kept, "postcode"].astype(str).str[:3].tolist()
    assert after.loc[kept, "postcode"].astype(str).tolist() == want


def _date(before: pd.DataFrame, after: pd.DataFrame) -> None:
    kept = after["visit"].notna()
    assert after.loc[kept, "visit"].tolist() == before.loc[kept, "visit"].str[:7].tolist()


def _grid(before: pd.DataFrame, after: pd.DataFrame) -> None:
    lat = after["lat"].dropna().to_numpy(dtype=float)
    assert np.allclose(lat / 0.5, np.round(lat / 0.5))
    kept = after["lat"].notna()
    gap = np.abs(after.loc[kept, "lat"].astype(float) - before.loc[kept, "lat"])
    assert (gap <= 0.25 + 1e-9).all()


def _codes(before: pd.DataFrame, after: pd.DataFrame) -> None:
    kept = after["hh_size"].notna().to_numpy()
    assert kept.mean() > 0.5
    got = after["hh_size"].to_numpy(dtype=float, na_value=np.nan)[kept]
    assert got.tolist() == before["hh_size"].clip(1, 6).to_numpy(dtype=float)[kept].tolist()


def _pram(before: pd.DataFrame, after: pd.DataFrame) -> None:
    assert set(after["hiv"]) <= {"pos", "neg"}
    assert len(after) == len(before)


def _mdav(before: pd.DataFrame, after: pd.DataFrame) -> None:
    sizes = after["income"].value_counts()
    assert sizes.min() >= 3
    assert after["income"].mean() == pytest.approx(before["income"].mean())


def _noise(before: pd.DataFrame, after: pd.DataFrame) -> None:
    x = after["income"].to_numpy(dtype=float)
    assert ((x >= 0) & (x <= 5000)).all()
    assert (x != before["income"].to_numpy(dtype=float)).mean() > 0.9


def _suppress(before: pd.DataFrame, after: pd.DataFrame) -> None:
    fk = protection_counts(encode_keys(after, ["sex", "age"], "wildcard"), "category")
    assert fk.min() >= 2
    assert after[["sex", "age"]].isna().any(axis=1).sum() >= 1  # some 5-year bands are rare


HIERARCHY = "".join(f"{v};{d};*\n" for v, d in VILLAGES.items())

PATHS = {
    "bands+top_code": Path_(
        "  age: {role: quasi, recode: {bands: [0, 30, 60, 90]}, top_code: 80}",
        "recode.bands",
        ["age"],
        {"breaks": [0.0, 30.0, 60.0, 90.0], "top_code": 80.0},
        _bands,
    ),
    "map+level": Path_(
        "  village: {role: quasi, recode: {map: v.csv, level: 1}}",
        "recode.map",
        ["village"],
        {"level": 1, "levels": 3},
        _map,
        files={"v.csv": HIERARCHY},
    ),
    "prefix": Path_(
        "  postcode: {role: quasi, recode: {prefix: 3}}",
        "recode.prefix",
        ["postcode"],
        {"length": 3},
        _prefix,
    ),
    "date": Path_(
        "  visit: {role: quasi, recode: {date: month}}",
        "recode.date",
        ["visit"],
        {"unit": "month"},
        _date,
    ),
    "grid": Path_(
        "  lat: {role: quasi, recode: {grid: 0.5}}",
        "recode.grid",
        ["lat"],
        {"step": 0.5},
        _grid,
    ),
    "top+bottom code": Path_(
        "  hh_size: {role: quasi, top_code: 6, bottom_code: 1}",
        "top_code",
        ["hh_size"],
        {"value": 6.0},
        _codes,
    ),
    "pram": Path_(
        "  hiv: {role: sensitive, pram: {p: 0.7, alpha: 0.5}}",
        "pram",
        ["hiv"],
        {"p": 0.7, "alpha": 0.5, "invariant": True},
        _pram,
        microdata="{treatments: [recode, pram, suppress]}",
    ),
    "microaggregation": Path_(
        "  income: {role: sensitive, microaggregation: {k: 3}}",
        "microaggregation",
        ["income"],
        {"k": 3, "method": "mdav"},
        _mdav,
        microdata="{treatments: [microaggregation, suppress]}",
    ),
    "noise": Path_(
        "  income: {role: sensitive, noise: {sd: 0.2}, bounds: [0, 5000]}",
        "noise",
        ["income"],
        {"sd": 0.2, "method": "additive", "bounds": {"income": [0.0, 5000.0]}},
        _noise,
        microdata="{treatments: [noise, suppress]}",
    ),
    "suppress": Path_(
        "  age: {role: quasi, importance: 2, recode: {bands: [0, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85]}}\n"
        "  village: {role: other}",
        "local_suppression",
        ["sex", "age"],
        {"k": 2, "missing": "category", "importance": {"age": 2}},
        _suppress,
    ),
}


@pytest.mark.parametrize("case", list(PATHS), ids=list(PATHS))
def test_treatment_path(tmp_path: Path, case: str) -> None:
    path = PATHS[case]
    result, before, manifest, _ = run(tmp_path, path.columns, path.microdata, files=path.files)
    record = treatment(manifest, path.name)
    assert record["columns"] == path.treated
    for key, value in path.parameters.items():
        assert record["parameters"][key] == value, key
    after = released(result)
    path.check(before, after)
    # the written file holds the same values
    on_disk = read_table(tmp_path / "rel" / "microdata.csv").frame
    for col in path.treated:  # records are written in a random order: compare counts
        assert int(on_disk[col].isna().sum()) == int(after[col].isna().sum())
    # identifiers go first, in every path
    names = [t["name"] for t in manifest["microdata"]["treatments"]]
    assert names[:3] == ["pseudonymize", "drop", "drop"]
    assert manifest["microdata"]["columns"] == list(map(str, after.columns))


def test_top_and_bottom_code_are_two_records(tmp_path: Path) -> None:
    _, before, manifest, _ = run(tmp_path, PATHS["top+bottom code"].columns)
    top = treatment(manifest, "top_code")
    bottom = treatment(manifest, "bottom_code")
    assert bottom["parameters"] == {"value": 1.0}
    assert top["changed"] == {"hh_size": int((before["hh_size"] > 6).sum())}
    assert bottom["changed"] == {"hh_size": int((before["hh_size"] < 1).sum())}


def test_pram_record_and_reproducibility(tmp_path: Path) -> None:
    case = PATHS["pram"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, before, manifest, _ = run(tmp_path / "a", case.columns, case.microdata)
    two, _, _, _ = run(tmp_path / "b", case.columns, case.microdata)
    record = treatment(manifest, "pram")
    changed = int((released(one)["hiv"] != before["hiv"]).sum())
    assert record["changed"] == {"hiv": changed}
    matrix = np.array(record["details"]["matrix"])
    assert np.allclose(matrix.sum(axis=1), 1.0)
    # the same seed gives the same release (the seed stays with the steward)
    assert released(one)["hiv"].tolist() == released(two)["hiv"].tolist()
    assert one.microdata is not None and one.microdata.seed == SEED


def test_generalize_auto_with_hierarchy_files(tmp_path: Path) -> None:
    ages = "".join(
        f"{a};{a // 10 * 10}-{a // 10 * 10 + 9};{'<50' if a < 50 else '50+'};*\n"
        for a in range(0, 100)
    )
    columns = (
        "  age: {role: quasi, recode: {map: age.csv}}\n"
        "  village: {role: quasi, recode: {map: v.csv}}"
    )
    result, before, manifest, _ = run(
        tmp_path,
        columns,
        "{generalize: auto}",
        files={"age.csv": ages, "v.csv": HIERARCHY},
    )
    record = treatment(manifest, "generalize.auto")
    assert record["columns"] == ["age", "village"]
    levels = record["details"]["levels"]
    assert set(levels) == {"age", "village"}
    assert record["parameters"]["k"] == 2 and record["parameters"]["max_suppression"] == 0.5
    assert record["details"]["nodes_checked"] <= record["details"]["lattice_size"] == 4 * 3
    assert "local_suppression" not in [t["name"] for t in manifest["microdata"]["treatments"]]
    after = released(result)
    fk = key_frequencies(encode_keys(after, ["sex", "age", "village"], "wildcard")).fk
    assert fk.min() >= 2
    assert manifest["microdata"]["suppressed_records"] == record["details"]["suppressed_records"]
    kept = after["village"].notna()
    if levels["village"] == 1:
        assert (
            after.loc[kept, "village"].tolist()
            == before.loc[kept, "village"].map(VILLAGES).tolist()
        )


def test_generalize_auto_without_hierarchies_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyNotMet, match="generalize: auto needs"):
        run(tmp_path, "  age: {role: quasi, recode: {bands: [0, 50]}}", "{generalize: auto}")
    assert not (tmp_path / "rel").exists()


def test_remove_identifiers_alone(tmp_path: Path) -> None:
    text = HEAD.format(columns="  age: {role: quasi}", microdata="{}", extra="")
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    frame = survey(10)
    out, done = remove_identifiers(frame, policy)
    assert [t.name for t in done] == ["pseudonymize", "drop", "drop", "drop"]
    assert [t.parameters["role"] for t in done[1:]] == ["direct", "drop", "unlisted"]
    assert "name" not in out and "notes" not in out
    assert out["pid"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert done[0].parameters["key_source"] == "per-release"
    assert done[0].parameters["linkable"] is False
    key = tmp_path / "key"
    key.write_text("another-key-of-at-least-16-chars\n")
    linkable = parse_policy(
        text.replace("action: pseudonymize}", "action: pseudonymize, linkable: true}"),
        source=tmp_path / "p.yaml",
    )
    with_file, done2 = remove_identifiers(frame, linkable, key_file=key)
    assert done2[0].parameters["key_source"] == "file"
    assert done2[0].parameters["linkable"] is True
    assert (with_file["pid"] != out["pid"]).all()
    assert frame["name"].iloc[0] == "Zq Person 0"  # the input is not modified


def test_suppression_limit_names_the_fix(tmp_path: Path) -> None:
    text = HEAD.format(
        columns="  age: {role: quasi}", microdata="{treatments: [suppress]}", extra=""
    )
    text = text.replace("max_suppression: 0.5", "max_suppression: 0.02").replace("k: 2", "k: 4")
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    with pytest.raises(
        PolicyNotMet, match=r"k = 4 cannot be reached within max_suppression 2\.0%: \d+ of the"
    ):
        treat_microdata(survey(), policy, seed=1)


def test_prefix_keeps_leading_zeros(tmp_path: Path) -> None:
    frame = survey()
    frame["postcode"] = np.where(np.arange(len(frame)) % 2, "01234", "01299")
    result, _, _, _ = run(tmp_path, "  postcode: {role: quasi, recode: {prefix: 3}}", frame=frame)
    assert set(released(result)["postcode"].dropna()) == {"012"}
