"""Big drafts stay usable (issue 18, item 4).

A missing key or an unusable ``--out`` is reported before the data is read; a release that
local suppression cannot bring within ``max_suppression`` is refused before it runs, with
the reason; SUDA runs after the thresholds hold and is bounded when the quasi-identifiers
are many; on a 1,500-record survey with 24 quasi-identifiers, drafted by ``sdc scan``,
``sdc release`` finishes or refuses with its reason in under 60 seconds.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.anonymize.suppress import local_suppression, must_lose_a_value
from sdc.policy import parse_policy
from sdc.release.plan import suda_max_msu, suda_note
from tests.big_survey import big_survey
from tests.cli._runner import run

#: The survey's 24 quasi-identifiers, as `sdc scan` drafts them (recodes of the draft).
QUASI = {
    "start": "recode: {date: year}",
    "end": "recode: {date: year}",
    "deviceid": "",
    "_submitted_by": "",
    "region": "",
    "commune": "",
    "milieu": "",
    "sex": "",
    "age": "recode: {bands: [0, 18, 30, 45, 60]}, top_code: 80",
    "marital_status": "",
    "education": "",
    "household_size": "",
    "ethnicity": "",
    "employment": "",
    "disability_type": "",
    "difficulty_seeing": "",
    "difficulty_hearing": "",
    "difficulty_walking": "",
    "difficulty_remembering": "",
    "difficulty_selfcare": "",
    "services": "",
    "services/school": "",
    "services/water": "",
    "services/transport": "",
}
OTHER = {
    "respondent_name": "role: direct",
    "phone": "role: direct",
    "religion": "role: sensitive",
    "income_band": "role: sensitive",
    "hiv_status": "role: sensitive",
    "violence_experienced": "role: sensitive",
    "services/health": "role: sensitive",
    "services/credit": "role: sensitive",
}


def policy_text(max_suppression: float = 0.05, extra: str = "") -> str:
    lines = ["version: 1", "name: big", "missing: category", "columns:"]
    for name, spec in QUASI.items():
        lines.append(f"  {name}: {{role: quasi{', ' + spec if spec else ''}}}")
    lines += [f"  {name}: {{{spec}}}" for name, spec in OTHER.items()]
    lines.append(f"thresholds: {{k: 5, l: 2, max_suppression: {max_suppression}}}")
    lines.append("outputs:\n  microdata: {treatments: [recode, suppress]}")
    return "\n".join(lines) + "\n" + extra


@pytest.fixture(scope="module")
def survey_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "survey.csv"
    big_survey().to_csv(path, index=False)
    return path


def _release(data: Path, policy: Path, out: Path, *extra: str) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    code, stdout, stderr = run("release", str(data), "-p", str(policy), "--out", str(out), *extra)
    return code, stdout, stderr, time.perf_counter() - started


def test_the_generated_survey_has_24_quasi_identifiers(survey_csv: Path) -> None:
    frame = pd.read_csv(survey_csv)
    assert frame.shape == (1500, 32)
    assert len(QUASI) == 24 and set(QUASI) | set(OTHER) == set(frame.columns)


def test_release_of_a_scan_draft_finishes_or_refuses_within_60_seconds(
    survey_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    draft = tmp_path / "draft.yaml"
    assert run("scan", str(survey_csv), "-o", str(draft))[0] == 0
    code, _, stderr, seconds = _release(survey_csv, draft, tmp_path / "rel")
    assert seconds < 60, f"release took {seconds:.0f} s"
    assert code in (0, 1)
    if code == 1:  # refused: one line that says why
        assert stderr.startswith("Error: ") and stderr.count("\n") == 1


def test_an_unreachable_k_is_refused_before_suppressing(
    survey_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sdc.release import microdata

    def never(*_: object, **__: object) -> None:
        raise AssertionError("local suppression ran")

    monkeypatch.setattr(microdata, "suppress_to_policy", never)
    policy = tmp_path / "p.yaml"
    policy.write_text(policy_text(), encoding="utf-8")
    code, out, err, seconds = _release(survey_csv, policy, tmp_path / "rel")
    assert (code, out) == (1, "")
    assert err == (
        "Error: k = 5 cannot be reached within max_suppression 5.0%: 1381 of the 1500 records "
        "(92.1%) are in a combination of the 24 quasi-identifiers that fewer than 5 records "
        "share, and each of them would lose a value (checked before suppressing anything). "
        "Keep as quasi-identifiers only what an outsider could know (not timestamps, device "
        "ids or who collected the data), recode the most varied more coarsely (recode: bands "
        "or map; values after the recodes: commune (90), services (31), household_size (15)), "
        "use generalize: auto, or raise thresholds.max_suppression\n"
    )
    assert not (tmp_path / "rel").exists()
    assert seconds < 60


@pytest.mark.slow
def test_a_reachable_release_of_24_quasi_identifiers_finishes_within_60_seconds(
    survey_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    policy = tmp_path / "p.yaml"
    policy.write_text(policy_text(max_suppression=1.0), encoding="utf-8")
    code, out, err, seconds = _release(survey_csv, policy, tmp_path / "rel")
    assert code == 0, err
    assert seconds < 60, f"release took {seconds:.0f} s"
    assert (
        "Note: SUDA looked for special uniques among combinations of up to 4 of the 24 "
        "quasi-identifiers (every size would take too long with so many); set suda.max_msu in "
        "the policy to choose\n"
    ) in out + err
    assert "verdict: PASS" in out


# ---- cheap checks before the data is read ---------------------------------------------------

LINKABLE = """\
version: 1
name: keyed
columns:
  pid: {role: direct, action: pseudonymize, linkable: true}
  sex: {role: quasi}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [suppress]}
