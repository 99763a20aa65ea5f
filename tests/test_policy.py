from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.errors import PolicyError
from sdc.policy import load_policy, named_columns, parse_policy, unlisted_columns
from sdc.release.microdata import remove_identifiers
from sdc.workflow import check_identifier_like, check_unlisted

FULL = """\
version: 1
name: disability-survey-public
data: {weight: wgt, household: hh_id}
missing: wildcard
columns:
  full_name:  {role: direct}
  resp_id:    {role: direct, action: pseudonymize}
  age:        {role: quasi, recode: {bands: [0, 18, 30, 45, 60]}, top_code: 80, bounds: [0, 110]}
  sex:        {role: quasi}
  village:    {role: quasi, importance: 1, categories: [A, B]}
  hiv:        {role: sensitive}
  income:     {role: sensitive, bounds: [0, 50000]}
  notes:      {role: drop}
thresholds: {k: 5, l: 2, max_individual_risk: 0.1, max_suppression: 0.05}
outputs:
  microdata: {treatments: [recode, suppress]}
  tables:
    - {by: [village, sex], count: true, min_cell: 5}
    - {by: [village], mean: income, dp: {epsilon: 0.5}}
  synthetic: {method: mst, epsilon: 1.0, delta: 1e-9, rows: 5000, seed: 1}
privacy: {unit: individual, budget: 2.0, dataset: survey}
"""


def test_full_policy_parses_with_defaults() -> None:
    policy = parse_policy(FULL, source=Path("p.yaml"))
    assert policy.quasi == ["age", "sex", "village"]
    assert policy.sensitive == ["hiv", "income"]
    assert policy.thresholds.k == 5
    assert policy.thresholds.group_share is None  # not enforced unless the policy sets it
    assert policy.unlisted == "refuse"
    assert policy.dp_epsilon == 1.5
    assert policy.outputs.tables[1].statistic == "mean"
    assert policy.where("columns", "age") == "p.yaml line 8"
    assert policy.to_dict()["engine"] == "pandas"


def test_relative_paths_resolve_against_the_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "p.yaml"
    path.parent.mkdir()
    path.write_text(FULL)
    policy = load_policy(path)
    assert policy.resolve(Path("h/v.csv")) == path.parent.resolve() / "h/v.csv"
    with pytest.raises(PolicyError, match=r"^p\.yaml: a path points outside the policy's folder"):
        policy.resolve(Path("/abs.csv"))  # confined: see tests/test_policy_hardening.py


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "top_code: 80",
            "top_cod: 80",
            "p.yaml line 8: unknown key columns.age.top_cod (did you mean 'top_code'?)",
        ),
        (
            "k: 5,",
            "k: 1,",
            "p.yaml line 14: thresholds.k: Input should be greater than or equal to 2",
        ),
        (
            "budget: 2.0",
            "budget: 1.0",
            "p.yaml line 21: the DP outputs need epsilon 1.5 but privacy.budget is 1; raise the budget or lower the outputs' epsilon",
        ),
        (
            "budget: 2.0",
            "budget: 0",
            "p.yaml line 21: privacy.budget: Input should be greater than 0",
        ),
        (
            "{role: drop}",
            "{role: dorp}",
            "p.yaml line 13: columns.notes.role must be one of 'direct', 'quasi', 'sensitive', 'drop' or 'other' (got 'dorp')",
        ),
        ("version: 1", "version: 2", "p.yaml line 1: version must be one of 1 (got 2)"),
        ("name: disability-survey-public\n", "", "p.yaml line 1: name is required"),
        (
            "count: true, ",
            "",
            "p.yaml line 18: outputs.tables.0: a table has exactly one statistic: count: true, sum: COL or mean: COL",
        ),
        (
            "bounds: [0, 110]",
            "bounds: [110, 0]",
            "p.yaml line 8: columns.age: bounds must be [low, high] with low < high",
        ),
        (
            "[0, 18, 30, 45, 60]",
            "[0, 30, 18]",
            "p.yaml line 8: columns.age.recode: bands must be at least two increasing numbers, e.g. [0, 18, 30, 45, 60]",
        ),
        (
            "{role: direct, action: pseudonymize}",
            "{role: quasi, action: pseudonymize}",
            "p.yaml line 7: columns.resp_id: action only applies to role: direct",
        ),
        (
            "max_suppression: 0.05",
            "max_suppression: 1.5",
            "p.yaml line 14: thresholds.max_suppression: Input should be less than or equal to 1",
        ),
        (
            "missing: wildcard",
            "missing: maybe",
            "p.yaml line 4: missing must be one of 'wildcard' or 'category' (got 'maybe')",
        ),
        (
            "- {by: [village, sex], count: true, min_cell: 5}",
            "- {by: [village, sex], sum: income, pq: {p: 0.5, q: 0.2}}",
            "p.yaml line 18: outputs.tables.0.pq: the pq rule needs p < q (p: the accuracy an intruder must not reach; q: how well contributors know each other's values)",
        ),
        (
            "privacy: {",
            "privacy: {cap: 3, ",
            "p.yaml line 21: unknown key privacy.cap; valid keys: unit, budget, delta, contribution, dataset, ledger, guarantee",
        ),
    ],
)
def test_invalid_policies_name_file_line_and_key(old: str, new: str, message: str) -> None:
    assert old in FULL
    with pytest.raises(PolicyError) as info:
        parse_policy(FULL.replace(old, new, 1), source=Path("p.yaml"))
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nname: [unclosed\n", r"^p.yaml line 3: not valid YAML"),
        ("- just\n- a list\n", r"^p.yaml: a policy is a YAML mapping"),
        ("", r"^p.yaml: a policy is a YAML mapping"),
        (
            "version: 1\nname: x\ncolumns: {}\n",
            r"^p.yaml line 3: columns: name at least one column$",
        ),
    ],
)
def test_not_a_policy(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, source=Path("p.yaml"))


