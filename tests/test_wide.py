"""Wide files: the whole-file versions of per-column steps give what the per-column ones do.

Reading, scanning, writing and checking a file of thousands of columns run their tests on
all the columns at once (issue 14, item 6); each is compared here with the per-column rule
it replaces, on small frames holding the awkward cases. Speed is measured in
benchmarks/bench_wide.py, never here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.io import (
    _csv_numbers,
    _escape,
    _infer_column,
    _whole_numbers_as_integers,
    decimal_commas,
    escape_formulas,
    read_table,
)
from sdc.policy import parse_policy
from sdc.release.check import _alike_columns, _excess, _excess_rows, _same_values
from sdc.scan import _Stats, _text_counts

_AWKWARD = {
    "ints": ["1", "2", None, "3", "4", "5"],
    "whole": ["1", "2", "30", "-4", "0", "7"],
    "floats": ["1.5", "2", "-0.25", None, "1e3", "7"],
    "zeros": ["01", "2", "3", "4", "5", "6"],
    "text": ["yes", "no", " ", "yes", None, "=SUM(A1)"],
    "comma": ["1,5", "2", "-0,25", None, "3", "4"],
    "comma_text": ["1,5", "x", None, None, None, None],
    "blank": [None, None, None, None, None, None],
    "big": ["9007199254740993", "1", "2", "3", "4", "5"],
    "inf": ["inf", "1", "2", "3", "4", "5"],
    "spaces": [" 12", "13 ", "14", "15", "16", "17"],
    "nan_text": ["NaN", "1", "2", "3", "4", "5"],
}


def _strings() -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in _AWKWARD.items()})


def test_numbers_of_all_columns_at_once_are_those_of_each_column() -> None:
    frame = _strings()
    out, converted, commas = _csv_numbers(frame.copy(), None)
    assert converted == ()
    for name in frame.columns:
        expected = _infer_column(frame[name])
        pd.testing.assert_series_equal(out[name], expected, check_names=False)
    assert commas == [c for c in frame.columns if decimal_commas(_infer_column(frame[c]))]
    assert commas == ["comma"]
    assert out["whole"].dtype == np.int64 and out["big"].iloc[0] == 9007199254740993


def test_a_frame_of_blanks_stays_as_it_is() -> None:
    frame = pd.DataFrame({"a": pd.Series([None, None], dtype="str"), "b": [None, None]})
    frame["b"] = frame["b"].astype("str")
    out, converted, commas = _csv_numbers(frame, None)
    assert out is frame and converted == () and commas == []
    assert _text_counts(frame)[0].n_present == 0
    assert escape_formulas(frame) is frame


def test_a_wide_csv_reads_as_its_columns_one_by_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    columns = {f"c{i:04d}": _AWKWARD[list(_AWKWARD)[i % len(_AWKWARD)]] for i in range(1200)}
    columns["id"] = [str(v) for v in rng.permutation(6)]
    path = tmp_path / "wide.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    wide = read_table(path).frame
    narrow = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", "NaN", "nan"])
    narrow = narrow.replace({"": None})
    assert wide.shape == (6, 1201)
    for name in ("c0000", "c0001", "c0002", "c0003", "c0004"):
        expected = _infer_column(narrow[name].str.lstrip().replace({"": None}).astype("str"))
        pd.testing.assert_series_equal(wide[name], expected, check_names=False)


def test_scan_counts_of_all_text_columns_are_those_of_each_column() -> None:
    frame = _strings()
    frame["repeats"] = pd.Series(["b", "a", "b", "  ", "c", "a"], dtype="str")
    counted = _text_counts(frame)
    assert set(counted) == set(range(frame.shape[1]))  # every column is pyarrow text
    for j, name in enumerate(frame.columns):
        alone = _Stats.of(name, frame[name])
        batch = _Stats.of(name, frame[name], counted[j])
        assert (batch.kind, batch.n_missing, batch.n_distinct) == (
            alone.kind,
            alone.n_missing,
            alone.n_distinct,
        )
        assert batch.sample == alone.sample and batch.uniq == alone.uniq
        assert list(batch.values) == list(alone.values)


def test_whole_numbers_of_all_columns_at_once_are_those_of_each_column() -> None:
    frame = pd.DataFrame(
        {
            "codes": [1.0, None, 3.0],
            "halves": [1.5, None, 3.0],
            "full": [1.0, 2.0, 3.0],
            "empty": [np.nan, np.nan, np.nan],
            "huge": [2.0**60, None, 1.0],
            "text": ["a", None, "b"],
        }
    )
    out = _whole_numbers_as_integers(frame)
    assert out["codes"].dtype == "Int64" and out["codes"].isna().tolist() == [False, True, False]
    assert [str(out[c].dtype) for c in ("halves", "full", "empty", "huge")] == ["float64"] * 4
    assert out["text"].equals(frame["text"])
    plain = frame.drop(columns=["codes"])
    assert _whole_numbers_as_integers(plain) is plain


def test_formula_escapes_found_on_all_columns_are_those_of_each_cell() -> None:
    frame = _strings()
    frame["number"] = [1.0, -2.0, None, 3.0, 4.0, 5.0]
    out = escape_formulas(frame)
    for name in frame.columns:
        cells = frame[name].to_numpy(dtype=object)
        wanted = [_escape(v) if isinstance(v, str) else v for v in cells]
        got = out[name].to_numpy(dtype=object)
        assert [g if isinstance(g, str) else None for g in got] == [
            w if isinstance(w, str) else None for w in wanted
        ]
    assert out["text"].iloc[5] == "'=SUM(A1)" and out["ints"] is not None
    assert out["comma"].iloc[2] == "'-0,25"  # not a plain number: a formula may start so
    untouched = frame.drop(columns=["text", "comma"])
    assert escape_formulas(untouched) is untouched


def test_multiset_excess_of_all_columns_is_that_of_each_column() -> None:
    rng = np.random.default_rng(7)
    words = np.array(["a", "b", "c", "d", None], dtype=object)
    blank = np.array([False, False, False, False, True])
    shown, expected = rng.integers(0, 5, (40, 30)), rng.integers(0, 5, (40, 30))
    expected[:10] = shown[:10]
    got = _excess_rows(shown, expected, blank)
    assert got.tolist() == [
        _excess(words[s], words[e]) for s, e in zip(shown, expected, strict=True)
    ]
    assert got[:10].tolist() == [0] * 10


def test_columns_found_alike_at_once_are_those_the_column_test_passes() -> None:
    a = _strings()
    a["n"] = [1.0, 2.0, None, 4.0, 5.0, 6.0]
    b = a.copy()
    b["text"] = pd.Series(["yes", "no", " ", "no", None, "=SUM(A1)"], dtype="str")
    b["floats"] = pd.Series(["1.5", "2", "-0.25", "", "1e3", "7"], dtype="str")  # "" as blank
    b["n"] = [1.0, 2.0, None, 4.0, 5.0, 7.0]
    alike = _alike_columns(a, b)
    names = list(a.columns)
    assert {names[i] for i in alike} == set(names) - {"text", "n"}
    assert all(_same_values(a[names[i]], b[names[i]]) for i in alike)
    assert not _same_values(a["text"], b["text"]) and not _same_values(a["n"], b["n"])


@pytest.mark.parametrize(
    "text",
    [
        "version: 1\nname: x\ncolumns:\n  age: {role: quasi}\n",
        "version: 1\nname: x\ncolumns:\n  age: {role: quasi, recode: {bands: [0, 18, 65]}}\n"
        "  sex: {role: quasi}\nthresholds: {k: 3}\n",
    ],
)
def test_a_policy_parsed_by_libyaml_is_the_one_pyyaml_parses(text: str) -> None:
    import yaml

    import sdc.policy as policy_module

    fast = parse_policy(text)
    slow_loader = policy_module._FAST_LOADER
    policy_module._FAST_LOADER = yaml.SafeLoader
    try:
        slow = parse_policy(text)
    finally:
        policy_module._FAST_LOADER = slow_loader
    assert fast.model_dump() == slow.model_dump()
    assert fast._lines == slow._lines


def _naive_below(frame: pd.DataFrame, quasi: list[str], k: int) -> float:
    """The draft's count before KeyCounts: one np.unique over all the columns."""
    if not quasi or len(frame) == 0:
        return 0.0
    codes = np.stack([pd.factorize(frame[q], use_na_sentinel=False)[0] for q in quasi], axis=1)
    _, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    return float((counts[inverse.ravel()] < k).mean())


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("width", [2, 3, 6, 25])
def test_key_counts_choose_what_counting_each_key_chooses(seed: int, width: int) -> None:
    from sdc.risk.leave_out import KeyCounts

    rng = np.random.default_rng(seed)
    rows = 60
    frame = pd.DataFrame(
        {
            f"q{i}": pd.Series(rng.integers(0, 2 + (i + seed) % 4, rows)).where(
                rng.random(rows) > 0.1
            )
            for i in range(width)
        }
    )
    frame["q0"] = "same"  # a constant column: leaving it out changes nothing
    quasi = list(frame.columns)
    keys = KeyCounts(frame, quasi, 3)
    while len(quasi) > 1:
        assert keys.below(quasi) == _naive_below(frame, quasi, 3)
        candidates = quasi[1:]
        naive = min(
            candidates,
            key=lambda q: (
                _naive_below(frame, [c for c in quasi if c != q], 3),
                -len(frame[q].drop_duplicates()),
            ),
        )
        assert keys.worst(quasi, candidates) == naive
        quasi.remove(naive)
