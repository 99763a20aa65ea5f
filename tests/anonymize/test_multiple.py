"""Multiple-choice questions as one set-valued variable: canonical sets, recodes, options."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.multiple import (
    EMPTY_SET,
    canonical_sets,
    derive_options,
    kept_options,
    recode_sets,
)
from sdc.anonymize.policy_recodes import deterministic_recodes
from sdc.errors import DataError, PolicyError
from sdc.policy import parse_policy
from sdc.release.microdata import treat_microdata
from sdc.release.plan import assess

OPTIONS = ["d/see", "d/hear", "d/walk", "d/climb"]


def _policy(recode: str = "", extra: str = "", k: int = 2) -> str:
    recode_line = f"\n    recode: {recode}" if recode else ""
    return f"""\
version: 1
name: t
columns:
  sex: {{role: quasi}}
  d:
    role: quasi
    multiple: {{options: [{", ".join(OPTIONS)}]}}{recode_line}
{extra}thresholds: {{k: {k}, max_suppression: 0.5}}
outputs:
  microdata: {{treatments: [recode, suppress]}}
"""


def _frame() -> pd.DataFrame:
    # see, hear, walk, climb per record; record 4 answered none; record 5 was not asked.
    chosen = [
        [1, 0, 1, 0],
        [0, 0, 1, 1],
        [1, 1, 0, 0],
        [0, 0, 1, 0],
        [0, 0, 0, 0],
        [None, None, None, None],
        [1, 0, 1, 0],
        [0, 0, 1, 1],
    ]
    frame = pd.DataFrame(chosen, columns=OPTIONS, dtype="float64")
    # Kobo writes the codes in the order chosen: the canonical form ignores it.
    frame.insert(
        0, "d", ["walk see", "climb walk", "see hear", "walk", "", None, "see walk", "walk climb"]
    )
    frame.insert(0, "sex", list("fmfmfmfm"))
    return frame


def test_the_set_is_one_canonical_value_in_option_order() -> None:
    policy = parse_policy(_policy())
    out = canonical_sets(_frame(), policy)
    assert out["d"].tolist()[:5] == ["see walk", "walk climb", "see hear", "walk", EMPTY_SET]
    assert pd.isna(out["d"].iloc[5])
    assert out["d"].iloc[0] == out["d"].iloc[6]  # same answers, one value


def test_count_any_of_and_rare_to_other() -> None:
    frame = _frame()
    counted, records = recode_sets(frame, parse_policy(_policy("{count: true}")))
    assert counted["d"].tolist()[:5] == [2, 2, 2, 1, 0] and counted["d"].iloc[5] is None
    assert list(records[0].details["values"]) == [0, 1, 2, 3, 4]
    grouped, records = recode_sets(
        frame, parse_policy(_policy("{any_of: {mobility: [walk, climb]}}"))
    )
    assert grouped["d"].tolist()[:5] == [
        "see mobility",
        "mobility",
        "see hear",
        "mobility",
        EMPTY_SET,
    ]
    assert list(records[0].details["merged"]["mobility"]) == ["walk", "climb"]
    rare, records = recode_sets(frame, parse_policy(_policy("{rare_to_other: 2}")))
    assert rare["d"].tolist()[2] == "see other"  # hear (1 record) merged into other
    assert list(records[0].details["values"]) == ["see", "other", "walk", "climb"]


def test_option_columns_follow_the_treated_set() -> None:
    policy = parse_policy(_policy("{any_of: {mobility: [walk, climb]}}"))
    frame, _ = recode_sets(canonical_sets(_frame(), policy), policy)
    frame.loc[0, "d"] = np.nan  # suppressed
    out, records = derive_options(frame, policy)
    assert list(out.columns) == ["sex", "d", "d/see", "d/hear"]  # walk and climb merged away
    assert out["d/see"].tolist()[:5] == [None, 0, 1, 0, 0]
    assert out["d/hear"].tolist()[2] == 1
    assert list(records[0].details["dropped"]) == ["d/walk", "d/climb"]
    assert kept_options(policy, "d", None) == {"see": "d/see", "hear": "d/hear"}


def test_risk_counts_the_question_as_one_quasi_identifier() -> None:
    policy = parse_policy(_policy())
    report = assess(_frame(), policy, suda=False)
    assert report.quasi == ("sex", "d")


def test_a_suppressed_set_blanks_every_option_column() -> None:
    treated = treat_microdata(_frame(), parse_policy(_policy(k=2)), seed=1)
    frame = treated.frame
    blank = frame["d"].isna().to_numpy()
    assert blank.sum() >= 2
    for column in OPTIONS:
        assert frame[column].isna().to_numpy()[blank].all()
        shown = frame.loc[~blank, column].astype(int)
        code = column.split("/")[1]
        has = (" " + frame.loc[~blank, "d"] + " ").str.contains(f" {code} ", regex=False)
        assert (shown == has.astype(int)).all()


def test_the_risk_recodes_include_the_set_recodes() -> None:
    policy = parse_policy(_policy("{count: true}"))
    recoded, records = deterministic_recodes(_frame(), policy)
    assert [r.name for r in records] == ["recode.multiple"]
    assert recoded["d"].iloc[0] == 2


def test_an_option_column_with_other_values_is_refused() -> None:
    frame = _frame()
    frame.loc[1, "d/see"] = 2
    with pytest.raises(
        DataError, match=r"^option column 'd/see' holds 1 value\(s\) other than 0 and 1"
    ):
        canonical_sets(frame, parse_policy(_policy()))


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (
            "  d:\n    role: quasi\n    multiple: {options: {see: 1}}\n",
            "policy line 7: columns.d.multiple.options: give at least two option columns, as a "
            "list [QUESTION/CODE, ...] or as CODE: COLUMN pairs (quote a column name that YAML "
            "reads as a number)",
        ),
        (
            "  d:\n    role: quasi\n    multiple: {options: [d/see, x/hear]}\n",
            "policy line 7: option column 'x/hear' is not named d/CODE (or with . - _); give "
            "CODE: COLUMN pairs instead, e.g. {seeing: 'x/hear'}",
        ),
        (
            "  d:\n    role: quasi\n    multiple: {options: {see: a, my code: b}}\n",
            "policy line 7: option code 'my code' of d is empty or holds a space; codes are "
            "joined by spaces in the question's column: give CODE: COLUMN pairs with one-word "
            "codes",
        ),
        (
            "  d:\n    role: quasi\n    multiple: {options: [d/see, d/hear]}\n"
            "    recode: {any_of: {sense: [see, smell]}}\n",
            "policy line 8: 'smell' in any_of.sense is not an option code of d; its codes: see, hear",
        ),
        (
            "  d:\n    role: quasi\n    multiple: {options: [d/see, d/hear]}\n"
            "    recode: {count: true, rare_to_other: 5}\n",
            "policy line 8: columns.d.recode: count replaces the answers by their number: give "
            "it alone, or any_of and/or rare_to_other",
        ),
        (
            "  d:\n    role: quasi\n    recode: {count: true}\n",
            "policy line 5: columns.d: count, any_of and rare_to_other recode a multiple-choice "
            "question: add multiple: {options: [QUESTION/CODE, ...]} naming its option columns",
        ),
        (
            "  d:\n    role: quasi\n    multiple: {options: [d/see, d/hear]}\n"
            "    recode: {bands: [0, 1]}\n",
            "policy line 5: columns.d: a multiple-choice question is recoded with count, any_of "
            "or rare_to_other, not bands, map, prefix, date or grid",
        ),
        (
            "  d:\n    role: quasi\n    multiple: {options: [d/see, d/hear]}\n  d/see: {role: quasi}\n",
            "policy line 8: 'd/see' is an option column of d (its multiple.options); remove its "
            "own entry: the release derives it from the question's answers",
        ),
    ],
)
def test_malformed_questions_are_refused_with_their_line(column: str, message: str) -> None:
    text = f"version: 1\nname: t\ncolumns:\n  sex: {{role: quasi}}\n{column}"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert str(caught.value) == message
