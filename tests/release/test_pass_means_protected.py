"""A PASS means protected: ``release`` and ``check`` attacked through the real path.

Policies are YAML text (``parse_policy``), treatment is ``treat_microdata`` or the whole
``release`` into a temporary folder, verification is ``check_bundle``. Every figure is
recounted here by brute force (``tests.anonymize.test_suppress_properties``), not with the
counting code the release itself uses.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.errors import PolicyNotMet
from sdc.io import read_table
from sdc.policy import Policy, parse_policy
from sdc.release.check import CheckResult, check_bundle
from sdc.release.ledger import Ledger
from sdc.release.microdata import treat_microdata
from sdc.release.pipeline import release
from sdc.risk.frequencies import encode_keys, key_frequencies
from sdc.workflow import assess
from tests.anonymize.test_suppress_properties import (
    SENSITIVE,
    Case,
    all_blank,
    cases,
    cover_count,
    exact_count,
    key_tuples,
    sdcmicro_below_k,
    worst_l,
    worst_share,
)
from tests.release.test_check_hardening import edit_manifest, item, replace_microdata

#: A refusal names the threshold it could not meet.
THRESHOLD = re.compile(
    r"\b(k|l|group_share|max_suppression|max_individual_risk|max_expected_reidentifications"
    r"|max_household_risk|max_expected_household_reidentifications)\b"
)


def policy_text(
    quasi: list[str],
    k: int,
    *,
    rule: str = "category",
    l: int | None = None,  # noqa: E741 - the measure is called l
    group_share: float | None = None,
    max_suppression: float = 1.0,
    sensitive: tuple[str, ...] = (SENSITIVE,),
    head: str = "",
    extra: str = "",
) -> str:
    limits = f"k: {k}, max_suppression: {max_suppression}"
    if l is not None:
        limits += f", l: {l}"
    if group_share is not None:
        limits += f", group_share: {group_share}"
    return (
        "version: 1\nname: attacked\n"
        + head
        + "columns:\n"
        + "".join(f"  {q}: {{role: quasi}}\n" for q in quasi)
        + "".join(f"  {s}: {{role: sensitive}}\n" for s in sensitive)
        + f"missing: {rule}\n"
        + f"thresholds: {{{limits}{extra}}}\n"
        + "outputs:\n  microdata: {treatments: [suppress]}\n"
    )


def case_policy(case: Case, max_suppression: float) -> Policy:
    return parse_policy(
        policy_text(
            case.quasi,
            case.k,
            rule=case.rule,
            l=case.l,
            group_share=case.group_share,
            max_suppression=max_suppression,
        )
    )


def assert_protected(frame: pd.DataFrame, case: Case) -> None:
    """Every guarantee of a PASS, recounted by brute force on the released records."""
    keys = key_tuples(frame, case.quasi)
    for i, key in enumerate(keys):
        if all_blank(key):
            continue
        if case.rule == "category":
            assert exact_count(keys, i) >= case.k, (i, key)
        else:
            assert cover_count(keys, i) >= case.k, (i, key)
    if case.l is not None:
        assert worst_l(frame, case.quasi) >= case.l
    if case.group_share is not None:
        assert worst_share(frame, case.quasi) < case.group_share


# --------------------------------------------------------------------------- properties


@settings(max_examples=100, deadline=None)
@given(cases(), st.sampled_from([0.1, 0.3, 1.0]))
def test_treated_microdata_meets_every_threshold_or_is_refused_naming_it(
    case: Case, max_suppression: float
) -> None:
    policy = case_policy(case, max_suppression)
    below = sdcmicro_below_k(case.frame, case.quasi, case.k)
    try:
        treated = treat_microdata(case.frame, policy, seed=1)
    except PolicyNotMet as exc:
        # with the suppression limit open, k, l and the group share can always be reached
        assert max_suppression < 1.0, str(exc)
        assert "max_suppression" in str(exc)
        return
    out = treated.frame
    assert_protected(out, case)
    # what release checks next: the recomputed report has no breach
    assert assess(out, policy, suda=False).breaches == []
    if case.rule == "wildcard":
        own_blank = out[case.quasi].isna().any(axis=1).to_numpy()
        assert not (below & ~own_blank).any()
    # every record that lost a value, or reveals no key, counts toward max_suppression
    newly = (out[case.quasi].isna() & case.frame[case.quasi].notna()).any(axis=1)
    blank = out[case.quasi].isna().all(axis=1)
    assert treated.suppressed_records == int((newly | blank).sum())
    assert treated.suppression_share <= max_suppression + 1e-12


@settings(max_examples=15, deadline=None)
@given(cases(), st.sampled_from([0.3, 1.0]))
def test_a_released_bundle_is_protected_and_passes_check(
    case: Case, max_suppression: float
) -> None:
    policy = case_policy(case, max_suppression)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        case.frame.to_csv(folder / "data.csv", index=False)
        try:
            release(
                read_table(folder / "data.csv"),
                policy,
                folder / "rel",
                seed=1,
                ledger=Ledger(folder / "ledger.jsonl"),
            )
        except PolicyNotMet as exc:
            assert max_suppression < 1.0, str(exc)
            assert THRESHOLD.search(str(exc)), str(exc)
            assert not (folder / "rel").exists()
            return
        published = read_table(folder / "rel" / "microdata.csv").frame
        assert_protected(published, case)
        result = check_bundle(folder / "rel", policy)
        assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]


# --------------------------------------------------------------------------- named attacks

QUASI = ["sex", "region", "band"]


def survey() -> pd.DataFrame:
    """60 records, 12 keys of 5, each with at least two sensitive values: k=3, l=2 hold."""
    rows = []
    for i in range(60):
        key = i % 12
        rows.append(
            {
                "sex": "fm"[key % 2],
                "region": "NSE"[(key // 2) % 3],
                "band": ("young", "old")[key // 6],
                SENSITIVE: "xyz"[(i // 12) % 3],
            }
        )
    return pd.DataFrame(rows)


def bundle_of(folder: Path, frame: pd.DataFrame, text: str) -> tuple[Path, Policy]:
    """Release ``frame`` under ``text`` into ``folder/rel``; return the bundle and policy."""
    (folder / "p.yaml").write_text(text, encoding="utf-8")
    policy = parse_policy(text, source=folder / "p.yaml")
    frame.to_csv(folder / "data.csv", index=False)
    release(
        read_table(folder / "data.csv"),
        policy,
        folder / "rel",
        seed=1,
        ledger=Ledger(folder / "ledger.jsonl"),
    )
    return folder / "rel", policy


def failures(result: CheckResult) -> dict[str, str]:
    return {i.name: i.detail for i in result.items if not i.passed}


def test_the_reference_bundle_passes(tmp_path: Path) -> None:
    bundle, policy = bundle_of(tmp_path, survey(), policy_text(QUASI, 3, l=2))
    result = check_bundle(bundle, policy)
    assert failures(result) == {}
    assert item(result, "risk").detail == (
        "recomputed (category rule): smallest group 5 >= k 3; every risk threshold holds"
    )


def test_ca_alaska_release_blanks_the_ca_records_own_state(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [("CA", 1, 4, 1, "x"), (None, 1, 4, 1, "y"), (None, 1, 4, 1, "z")]
        + [(("AK", "WA", "OR")[i % 3], 2, 3, 1, "xy"[i % 2]) for i in range(12)],
        columns=["state", "a", "b", "c", SENSITIVE],
    )
    quasi = ["state", "a", "b", "c"]
    text = policy_text(quasi, 3, rule="wildcard", max_suppression=0.1)
    result_dir, policy = bundle_of(tmp_path, frame, text)
    published = read_table(result_dir / "microdata.csv").frame
    # records are released in a random order: the CA-alike records are those with a = 1
    assert published.loc[published["a"] == 1, "state"].isna().tolist() == [True, True, True]
    assert published["state"].notna().sum() == 12
    assert check_bundle(result_dir, policy).passed
    # the risk reports hold both rules' figures: before, sdcMicro's count hides the CA
    # record (wildcard: 1 record below k, the CA one) where blank-as-a-value shows three
    before = json.loads((result_dir / "risk-before.json").read_text())["k_rules"]
    after = json.loads((result_dir / "risk-after.json").read_text())["k_rules"]
    assert before == {
        "wildcard": {"k": 3, "records_below_k": 1, "smallest_key": 1, "suppressed_records": 0},
        "category": {"k": 3, "records_below_k": 3, "smallest_key": 1, "suppressed_records": 0},
    }
    assert after == {
        "wildcard": {"k": 3, "records_below_k": 0, "smallest_key": 3, "suppressed_records": 0},
        "category": {"k": 3, "records_below_k": 0, "smallest_key": 3, "suppressed_records": 0},
    }


@pytest.mark.parametrize("rule", ["category", "wildcard"])
def test_a_mostly_missing_rare_column_goes_out_without_unique_holders(
    tmp_path: Path, rule: str
) -> None:
    """hiv_clinic: 15 clinics among 1% of 2,000 records; the rest blank."""
    rng = np.random.default_rng(12)
    n = 2000
    clinic = np.full(n, None, dtype=object)
    holders = rng.choice(n, 20, replace=False)
    clinic[holders] = [f"C{j:02d}" for j in [*range(15), *rng.integers(0, 15, 5).tolist()]]
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "region": rng.choice(["N", "S", "E", "W"], n),
            "hiv_clinic": clinic,
            SENSITIVE: rng.choice(["x", "y"], n),
        }
    )
    quasi = ["sex", "region", "hiv_clinic"]
    policy = parse_policy(policy_text(quasi, 3, rule=rule, max_suppression=0.05))
    assert [b.name for b in assess(frame, policy, suda=False).breaches] == ["k"]
    treated = treat_microdata(frame, policy, seed=1)
    assert treated.suppressed_values == {"sex": 0, "region": 0, "hiv_clinic": 20}
    assert treated.suppressed_records == 20
    # no released clinic value identifies its holder (here: none is left)
    keys = key_tuples(treated.frame, quasi)
    shown = [i for i, key in enumerate(keys) if key[2] is not None]
    assert all(exact_count(keys, i) >= 3 for i in shown)
    assert assess(treated.frame, policy, suda=False).breaches == []


def test_a_unique_id_given_as_quasi_is_refused_within_the_suppression_limit(
    tmp_path: Path,
) -> None:
    frame = survey().assign(rid=[f"R{i:03d}" for i in range(60)])
    text = policy_text(["rid", *QUASI], 3, max_suppression=0.05)
    with pytest.raises(PolicyNotMet) as caught:
        bundle_of(tmp_path, frame, text)
    assert str(caught.value).startswith(
        "k = 3 cannot be reached within max_suppression 5.0%: 60 of the 60 records (100.0%) "
        "are in a combination of the 4 quasi-identifiers that fewer than 3 records share, and "
        "each of them would lose a value (checked before suppressing anything). "
    )
    assert "values after the recodes: rid (60), " in str(caught.value)
    assert not (tmp_path / "rel").exists()


def test_records_blank_in_the_input_count_toward_max_suppression(tmp_path: Path) -> None:
    """4 of 60 records reveal no key before any treatment: 6.7% > 5%, refused, saying so."""
    frame = survey()
    frame.loc[:3, QUASI] = None
    text = policy_text(QUASI, 3, max_suppression=0.05)
    assert assess(frame, parse_policy(text), suda=False).breaches == []
    with pytest.raises(PolicyNotMet) as caught:
        bundle_of(tmp_path, frame, text)
    assert str(caught.value) == (
        "k = 3 needs 4 records (6.7%) with a suppressed value (4 of them blank in every "
        "quasi-identifier in the input: they reveal no key and count as suppressed), above "
        "max_suppression 5.0%; recode the quasi-identifiers more coarsely (recode: bands or "
        "map), use generalize: auto, or raise thresholds.max_suppression"
    )


# --------------------------------------------------------------------------- forged bundles


def test_a_forged_key_below_k_under_the_category_rule_fails_check(tmp_path: Path) -> None:
    bundle, policy = bundle_of(tmp_path, survey(), policy_text(QUASI, 3))
    forged = read_table(bundle / "microdata.csv").frame
    forged.loc[0, "region"] = "W"  # one record alone in a new region
    replace_microdata(bundle, forged)
    result = check_bundle(bundle, policy)
    assert failures(result) == {"risk": "k is 1 (limit 3)"}


def test_a_forged_blank_is_a_value_under_the_category_rule(tmp_path: Path) -> None:
    """Blanking one value must not hide a record among everyone (the wildcard loophole)."""
    bundle, policy = bundle_of(tmp_path, survey(), policy_text(QUASI, 3))
    forged = read_table(bundle / "microdata.csv").frame
    forged.loc[0, "region"] = None
    assert key_frequencies(encode_keys(forged, QUASI, "wildcard")).fk[0] >= 3
    replace_microdata(bundle, forged)
    assert failures(check_bundle(bundle, policy)) == {"risk": "k is 1 (limit 3)"}


def test_a_complete_record_protected_only_by_others_blanks_fails_a_wildcard_check(
    tmp_path: Path,
) -> None:
    text = policy_text(QUASI, 3, rule="wildcard")
    bundle, policy = bundle_of(tmp_path, survey(), text)
    forged = read_table(bundle / "microdata.csv").frame
    # the only (f, W, young) record, next to two records whose region was blanked
    forged.loc[0, ["sex", "region", "band"]] = ["f", "W", "young"]
    forged.loc[[1, 2], ["sex", "region", "band"]] = ["f", None, "young"]
    assert key_frequencies(encode_keys(forged, QUASI, "wildcard")).fk[0] >= 3  # sdcMicro: safe
    replace_microdata(bundle, forged)
    assert failures(check_bundle(bundle, policy)) == {"risk": "k is 1 (limit 3)"}


def test_a_forged_group_without_diversity_fails_check_naming_l(tmp_path: Path) -> None:
    bundle, policy = bundle_of(tmp_path, survey(), policy_text(QUASI, 3, l=2))
    forged = read_table(bundle / "microdata.csv").frame
    first_key = forged[QUASI].eq(forged.loc[0, QUASI]).all(axis=1)
    forged.loc[first_key, SENSITIVE] = "x"  # everyone in the group has the same value
    replace_microdata(bundle, forged)
    assert failures(check_bundle(bundle, policy)) == {"risk": "l is 1 for s (limit 2)"}


def test_a_forged_homogeneous_group_fails_check_naming_group_share(tmp_path: Path) -> None:
    text = policy_text(QUASI, 3, group_share=0.8)
    bundle, policy = bundle_of(tmp_path, survey(), text)
    forged = read_table(bundle / "microdata.csv").frame
    first_key = forged[QUASI].eq(forged.loc[0, QUASI]).all(axis=1)
    forged.loc[first_key, SENSITIVE] = "x"
    replace_microdata(bundle, forged)
    assert failures(check_bundle(bundle, policy)) == {"risk": "group_share is 1 for s (limit 0.8)"}


def test_all_blank_records_in_the_released_file_count_toward_max_suppression(
    tmp_path: Path,
) -> None:
    bundle, policy = bundle_of(tmp_path, survey(), policy_text(QUASI, 3, max_suppression=0.05))
    forged = read_table(bundle / "microdata.csv").frame
    forged.loc[:29, QUASI] = None  # 50% of the records reveal no key
    replace_microdata(bundle, forged)
    edit_manifest(bundle, lambda m: m["microdata"].update(suppression_share=0.0))
    assert "suppression" in failures(check_bundle(bundle, policy))


# --------------------------------------------------------------------------- refusals


def test_household_risk_above_the_limit_is_refused_naming_it(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 60
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "y"], n),
            "b": rng.choice(["p", "q"], n),
            "hh": np.arange(n) // 3,
            SENSITIVE: rng.choice(["u", "v"], n),
        }
    )
    text = policy_text(
        ["a", "b"],
        2,
        max_suppression=0.5,
        head="data: {household: hh}\n",
        extra=", max_individual_risk: 0.2",
    )
    with pytest.raises(PolicyNotMet) as caught:
        bundle_of(tmp_path, frame, text)
    # k is raised until the household risk holds; before it does, every record is blank
    assert str(caught.value) == (
        "k = 2 (raised to k = 18 for max_household_risk) needs 60 records (100.0%) with a "
        "suppressed value, above max_suppression 50.0%; recode the quasi-identifiers more "
        "coarsely (recode: bands or map), use generalize: auto, or raise "
        "thresholds.max_suppression"
    )
    assert not (tmp_path / "rel").exists()


def test_expected_household_reidentifications_are_met_by_raising_k(tmp_path: Path) -> None:
    # every key group holds 5 records (risk 0.2 each); a household of 4 has risk
    # 1 - 0.8**4 = 0.5904, summed over its 60 members (sdcMicro's hier_risk_ER): 35.424 > 20
    frame = survey().assign(hh=np.arange(60) // 4)
    text = policy_text(
        QUASI,
        3,
        max_suppression=1.0,
        head="data: {household: hh}\n",
        extra=", max_expected_reidentifications: 20",
    )
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    frame.to_csv(tmp_path / "data.csv", index=False)
    result = release(
        read_table(tmp_path / "data.csv"),
        parse_policy(text, source=tmp_path / "p.yaml"),
        tmp_path / "rel",
        seed=1,
        ledger=Ledger(tmp_path / "ledger.jsonl"),
    )
    assert result.before.household_risk is not None
    assert result.before.household_risk.expected_reidentifications == pytest.approx(35.424)
    assert result.after is not None and result.after.household_risk is not None
    assert result.after.household_risk.expected_reidentifications <= 20
    record = next(t for t in result.microdata.treatments if t.name == "local_suppression")  # type: ignore[union-attr]
    assert record.parameters["raised_for"] == ("max_expected_household_reidentifications",)


def test_a_refusal_driven_by_l_names_l() -> None:
    frame = pd.DataFrame(
        {
            "a": ["x"] * 4 + ["y"] * 4 + ["z"] * 12,
            "b": ["p"] * 20,
            SENSITIVE: ["h"] * 4 + ["i", "j"] * 8,
        }
    )
    policy = parse_policy(policy_text(["a", "b"], 2, l=2, max_suppression=0.1))
    assert [b.name for b in assess(frame, policy, suda=False).breaches] == ["l"]
    with pytest.raises(PolicyNotMet) as caught:
        treat_microdata(frame, policy, seed=1)
    assert re.search(r"\bl\b", str(caught.value)), str(caught.value)


def test_a_file_whose_every_record_says_the_same_sensitive_value_fails_l() -> None:
    # Every key is blanked, but the file itself tells everyone's answer: whoever knows a
    # person took part learns x. With no key group to judge, l is judged on the whole file.
    frame = pd.DataFrame({"a": ["p", "q", "r"], "b": ["u", "v", "w"], SENSITIVE: ["x"] * 3})
    policy = parse_policy(policy_text(["a", "b"], 3, l=2, max_suppression=1.0))
    treated = treat_microdata(frame, policy, seed=1)
    assert treated.frame[["a", "b"]].isna().all(axis=None)
    assert treated.suppressed_records == 3
    assert [(b.name, b.value) for b in assess(treated.frame, policy, suda=False).breaches] == [
        ("l", 1)
    ]
