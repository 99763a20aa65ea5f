"""Pseudonyms are unlinkable across releases by default; linkable only when the policy asks."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pytest

from sdc.anonymize.identifiers import load_pseudonym_key, pseudonym
from sdc.errors import PolicyError
from sdc.policy import parse_policy
from tests.cli._runner import run

KEY = "a-test-key-of-32-characters-long!"

POLICY = """\
version: 1
name: small
columns:
  name: {{role: direct}}
  pid: {{role: direct, action: pseudonymize{linkable}}}
  age: {{role: quasi, recode: {{bands: [0, 30, 60]}}}}
  sex: {{role: quasi}}
  village: {{role: quasi}}
  hiv: {{role: sensitive}}
thresholds: {{k: {k}, max_suppression: 0.5}}
outputs:
  microdata: {{treatments: [recode, suppress]}}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = [
        {
            "name": f"Person {i}",
            "pid": f"P{i:03d}",
            "age": 20 + (i * 7) % 60,
            "sex": "f" if i % 3 else "m",
            "village": "ABC"[i % 3],
            "hiv": "pos" if i % 5 == 0 else "neg",
        }
        for i in range(60)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "survey.csv", index=False)
    write_policy(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SDC_PSEUDONYM_KEY", raising=False)
    return tmp_path


def write_policy(folder: Path, *, linkable: bool = False, k: int = 2) -> None:
    text = POLICY.format(linkable=", linkable: true" if linkable else "", k=k)
    (folder / "policy.yaml").write_text(text)


def release(out: str, *extra: str) -> tuple[int, str, str]:
    return run("release", "survey.csv", "-p", "policy.yaml", "--out", out, "--seed", "1", *extra)


def pseudonyms(folder: Path) -> set[str]:
    return set(pd.read_csv(folder / "microdata.csv")["pid"].astype(str))


def pseudonym_record(folder: Path) -> dict[str, object]:
    manifest = json.loads((folder / "manifest.json").read_text())
    (record,) = [t for t in manifest["microdata"]["treatments"] if t["name"] == "pseudonymize"]
    return dict(record["parameters"])


# --------------------------------------------------------------------------- per release


def test_two_releases_get_different_pseudonyms_by_default(workdir: Path) -> None:
    assert release("r1")[0] == 0
    assert release("r2")[0] == 0
    one, two = pseudonyms(workdir / "r1"), pseudonyms(workdir / "r2")
    assert len(one) == len(two) == 60
    assert not one & two  # nothing to join the two releases on


def test_the_per_release_key_is_kept_beside_the_bundle_for_the_steward(workdir: Path) -> None:
    code, out, err = release("r1")
    assert code == 0, err
    key_path = workdir / "r1.pseudonym-key"
    assert (
        "Pseudonym key of this release: r1.pseudonym-key (keep it private: it maps the "
        "pseudonyms back; never publish it).\n"
    ) in out
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    key, _ = load_pseudonym_key(key_path)
    assert len(key) == 64
    # the steward can map every pseudonym back to its identifier
    mapping = {pseudonym(f"P{i:03d}", key): f"P{i:03d}" for i in range(60)}
    assert set(mapping) == pseudonyms(workdir / "r1")
    # the key is nowhere in the bundle, and no temporary copy is left behind
    for path in (workdir / "r1").rglob("*"):
        if path.is_file():
            assert key not in path.read_bytes()
    assert key.decode() not in out + err
    assert sorted(p.name for p in workdir.iterdir()) == [
        "policy.yaml",
        "r1",
        "r1.pseudonym-key",
        "survey.csv",
    ]


def test_the_manifest_and_report_say_the_pseudonyms_are_per_release(workdir: Path) -> None:
    assert release("r1")[0] == 0
    assert pseudonym_record(workdir / "r1") == {
        "algorithm": "HMAC-SHA256",
        "length": 16,
        "key_source": "per-release",
        "linkable": False,
    }
    page = (workdir / "r1" / "report.html").read_text()
    assert "cannot be linked to those of any other release" in page


def test_an_existing_key_file_is_never_overwritten(workdir: Path) -> None:
    (workdir / "r1.pseudonym-key").write_text("the steward's earlier key\n")
    code, out, err = release("r1")
    assert (code, out) == (2, "")
    assert err == (
        "Error: r1.pseudonym-key: already exists (the pseudonym key of an earlier release); "
        "choose a new --out folder\n"
    )
    assert not (workdir / "r1").exists()
    assert (workdir / "r1.pseudonym-key").read_text() == "the steward's earlier key\n"


def test_force_replaces_the_bundle_and_its_key(workdir: Path) -> None:
    assert release("r1")[0] == 0
    first = (workdir / "r1.pseudonym-key").read_bytes()
    assert release("r1", "--force")[0] == 0
    second = (workdir / "r1.pseudonym-key").read_bytes()
    assert first != second
    key, _ = load_pseudonym_key(workdir / "r1.pseudonym-key")
    assert pseudonym("P000", key) in pseudonyms(workdir / "r1")
    assert stat.S_IMODE((workdir / "r1.pseudonym-key").stat().st_mode) == 0o600


def test_a_release_that_fails_keeps_no_key(workdir: Path) -> None:
    write_policy(workdir, k=40)
    code, _, _ = release("r1")
    assert code == 1
    assert sorted(p.name for p in workdir.iterdir()) == ["policy.yaml", "survey.csv"]


def test_the_environment_key_is_not_used_for_per_release_pseudonyms(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", KEY)
    assert release("r1")[0] == 0
    assert pseudonym("P000", KEY.encode()) not in pseudonyms(workdir / "r1")


def test_a_key_file_without_a_linkable_column_is_refused(workdir: Path) -> None:
    (workdir / "k.txt").write_text(KEY + "\n")
    code, out, err = release("r1", "--key-file", "k.txt")
    assert (code, out) == (2, "")
    assert err == (
        "Error: --key-file k.txt: a key file is only for linkable pseudonyms, and no column of "
        "the policy says linkable: true; without it each release gets a fresh key, kept beside "
        "the bundle as r1.pseudonym-key\n"
    )
    assert not (workdir / "r1").exists()


# --------------------------------------------------------------------------- linkable


def test_linkable_pseudonyms_are_the_same_in_every_release(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_policy(workdir, linkable=True)
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", KEY)
    assert release("r1")[0] == 0
    assert release("r2")[0] == 0
    one, two = pseudonyms(workdir / "r1"), pseudonyms(workdir / "r2")
    assert one == two == {pseudonym(f"P{i:03d}", KEY.encode()) for i in range(60)}
    assert not (workdir / "r1.pseudonym-key").exists()
    assert pseudonym_record(workdir / "r1")["linkable"] is True
    assert pseudonym_record(workdir / "r1")["key_source"] == "environment"
    page = (workdir / "r1" / "report.html").read_text()
    assert "so releases can be linked on it" in page


def test_linkable_pseudonyms_with_a_key_file(workdir: Path) -> None:
    write_policy(workdir, linkable=True)
    (workdir / "k.txt").write_text(KEY + "\n")
    code, out, _ = release("r1", "--key-file", "k.txt")
    assert code == 0
    assert "Pseudonym key of this release" not in out
    assert pseudonym("P001", KEY.encode()) in pseudonyms(workdir / "r1")
    assert pseudonym_record(workdir / "r1")["key_source"] == "file"


def test_linkable_pseudonyms_need_the_stewards_key(workdir: Path) -> None:
    write_policy(workdir, linkable=True)
    code, out, err = release("r1")
    assert (code, out) == (2, "")
    assert err.startswith(
        "Error: pseudonymize needs a secret key but SDC_PSEUDONYM_KEY is not set; "
    )
    assert not (workdir / "r1").exists()


def test_linkable_only_applies_to_pseudonymize(tmp_path: Path) -> None:
    text = POLICY.format(linkable="", k=2).replace(
        "name: {role: direct}", "name: {role: direct, linkable: true}"
    )
    with pytest.raises(PolicyError, match="linkable only applies to action: pseudonymize"):
        parse_policy(text, source=tmp_path / "p.yaml")


def test_mixed_columns_use_both_keys(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.read_csv(workdir / "survey.csv")
    frame["hh"] = [f"H{i // 2}" for i in range(len(frame))]
    frame.to_csv(workdir / "survey.csv", index=False)
    text = POLICY.format(linkable=", linkable: true", k=2).replace(
        "  age:", "  hh: {role: direct, action: pseudonymize}\n  age:"
    )
    (workdir / "policy.yaml").write_text(text)
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", KEY)
    assert release("r1")[0] == 0
    released = pd.read_csv(workdir / "r1" / "microdata.csv")
    assert set(released["pid"]) == {pseudonym(f"P{i:03d}", KEY.encode()) for i in range(60)}
    key, _ = load_pseudonym_key(workdir / "r1.pseudonym-key")
    assert set(released["hh"]) == {pseudonym(f"H{i}", key) for i in range(30)}
