from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.identifiers import (
    KEY_ENV,
    drop_columns,
    load_pseudonym_key,
    pseudonym,
    pseudonymize,
)
from sdc.errors import DataError, PolicyError

KEY = "correct horse battery staple"
OTHER = "another secret key, also long"


@pytest.fixture
def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resp_id": [101, 102, 101, None],
            "name": ["Ann", "Bo", "Ann", "Cy"],
            "age": [30, 41, 30, 52],
        }
    )


def test_pseudonym_is_hmac_sha256_truncated() -> None:
    expected = hmac.new(KEY.encode(), b"101", hashlib.sha256).hexdigest()[:16]
    assert pseudonym(101, KEY.encode()) == expected
    assert pseudonym(101.0, KEY.encode()) == expected  # integral floats lose their .0
    assert (
        pseudonym("101", KEY.encode(), 64)
        == hmac.new(KEY.encode(), b"101", hashlib.sha256).hexdigest()
    )


def test_pseudonymize_from_environment(people: pd.DataFrame) -> None:
    out, rec = pseudonymize(people, ["resp_id", "name"], environ={KEY_ENV: KEY})
    assert out["resp_id"][0] == out["resp_id"][2] != out["resp_id"][1]
    assert pd.isna(out["resp_id"][3])
    assert out["resp_id"][0] == pseudonym(101, KEY.encode())
    assert out["name"][0] == pseudonym("Ann", KEY.encode())
    assert len(out["name"][1]) == 16
    pd.testing.assert_series_equal(out["age"], people["age"])
    assert rec.changed == {"resp_id": 3, "name": 4}
    assert rec.parameters["key_source"] == "environment"
    text = json.dumps(rec.to_dict(include_private=True))
    assert KEY not in text and KEY.encode().hex() not in text


def test_pseudonymize_from_key_file_and_argument(people: pd.DataFrame, tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    key_file.write_text(KEY + "\n")
    out, rec = pseudonymize(people, ["name"], key_file=key_file, environ={KEY_ENV: OTHER})
    assert out["name"][0] == pseudonym("Ann", KEY.encode())  # the file wins
    assert rec.parameters["key_source"] == "file"
    out2, rec2 = pseudonymize(people, ["name"], key=KEY.encode(), length=8)
    assert out2["name"][0] == out["name"][0][:8]
    assert rec2.parameters == {
        "algorithm": "HMAC-SHA256",
        "length": 8,
        "key_source": "argument",
        "linkable": True,
    }


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=20))
def test_property_stable_for_same_key_and_different_across_keys(values: list[str]) -> None:
    df = pd.DataFrame({"id": values})
    a1, _ = pseudonymize(df, ["id"], key=KEY.encode())
    a2, _ = pseudonymize(df, ["id"], key=KEY.encode())
    b, _ = pseudonymize(df, ["id"], key=OTHER.encode())
    assert a1["id"].tolist() == a2["id"].tolist()
    assert all(x != y for x, y in zip(a1["id"], b["id"], strict=True))
    # equal values get equal pseudonyms, different values different ones
    assert a1["id"].nunique() == df["id"].nunique()


def test_missing_key_message(people: pd.DataFrame) -> None:
    with pytest.raises(
        PolicyError,
        match=r"^pseudonymize needs a secret key but SDC_PSEUDONYM_KEY is not set; set the "
        r"environment variable SDC_PSEUDONYM_KEY to a secret of at least 16 characters",
    ):
        pseudonymize(people, ["name"], environ={})


def test_short_key_messages_do_not_leak_the_key(people: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(
        PolicyError, match=r"key in SDC_PSEUDONYM_KEY is too short \(5 characters\)"
    ) as e:
        pseudonymize(people, ["name"], environ={KEY_ENV: "abcde"})
    assert "abcde" not in str(e.value)
    short = tmp_path / "k"
    short.write_text("xyz12")
    with pytest.raises(PolicyError, match=r"key file .* is too short") as e:
        load_pseudonym_key(short)
    assert "xyz12" not in str(e.value)
    with pytest.raises(PolicyError, match=r"key is too short \(3 bytes\)"):
        pseudonymize(people, ["name"], key=b"abc")


def test_unreadable_key_file(tmp_path: Path) -> None:
    with pytest.raises(
        PolicyError, match=r"^the pseudonymisation key file .*missing.* cannot be read"
    ):
        load_pseudonym_key(tmp_path / "missing")


def test_key_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    assert load_pseudonym_key() == (KEY.encode(), "environment")


@pytest.mark.parametrize("length", [7, 65, True, 10.0])
def test_bad_length(people: pd.DataFrame, length: object) -> None:
    with pytest.raises(PolicyError, match=r"^pseudonym length must be a whole number from 8 to 64"):
        pseudonymize(people, ["name"], key=KEY.encode(), length=length)  # type: ignore[arg-type]


def test_unknown_column(people: pd.DataFrame) -> None:
    with pytest.raises(
        DataError, match=r"^column\(s\) 'phone' are not in the data; it has resp_id"
    ):
        pseudonymize(people, ["phone"], key=KEY.encode())


def test_drop_columns(people: pd.DataFrame) -> None:
    out, rec = drop_columns(people, ["name", "resp_id"])
    assert list(out.columns) == ["age"]
    assert list(people.columns) == ["resp_id", "name", "age"]
    assert rec.to_dict() == {
        "name": "drop",
        "columns": ["name", "resp_id"],
        "parameters": {"role": "direct"},
        "changed": {"name": 4, "resp_id": 4},
        "details": {},
    }
    _, rec = drop_columns(people, ["age"], reason="drop")
    assert rec.parameters["role"] == "drop"
    with pytest.raises(DataError):
        drop_columns(people, ["nope"])
