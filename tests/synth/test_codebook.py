from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.errors import DataError, PolicyError
from sdc.synth._codebook import ColumnCodec, bin_codes, build_codebook


def test_bin_codes_hand_computed() -> None:
    x = np.array([0.0, 1.99, 2.0, 5.0, 9.99, 10.0])
    assert bin_codes(x, 0.0, 10.0, 5).tolist() == [0, 0, 1, 2, 4, 4]


def test_numeric_encode_clamps_and_counts() -> None:
    codec = ColumnCodec("x", "numeric", lower=0.0, upper=10.0, bins=5)
    codes, invalid, clamped = codec.encode(pd.Series([-5.0, 5.0, 15.0, np.nan]))
    assert codes.tolist() == [0, 2, 4, -1]
    assert (invalid, clamped) == (1, 2)


def test_categorical_encode_marks_values_outside_the_codebook() -> None:
    codec = ColumnCodec("c", "categorical", categories=("a", "b"))
    codes, invalid, clamped = codec.encode(pd.Series(["a", "c", None, "b"]))
    assert codes.tolist() == [0, -1, -1, 1]
    assert (invalid, clamped) == (2, 0)


def test_categorical_encode_falls_back_to_text_forms() -> None:
    codec = ColumnCodec("c", "categorical", categories=("1", "2"))
    codes, invalid, _ = codec.encode(pd.Series([1, 2, 3]))
    assert codes.tolist() == [0, 1, -1]
    assert invalid == 1


def test_labels() -> None:
    num = ColumnCodec("x", "numeric", lower=0.0, upper=10.0, bins=2)
    assert num.labels() == ["[0, 5)", "[5, 10]"]
    assert ColumnCodec("c", "categorical", categories=(1, "b")).labels() == ["1", "b"]


def test_decode_integer_column_draws_whole_numbers_within_the_bin() -> None:
    codec = ColumnCodec("age", "numeric", lower=17.0, upper=90.0, bins=16, integer=True)
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(16), 500)
    values = codec.decode(codes, rng).to_numpy()
    assert values.dtype == np.int64
    assert values.min() >= 17
    assert values.max() <= 90
    # every value falls back into the bin it was drawn for
    assert (bin_codes(values.astype(float), 17.0, 90.0, 16) == codes).all()
    # and both ends of the range are reached
    assert {17, 90} <= set(values.tolist())


def test_decode_integer_column_with_bins_narrower_than_one() -> None:
    codec = ColumnCodec("k", "numeric", lower=0.0, upper=2.0, bins=8, integer=True)
    values = codec.decode(np.arange(8), np.random.default_rng(0)).to_numpy()
    assert set(values.tolist()) <= {0, 1, 2}


def test_decode_float_column_stays_within_bin() -> None:
    codec = ColumnCodec("x", "numeric", lower=-1.0, upper=1.0, bins=4)
    codes = np.repeat(np.arange(4), 100)
    values = codec.decode(codes, np.random.default_rng(1)).to_numpy()
    assert values.dtype == np.float64
    assert (bin_codes(values, -1.0, 1.0, 4) == codes).all()


def test_decode_categorical_keeps_types() -> None:
    rng = np.random.default_rng(0)
    text = ColumnCodec("c", "categorical", categories=("x", "y"), dtype=np.dtype(object))
    assert text.decode(np.array([1, 0]), rng).tolist() == ["y", "x"]
    assert pd.api.types.is_string_dtype(text.decode(np.array([1, 0]), rng).dtype)
    ints = ColumnCodec("c", "categorical", categories=(3, 5), dtype=np.dtype(np.int64))
    out = ints.decode(np.array([1, 0, 1]), rng)
    assert out.tolist() == [5, 3, 5]
    assert out.dtype == np.int64
    mixed = ColumnCodec("c", "categorical", categories=(3, "z"), dtype=np.dtype(np.int64))
    assert mixed.decode(np.array([1, 0]), rng).tolist() == ["z", 3]


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"age": [20, 30, 40], "sex": ["m", "f", "f"], "town": ["b", "a", "b"]})


def test_build_codebook(frame: pd.DataFrame) -> None:
    book = build_codebook(
        frame,
        ["age", "sex"],
        {"sex": ["f", "m"]},
        {"age": (0, 100)},
        bins=10,
        types={"age": "integer"},
    )
    assert book.names == ("age", "sex")
    assert book.sizes == (10, 2)
    assert book.codecs[0].integer
    codes, invalid, clamped = book.encode(frame)
    assert codes.tolist() == [[2, 1], [3, 0], [4, 0]]
    assert invalid == {"age": 0, "sex": 0}
    assert clamped == {"age": 0, "sex": 0}