"""


@pytest.fixture
def unread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the data is read."""
    from sdc import workflow

    def never(*_: object, **__: object) -> None:
        raise AssertionError("the data was read")

    monkeypatch.setattr(workflow, "read_table", never)


@pytest.mark.usefixtures("unread")
def test_a_missing_key_file_is_reported_before_the_data_is_read(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(LINKABLE, encoding="utf-8")
    missing = tmp_path / "no.key"
    code, out, err, _ = _release(
        tmp_path / "survey.csv", policy, tmp_path / "rel", "--key-file", str(missing)
    )
    assert (code, out) == (2, "")
    assert err.startswith(
        f"Error: the pseudonymisation key file {missing} cannot be read (No such file or "
        "directory); "
    )


@pytest.mark.usefixtures("unread")
def test_an_out_folder_that_cannot_be_created_is_reported_before_the_data_is_read(
    tmp_path: Path,
) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(LINKABLE.replace(", linkable: true", ""), encoding="utf-8")
    blocker = tmp_path / "releases"
    blocker.write_text("a file, not a folder\n", encoding="utf-8")
    out = blocker / "2026" / "rel"
    code, stdout, err, _ = _release(tmp_path / "survey.csv", policy, out)
    assert (code, stdout) == (2, "")
    assert err == (
        f"Error: {out}: cannot create the release folder ({blocker} is not a folder); choose "
        "another --out folder\n"
    )


# ---- the lower bound on suppression ---------------------------------------------------------


def test_must_lose_a_value_by_rule() -> None:
    frame = pd.DataFrame(
        {"a": ["x", "x", "x", "y", None, None], "b": ["p", "p", "q", "q", "q", None]}
    )
    # category: (x,p) x2 ok at k=2; (x,q), (y,q) alone and without a blank; (None,q) alone
    # but with a blank (others could join it); all blank: reveals no key.
    assert must_lose_a_value(frame, ["a", "b"], 2, "category").tolist() == [
        False, False, True, True, False, False,
    ]  # fmt: skip
    # wildcard: (None,q) is covered by records showing q: (x,q), (y,q), itself -> 3.
    assert must_lose_a_value(frame, ["a", "b"], 2, "wildcard").tolist() == [
        False, False, True, True, False, False,
    ]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(*[st.sampled_from(["a", "b", "c", None])] * 3), min_size=4, max_size=40),
    st.integers(2, 4),
    st.sampled_from(["category", "wildcard"]),
)
def test_every_record_of_the_bound_loses_a_value(
    rows: list[tuple[str | None, ...]], k: int, rule: str
) -> None:
    frame = pd.DataFrame(rows, columns=["q1", "q2", "q3"])
    quasi = ["q1", "q2", "q3"]
    bound = must_lose_a_value(frame, quasi, k, rule)  # type: ignore[arg-type]
    if len(frame) < k:
        return
    treated, _ = local_suppression(frame, quasi, k, missing=rule)  # type: ignore[arg-type]
    lost = (frame[quasi].notna().to_numpy() & treated[quasi].isna().to_numpy()).any(axis=1)
    assert not (bound & ~lost).any()


