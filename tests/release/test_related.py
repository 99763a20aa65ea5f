"""Repeat groups released with their main records: one shared pseudonymous link, no raw key.

The attack of issue 18: a Kobo members sheet released with its raw ``_parent_index`` beside
a main file kept in input order joins back (row N is ``_parent_index`` N), and the joined
household makes nearly every respondent unique.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.io import read_table
from sdc.policy import load_policy
from sdc.release.check import check_bundle
from sdc.release.related import read_related, shuffled
from sdc.workflow import run_check, run_release
from tests.release._repeat_surveys import KOBO_POLICY, ODK_POLICY, kobo_workbook, odk_csvs

HEX = r"[0-9a-f]{16}"


def _joined_counts(
    main: pd.DataFrame, mq: list[str], kids: pd.DataFrame, link: tuple[str, str], kq: list[str]
) -> list[int]:
    """Brute force: how many main records share each one's own values and members' multiset."""
    column, to = link
    groups: dict[object, list[tuple[object, ...]]] = {key: [] for key in main[to]}
    for key, *values in (
        kids[[column, *kq]]
        .astype(object)
        .where(kids[[column, *kq]].notna(), None)
        .itertuples(index=False)
    ):
        groups[key].append(tuple(values))
    own = main[[to, *mq]].astype(object).where(main[[to, *mq]].notna(), None)
    keys = [
        (tuple(values), tuple(sorted(groups[key], key=repr)))
        for key, *values in own.itertuples(index=False)
    ]
    counts = Counter(keys)
    return [counts[k] for k in keys]


@pytest.fixture
def kobo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    data = kobo_workbook(tmp_path)
    policy = tmp_path / "kobo.yaml"
    policy.write_text(KOBO_POLICY)
    return data, policy


def test_the_issues_attack_joins_the_raw_files_but_not_the_release(
    kobo: tuple[Path, Path], tmp_path: Path
) -> None:
    data, policy = kobo
    main = read_table(data, sheet="survey").frame
    kids = read_table(data, sheet="members").frame
    # the attack on raw exports: members' _parent_index N is main row N
    main_by_row = main.assign(row=np.arange(1, len(main) + 1))
    counts = _joined_counts(
        main_by_row, ["sex", "region"], kids, ("_parent_index", "row"), ["m_sex", "m_age"]
    )
    assert sum(c == 1 for c in counts) / len(main) > 0.9
    out = tmp_path / "rel"
    result = run_release(data, policy, out, sheet="survey")
    released = read_table(out / "microdata.csv").frame
    members = read_table(out / "members.csv").frame
    # no raw link: neither the row numbers nor the input's keys appear
    assert members["_parent_index"].astype(str).str.fullmatch(HEX).all()
    assert released["_index"].astype(str).str.fullmatch(HEX).all()
    raw = set(kids["_parent_index"].astype(str)) | set(main["_index"].astype(str))
    assert not raw & set(members["_parent_index"].astype(str))
    assert not {"_index", "_submission__id", "_submission__uuid"} & set(members.columns)
    # joinable within the release: every member finds its household
    assert set(members["_parent_index"]) <= set(released["_index"])
    # row N of the release is not input row N (a random order)
    assert released["_index"].tolist() != result.microdata.frame["_index"].tolist()
    # joined in the release, no household is below k = 3 (brute force)
    counts = _joined_counts(
        released, ["sex", "region"], members, ("_parent_index", "_index"), ["m_sex", "m_age"]
    )
    blank = released[["sex", "region"]].isna().all(axis=1).to_numpy()
    member_blank = (
        members[["m_sex", "m_age"]].isna().all(axis=1).groupby(members["_parent_index"]).all()
    )
    all_blank = blank & released["_index"].map(member_blank).fillna(True).to_numpy()
    assert all(c >= 3 or b for c, b in zip(counts, all_blank, strict=True))


def test_kobo_workbook_released_together_and_checked(
    kobo: tuple[Path, Path], tmp_path: Path
) -> None:
    data, policy = kobo
    out = tmp_path / "rel"
    result = run_release(data, policy, out, sheet="survey")
    assert result.pseudonym_key is not None and result.pseudonym_key.exists()
    manifest = json.loads((out / "manifest.json").read_text())
    (members,) = manifest["related"]
    assert members["name"] == "members" and members["sheet"] == "members"
    assert members["link"] == {
        "column": "_parent_index",
        "to": "_index",
        "pseudonym": "hmac-sha256, per release",
    }
    assert members["rows"] == members["input_rows"] == manifest["outputs"]["members.csv"]["rows"]
    assert manifest["joined"]["smallest_key"] >= 3
    assert manifest["joined"]["suppression_share"] <= 0.3
    assert {"members.csv", "members.parquet"} <= set(manifest["outputs"])
    check = run_check(out, policy, data=data, sheet="survey")
    assert check.passed, [i for i in check.items if not i.passed]
    names = [i.name for i in check.items]
    assert {
        "related members",
        "joined view",
        "links",
        "row order",
        "related members input values",
    } <= set(names)


def test_odk_csvs_released_together_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    data, repeat = odk_csvs(tmp_path)
    policy = tmp_path / "odk.yaml"
    policy.write_text(ODK_POLICY)
    out = tmp_path / "rel"
    run_release(data, policy, out)
    released = read_table(out / "microdata.csv").frame
    incidents = read_table(out / "incidents.csv").frame
    raw = read_table(repeat).frame
    assert set(incidents["PARENT_KEY"]) <= set(released["KEY"])
    assert not set(raw["PARENT_KEY"]) & set(incidents["PARENT_KEY"])
    assert "uuid:" not in (out / "incidents.csv").read_text()
    assert "uuid:" not in (out / "microdata.csv").read_text()
    # the same household keeps its members: sizes agree with the input's
    sizes_in = sorted(raw.groupby("PARENT_KEY").size().tolist())
    sizes_out = sorted(incidents.groupby("PARENT_KEY").size().tolist())
    assert sizes_in == sizes_out
    check = run_check(out, policy, data=data)
    assert check.passed, [i for i in check.items if not i.passed]


def _forge(out: Path, name: str, frame: pd.DataFrame) -> None:
    """Rewrite a bundle file and its manifest hash, as a forger would."""
    frame.to_csv(out / f"{name}.csv", index=False)
    frame.to_parquet(out / f"{name}.parquet", index=False)
    manifest = json.loads((out / "manifest.json").read_text())
    for file in (f"{name}.csv", f"{name}.parquet"):
        digest = hashlib.sha256((out / file).read_bytes()).hexdigest()
        manifest["outputs"][file]["sha256"] = digest
    (out / "manifest.json").write_text(json.dumps(manifest))


def test_a_forged_bundle_with_the_raw_link_fails_the_check(
    kobo: tuple[Path, Path], tmp_path: Path
) -> None:
    data, policy = kobo
    out = tmp_path / "rel"
    run_release(data, policy, out, sheet="survey")
    forged = tmp_path / "forged"
    shutil.copytree(out, forged)
    kids = read_table(data, sheet="members").frame
    members = read_table(forged / "members.csv").frame
    members["_parent_index"] = kids["_parent_index"].to_numpy()[: len(members)]
    _forge(forged, "members", members)
    check = run_check(forged, policy, data=data, sheet="survey")
    failed = {i.name: i.detail for i in check.items if not i.passed}
    n = len(members)
    assert failed["related members"] == (
        f"_parent_index: {n} value(s) are not keyed pseudonyms (16 lowercase hex digits); "
        f"{n} record(s) have a _parent_index that is no _index of microdata.csv (they join "
        "to nothing in this release)"
    )
    assert (
        failed["links"] == f"{len(members)} released link value(s) are raw key values of the input"
    )


def test_a_forged_bundle_in_input_order_fails_the_check(
    kobo: tuple[Path, Path], tmp_path: Path
) -> None:
    data, policy = kobo
    out = tmp_path / "rel"
    result = run_release(data, policy, out, sheet="survey")
    assert result.microdata is not None
    _forge(out, "microdata", result.microdata.frame)  # the records as treated: input order
    check = run_check(out, policy, data=data, sheet="survey")
    failed = {i.name: i.detail for i in check.items if not i.passed}
    assert failed == {
        "row order": "records in the input's order (row N is input record N): microdata.csv"
    }


def test_a_household_below_k_on_the_joined_view_fails_the_check(
    kobo: tuple[Path, Path], tmp_path: Path
) -> None:
    data, policy = kobo
    out = tmp_path / "rel"
    run_release(data, policy, out, sheet="survey")
    members = read_table(out / "members.csv").frame
    # one household gets 4 extra members: no household of the input has more than 3. The
    # copied member has its quasi-identifiers (a household blank in every one of them is
    # suppressed on the joined view and never below k).
    shown = members[["m_sex", "m_age"]].notna().all(axis=1)
    one = members.loc[shown, "_parent_index"].iloc[0]
    extra = pd.concat([members[(members["_parent_index"] == one) & shown].iloc[:1]] * 4)
    members = pd.concat([members, extra], ignore_index=True)
    _forge(out, "members", members)
    item = next(i for i in check_bundle(out, load_policy(policy)).items if i.name == "joined view")
    assert not item.passed
    assert re.fullmatch(
        r"\d+ household\(s\) have a joined key shared by fewer than k = 3 households "
        r"\(smallest 1\)",
        item.detail,
    )


def test_a_main_key_with_repeated_values_is_refused(
    kobo: tuple[Path, Path], tmp_path: Path
) -> None:
    from sdc.errors import DataError
    from sdc.release.related import check_links

    data, policy_path = kobo
    policy = load_policy(policy_path)
    table = read_table(data, sheet="survey")
    related = read_related(policy, table)
    frame = table.frame.copy()
    frame.loc[1, "_index"] = frame.loc[0, "_index"]
    with pytest.raises(
        DataError, match=r"^survey.xlsx: _index \(the key related.0 links to\) repeats 1 value\(s\)"
    ):
        check_links(policy, type(table)(frame, table.path, table.format, table.sha256), related)


def test_two_related_tables_share_one_link(kobo: tuple[Path, Path], tmp_path: Path) -> None:
    data, policy = kobo
    text = policy.read_text()
    second = text[text.index("  - name: members") :].replace("name: members", "name: roster")
    second = second.replace("m_sex: {role: quasi}", "m_sex: {role: sensitive}")
    second = second.replace(
        "m_age: {role: quasi, recode: {bands: [0, 18, 120]}}", "m_age: {role: sensitive}"
    )
    policy.write_text(text + second)
    out = tmp_path / "rel"
    run_release(data, policy, out, sheet="survey")
    members = read_table(out / "members.csv").frame
    roster = read_table(out / "roster.csv").frame
    released = read_table(out / "microdata.csv").frame
    assert set(members["_parent_index"]) == set(roster["_parent_index"])
    assert set(roster["_parent_index"]) <= set(released["_index"])
    check = run_check(out, policy, data=data, sheet="survey")
    assert check.passed, [i for i in check.items if not i.passed]


def test_a_shuffle_never_shows_the_input_sequence() -> None:
    # Two equal pairs: a random order keeps the visible sequence 1 time in 6; the pseudonym
    # column differs in every row but shows no place, so it does not count.
    frame = pd.DataFrame(
        {"sex": ["F", "F", "M", "M"], "age": [30, 30, 40, 40], "pid": list("abcd")}
    )
    text = frame[["sex", "age"]].astype(str).to_numpy()
    for _ in range(200):
        out = shuffled(frame, hidden={"pid"})
        assert not (out[["sex", "age"]].astype(str).to_numpy() == text).all()
        assert sorted(out["pid"]) == list("abcd")
    # all records alike: no order to hide
    same = pd.DataFrame({"sex": ["F"] * 3})
    assert shuffled(same)["sex"].tolist() == ["F"] * 3