def test_build_codebook_domain_from_data_is_sorted(frame: pd.DataFrame) -> None:
    book = build_codebook(frame, ["town"], {}, {}, bins=4, domain_from_data=True)
    assert book.codecs[0].categories == ("a", "b")
    mixed = pd.DataFrame({"m": [1, "a", 1]})
    book = build_codebook(mixed, ["m"], {}, {}, bins=4, domain_from_data=True)
    assert set(book.codecs[0].categories) == {1, "a"}


@pytest.mark.parametrize(
    ("columns", "domains", "bounds", "bins", "error", "message"),
    [
        (
            [],
            {},
            {},
            4,
            PolicyError,
            "synthetic: no columns to synthesise; list at least one column",
        ),
        (
            ["sex", "sex"],
            {"sex": ["f", "m"]},
            {},
            4,
            PolicyError,
            "synthetic: columns are listed more than once: ['sex']",
        ),
        (["nope"], {}, {}, 4, DataError, "synthetic: columns ['nope'] are not in the data"),
        (
            ["sex"],
            {"sex": ["f", "m"]},
            {},
            1,
            PolicyError,
            "synthetic: bins must be at least 2, got 1",
        ),
        (
            ["town"],
            {},
            {},
            4,
            PolicyError,
            "synthetic: column 'town' has no category list; list its categories in the policy or a "
            "codebook (or bounds if it is numeric), or pass domain_from_data=True to read them from "
            "the data, which reveals them",
        ),
        (
            ["age"],
            {"age": [20]},
            {"age": (0, 1)},
            4,
            PolicyError,
            "synthetic: column 'age' has both numeric bounds and a category list; give bounds for a "
            "numeric column or categories for a categorical one",
        ),
        (
            ["age"],
            {},
            {"age": (5, 5)},
            4,
            PolicyError,
            "synthetic: bounds of 'age' must be finite with lower < upper, got [5.0, 5.0]",
        ),
        (
            ["age"],
            {},
            {"age": (0, float("inf"))},
            4,
            PolicyError,
            "synthetic: bounds of 'age' must be finite with lower < upper, got [0.0, inf]",
        ),
        (
            ["sex"],
            {},
            {"sex": (0, 1)},
            4,
            DataError,
            "synthetic: column 'sex' has bounds but is not numeric (str) (first non-number: record 1, 'm'); list its categories "
            "instead of bounds",
        ),
        (
            ["sex"],
            {"sex": []},
            {},
            4,
            PolicyError,
            "synthetic: the category list of 'sex' is empty",
        ),
        (
            ["sex"],
            {"sex": ["f", "f"]},
            {},
            4,
            PolicyError,
            "synthetic: the category list of 'sex' repeats a value",
        ),
    ],
)
def test_build_codebook_errors(
    frame: pd.DataFrame,
    columns: list[str],
    domains: dict[str, list[object]],
    bounds: dict[str, tuple[float, float]],
    bins: int,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        build_codebook(frame, columns, domains, bounds, bins)


@settings(max_examples=50, deadline=None)
@given(
    lower=st.floats(-1e6, 1e6, allow_nan=False),
    width=st.floats(1e-3, 1e6, allow_nan=False),
    bins=st.integers(2, 40),
    values=st.lists(st.floats(-2e6, 2e6, allow_nan=False), min_size=1, max_size=50),
)
def test_encode_decode_round_trip_stays_in_bin(
    lower: float, width: float, bins: int, values: list[float]
) -> None:
    upper = lower + width
    codec = ColumnCodec("x", "numeric", lower=lower, upper=upper, bins=bins)
    codes, invalid, _ = codec.encode(pd.Series(values))
    assert invalid == 0
    assert ((codes >= 0) & (codes < bins)).all()
    back = codec.decode(codes, np.random.default_rng(0)).to_numpy()
    assert ((back >= lower) & (back <= upper)).all()
    edges = codec.edges
    # a decoded value lies in its bin (up to float rounding at the edges)
    tol = 1e-9 * max(abs(lower), abs(upper), 1.0)
    assert (back >= edges[codes] - tol).all()
    assert (back <= edges[codes + 1] + tol).all()