def test_local_suppression_reports_its_progress() -> None:
    rng = np.random.default_rng(5)  # test data
    frame = pd.DataFrame({f"q{j}": rng.integers(0, 4, 300) for j in range(5)})
    seen: list[tuple[int, int]] = []
    local_suppression(frame, list(frame.columns), 3, progress=lambda d, t: seen.append((d, t)))
    assert seen and all(t == seen[0][1] for _, t in seen)
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] > 0


# ---- SUDA bounded with many quasi-identifiers -----------------------------------------------


def test_suda_searches_every_size_up_to_14_quasi_identifiers_and_4_of_24() -> None:
    def policy(quasi: int, suda: str = "") -> object:
        columns = "\n".join(f"  q{i}: {{role: quasi}}" for i in range(quasi))
        return parse_policy(f"version: 1\nname: s\ncolumns:\n{columns}\n{suda}")

    assert suda_max_msu(policy(14)) is None and suda_note(policy(14)) == ()  # type: ignore[arg-type]
    assert suda_max_msu(policy(15)) == 7  # type: ignore[arg-type]
    assert suda_max_msu(policy(24)) == 4  # type: ignore[arg-type]
    assert suda_max_msu(policy(24, "suda: {max_msu: 6}\n")) == 6  # type: ignore[arg-type]
    assert suda_note(policy(24, "suda: {max_msu: 6}\n")) == ()  # type: ignore[arg-type]


def test_the_generalisation_search_reports_its_progress() -> None:
    from sdc.anonymize.search import optimal_generalization
    from sdc.hierarchy import Hierarchy

    rng = np.random.default_rng(6)  # test data
    ages = rng.integers(20, 40, 200)
    frame = pd.DataFrame({"age": ages, "sex": rng.choice(["m", "f"], 200)})
    h_age = Hierarchy(
        rows=tuple((str(a), "young" if a < 30 else "old", "*") for a in range(20, 40))
    )
    h_sex = Hierarchy(rows=(("m", "*"), ("f", "*")))
    seen: list[tuple[int, int]] = []
    optimal_generalization(
        frame,
        {"age": h_age, "sex": h_sex},
        k=5,
        max_suppression=0.1,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen[0] == (0, 6) and seen[-1] == (6, 6)  # 3 levels x 2 levels
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_no_progress_bar_when_not_on_a_terminal(
    survey_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI and pipes get the result and nothing else (the bar draws only on a terminal)."""
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    policy = tmp_path / "p.yaml"
    policy.write_text(policy_text(max_suppression=0.99), encoding="utf-8")
    code, out, err, _ = _release(survey_csv, policy, tmp_path / "rel")
    assert code == 1
    assert err.startswith("Error: k = 5, l = 2 needs 1500 records (100.0%) with a suppressed")
    assert "local suppression" not in out + err and "%]" not in err


def test_on_a_terminal_the_bar_shows_the_step_and_an_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from sdc.cli import _Meter

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with _Meter() as meter:
        for done in (0, 10, 40, 30, 100):  # a step back (30) never moves the bar back
            meter("local suppression to k = 5", done, 100)
    shown = screen.getvalue()
    assert "local suppression to k = 5" in shown
    assert "100%" in shown and "40%" in shown and "30%" not in shown