def test_check_against_suggests_the_closest_column() -> None:
    policy = parse_policy(FULL, source=Path("p.yaml"))
    columns = [
        "full_name",
        "resp_id",
        "agee",
        "sex",
        "village",
        "hiv",
        "income",
        "notes",
        "wgt",
        "hh_id",
    ]
    with pytest.raises(PolicyError) as info:
        policy.check_against(columns, "survey.csv")
    assert (
        str(info.value)
        == "p.yaml line 8: columns.age is not a column of survey.csv (did you mean 'agee'?)"
    )


def test_check_against_covers_data_and_tables() -> None:
    policy = parse_policy(FULL, source=Path("p.yaml"))
    columns = ["full_name", "resp_id", "age", "sex", "village", "hiv", "income", "notes", "hh_id"]
    with pytest.raises(
        PolicyError, match=r"^p.yaml line 3: data.weight is not a column of the data$"
    ):
        policy.check_against(columns)
    policy.check_against([*columns, "wgt"])


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy file"):
        load_policy(tmp_path / "nope.yaml")
    (tmp_path / "latin.yaml").write_bytes("name: é".encode("latin-1"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(tmp_path / "latin.yaml")


BASE = """\
version: 1
name: x
data: {weight: w}
columns:
  age: {role: quasi}
  sex: {role: quasi, categories: [f, m]}
  income: {role: sensitive, bounds: [0, 100]}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            "  v: {role: quasi, categories: [yes, no]}\n",
            "p.yaml line 8: columns.v.categories: quote yes/no/true/false in categories, e.g. ['yes', 'no']",
        ),
        (
            "  age: {role: other}\n",
            "p.yaml line 8: columns.age is given twice; keep one (YAML would silently use the last)",
        ),
        (
            "  w: {role: quasi}\n",
            "p.yaml line 8: 'w' is the weight column (data.weight); give it role: other or leave it out of columns",
        ),
        (
            "privacy: {unit: household}\n",
            "p.yaml line 8: privacy.unit household needs the household id column: add data: {household: COLUMN}",
        ),
        (
            "outputs:\n  tables:\n    - {by: [sex], sum: income, dp: {epsilon: 0.5}}\n  synthetic: {epsilon: 0.1, delta: 0.01}\n",
            "p.yaml: the DP outputs need delta 0.01 but privacy.delta is 1e-06; raise privacy.delta or lower the outputs' delta",
        ),
        (
            "  notes: {role: other}\noutputs:\n  tables:\n    - {by: [sex], sum: notes, dp: {epsilon: 0.5}}\n",
            "p.yaml line 11: a DP sum needs public bounds: add notes: {bounds: [low, high]} to columns",
        ),
        (
            "outputs:\n  tables:\n    - {by: [age], count: true, dp: {epsilon: 0.5}}\n",
            "p.yaml line 10: a DP table needs the public list of 'age' categories: add categories: [...] to columns.age (never read off the data)",
        ),
        (
            "  2019: {role: other}\n",
            "p.yaml line 8: columns.2019.[key]: Input should be a valid string (quote it: '2019')",
        ),
    ],
)
def test_cross_key_rules(extra: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(BASE + extra, source=Path("p.yaml"))
    assert str(info.value) == message


def test_dp_table_with_listed_categories_and_bounds_is_valid() -> None:
    text = BASE + "outputs:\n  tables:\n    - {by: [sex], mean: income, dp: {epsilon: 0.5}}\n"
    text += "privacy: {dataset: survey}\n"
    assert parse_policy(text, source=Path("p.yaml")).dp_epsilon == 0.5


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "c:d"])
def test_table_names_cannot_leave_the_bundle(name: str) -> None:
    text = BASE + f"outputs:\n  tables:\n    - {{by: [sex], count: true, name: '{name}'}}\n"
    with pytest.raises(PolicyError, match="a table name becomes a file name"):
        parse_policy(text, source=Path("p.yaml"))


# ---- the closed world: columns the policy names ------------------------------------------------

NAMED = """\
version: 1
name: named
data: {weight: wgt, household: hh}
columns:
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  hiv: {role: sensitive}
outputs:
  tables:
    - {by: [district], sum: income}
  synthetic: {epsilon: 0.5, rows: 100, columns: [age, region]}
privacy: {budget: 1.0, dataset: survey}
"""


def test_named_columns_count_data_and_outputs() -> None:
    policy = parse_policy(NAMED)
    assert named_columns(policy) == {"age", "hiv", "wgt", "hh", "district", "income", "region"}
    assert unlisted_columns(policy, ["age", "notes", "wgt", "phone"]) == ["notes", "phone"]


def test_unlisted_must_be_one_of_three_words() -> None:
    with pytest.raises(
        PolicyError,
        match=r"^p.yaml line 3: unlisted must be one of 'refuse', 'drop' or 'keep' \(got 'ignore'\)$",
    ):
        parse_policy(
            NAMED.replace("name: named\n", "name: named\nunlisted: ignore\n"), Path("p.yaml")
        )


def _frame(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20 + i % 50 for i in range(n)],
            "hiv": ["neg", "pos"] * (n // 2),
            "wgt": [1.0] * n,
            "hh": [i // 2 for i in range(n)],
            "district": ["a", "b"] * (n // 2),
            "income": [i * 10 for i in range(n)],
            "region": ["n", "s"] * (n // 2),
        }
    )


def test_check_unlisted_accepts_a_fully_named_frame() -> None:
    check_unlisted(parse_policy(NAMED), _frame())


@pytest.mark.parametrize("unlisted", ["refuse", "keep"])
def test_check_unlisted_refuses_an_identifier(unlisted: str) -> None:
    policy = parse_policy(NAMED.replace("name: named\n", f"name: named\nunlisted: {unlisted}\n"))
    frame = _frame().assign(email=[f"p{i}@example.org" for i in range(40)])
    with pytest.raises(
        PolicyError, match=r"^policy line 3: .*'email' \(direct: looks like e-mail addresses\)"
    ):
        check_unlisted(policy, frame, data_name="d.csv")


def test_check_unlisted_drop_accepts_anything() -> None:
    policy = parse_policy(NAMED.replace("name: named\n", "name: named\nunlisted: drop\n"))
    check_unlisted(policy, _frame().assign(email=[f"p{i}@example.org" for i in range(40)]))


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        ("{role: quasi}", True),
        ("{role: quasi, recode: {prefix: 1}}", False),
        ("{role: quasi, top_code: 30}", False),
        ("{role: quasi, microaggregation: {k: 3}}", False),
        ("{role: quasi, noise: {sd: 0.1}}", False),
        ("{role: quasi, pram: {p: 0.8}}", True),  # PRAM keeps most values as they are
        ("{role: sensitive}", False),
        ("{role: direct}", False),
    ],
)
def test_identifier_like_quasi_needs_a_recode(spec: str, refused: bool) -> None:
    text = NAMED.replace(
        "  hiv: {role: sensitive}\n", f"  hiv: {{role: sensitive}}\n  code: {spec}\n"
    )
    policy = parse_policy(text, Path("p.yaml"))
    frame = _frame().assign(code=[1000 + i for i in range(40)])
    if refused:
        with pytest.raises(
            PolicyError,
            match=(
                r"^p.yaml line 7: quasi-identifier 'code' is an identifier: 100% of its 40 values "
                r"are unique; give it role: direct \(dropped\) or recode it \(bands, map, prefix\)$"
            ),
        ):
            check_identifier_like(policy, frame)
    else:
        check_identifier_like(policy, frame)


@settings(max_examples=40, deadline=None)
@given(
    extra=st.lists(
        st.text(alphabet="abcxyz_", min_size=1, max_size=6).filter(
            lambda name: name not in {"age", "hiv", "wgt", "hh", "district", "income", "region"}
        ),
        max_size=4,
        unique=True,
    )
)
def test_no_unnamed_column_passes_the_closed_world(extra: list[str]) -> None:
    """refuse: refused iff something is unnamed; drop: nothing unnamed reaches the microdata."""
    frame = _frame().assign(**{name: ["x", "y"] * 20 for name in extra})
    refuse = parse_policy(NAMED)
    if extra:
        with pytest.raises(PolicyError, match=f"^policy: {len(extra)} column\\(s\\) of the data"):
            check_unlisted(refuse, frame)
    else:
        check_unlisted(refuse, frame)
    drop = parse_policy(NAMED.replace("name: named\n", "name: named\nunlisted: drop\n"))
    check_unlisted(drop, frame)
    out, done = remove_identifiers(frame, drop)
    assert set(out.columns) <= named_columns(drop)
    assert [t.columns for t in done if t.parameters.get("role") == "unlisted"] == (
        [tuple(extra)] if extra else []
    )
