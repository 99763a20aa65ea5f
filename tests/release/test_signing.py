"""Signed bundles: `sdc keys new`, `sdc release --sign`, `sdc check --trust`."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sdc.io import file_sha256
from sdc.release.signing import (
    fingerprint,
    load_public_key,
    load_signing_key,
    new_key_pair,
    verify_manifest,
)
from tests.cli._runner import run

POLICY = """\
version: 1
name: small
columns:
  name: {role: direct}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi}
  village: {role: quasi}
  hiv: {role: sensitive}
  income: {role: sensitive, bounds: [0, 1000]}
thresholds: {k: 2, max_suppression: 0.5}
outputs:
  microdata: {treatments: [recode, suppress]}
"""

DP_TABLE = """\
  tables:
    - {by: [village], sum: income, dp: {epsilon: 0.4}}
privacy: {budget: 1.0, dataset: small-survey}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = [
        {
            "name": f"Person {i}",
            "age": 20 + (i * 7) % 60,
            "sex": "f" if i % 3 else "m",
            "village": "ABC"[i % 3],
            "hiv": "pos" if i % 5 == 0 else "neg",
            "income": (i * 37) % 900,
        }
        for i in range(60)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def keys(workdir: Path) -> str:
    """A key pair in keys/; returns its fingerprint."""
    code, _, err = run("keys", "new", "keys")
    assert code == 0, err
    return load_public_key(workdir / "keys" / "sdc.pub").fingerprint


@pytest.fixture
def signed(workdir: Path, keys: str) -> Path:
    code, out, err = run(
        "release", "survey.csv", "-p", "policy.yaml", "--out", "rel", "--sign", "keys/sdc.key"
    )
    assert code == 0, err
    return workdir / "rel"


def check(*extra: str) -> tuple[int, str, str]:
    return run("check", "rel", "-p", "policy.yaml", *extra)


def line(out: str, name: str) -> str:
    found = [row for row in out.splitlines() if row.split()[1:2] == [name]]
    assert len(found) == 1, out
    return found[0]


# --------------------------------------------------------------------------- keys new


def test_keys_new_writes_a_private_and_a_public_key(workdir: Path) -> None:
    code, out, err = run("keys", "new", "keys")
    assert code == 0 and err == ""
    fp = load_public_key(workdir / "keys" / "sdc.pub").fingerprint
    assert out == (
        "Private key: keys/sdc.key (keep it secret; never share or publish it)\n"
        "Public key:  keys/sdc.pub (give it to whoever checks your releases)\n"
        f"Fingerprint: {fp}\n"
    )
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert stat.S_IMODE((workdir / "keys" / "sdc.key").stat().st_mode) == 0o600
    assert (workdir / "keys" / "sdc.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_signing_key(workdir / "keys" / "sdc.key").fingerprint == fp


def test_the_private_key_is_private_from_creation(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created with mode 0600, not chmod-ed afterwards: a permissive umask changes nothing."""
    modes: list[int] = []
    real_open = os.open

    def spy(path: str, flags: int, mode: int = 0o777, *args: object) -> int:
        if str(path).endswith("sdc.key"):
            modes.append(mode)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", spy)
    monkeypatch.setattr(os, "chmod", lambda *a, **k: pytest.fail("chmod after creation"))
    old = os.umask(0)
    try:
        new_key_pair(workdir / "k")
    finally:
        os.umask(old)
    assert modes == [0o600]
    assert stat.S_IMODE((workdir / "k" / "sdc.key").stat().st_mode) == 0o600


def test_keys_new_never_overwrites_a_key(workdir: Path, keys: str) -> None:
    before = (workdir / "keys" / "sdc.key").read_bytes()
    code, out, err = run("keys", "new", "keys")
    assert code == 2 and out == ""
    assert err == (
        "Error: keys/sdc.key: already exists; a signing key is never overwritten (bundles "
        "signed with it could no longer be verified); choose another folder\n"
    )
    assert (workdir / "keys" / "sdc.key").read_bytes() == before


def test_fingerprint_is_sha256_of_the_raw_public_key(workdir: Path, keys: str) -> None:
    import hashlib

    raw = load_public_key(workdir / "keys" / "sdc.pub").raw
    assert len(raw) == 32
    assert fingerprint(raw) == hashlib.sha256(raw).hexdigest()[:16] == keys


# --------------------------------------------------------------------------- release --sign


def test_release_signs_the_manifest(workdir: Path, keys: str) -> None:
    code, out, err = run(
        "release", "survey.csv", "-p", "policy.yaml", "--out", "rel", "--sign", "keys/sdc.key"
    )
    assert code == 0, err
    assert f"Signed by key {keys} (manifest.sig).\n" in out
    assert "  manifest.sig\n" in out
    manifest = json.loads((workdir / "rel" / "manifest.json").read_text())
    assert manifest["signer"] == {"algorithm": "ed25519", "fingerprint": keys}
    assert "manifest.sig" not in manifest["outputs"]
    signature = base64.b64decode((workdir / "rel" / "manifest.sig").read_bytes())
    assert len(signature) == 64
    assert f"signed with the Ed25519 key {keys}" in (workdir / "rel" / "report.html").read_text()
    assert not [p.name for p in workdir.iterdir() if p.name.startswith(".rel")]


def test_the_private_key_never_enters_the_bundle_or_the_output(workdir: Path, keys: str) -> None:
    private = (workdir / "keys" / "sdc.key").read_bytes()
    raw = load_signing_key(workdir / "keys" / "sdc.key")._raw
    code, out, err = run(
        "release", "survey.csv", "-p", "policy.yaml", "--out", "rel", "--sign", "keys/sdc.key"
    )
    assert code == 0
    body = b"".join(private.splitlines()[1:-1])
    for path in (workdir / "rel").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert body not in data and raw not in data and raw.hex().encode() not in data
    assert body.decode() not in out + err and raw.hex() not in out + err
    assert raw.hex() not in repr(load_signing_key(workdir / "keys" / "sdc.key"))


def test_an_unsigned_release_says_so_in_its_report(workdir: Path) -> None:
    code, out, _ = run("release", "survey.csv", "-p", "policy.yaml", "--out", "rel")
    assert code == 0 and "Signed by" not in out
    assert not (workdir / "rel" / "manifest.sig").exists()
    assert "The bundle is not signed" in (workdir / "rel" / "report.html").read_text()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such private key file; make a key pair with `sdc keys new DIR`"),
        (
            "public",
            "is a public key; --sign needs the private key (sdc.key) of the pair",
        ),
        ("garbage", "not an Ed25519 private key in PEM form as `sdc keys new` writes it"),
        ("folder", "is a folder; give the private key file (e.g. bad/sdc.key)"),
    ],
)
def test_a_bad_signing_key_stops_the_release_before_any_budget_is_charged(
    workdir: Path, keys: str, make: str | None, message: str
) -> None:
    (workdir / "policy.yaml").write_text(POLICY + DP_TABLE)
    bad = workdir / "bad"
    if make == "public":
        bad.write_bytes((workdir / "keys" / "sdc.pub").read_bytes())
    elif make == "garbage":
        bad.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    elif make == "folder":
        bad.mkdir()
    ledger = Path(os.environ["SDC_LEDGER"])
    code, out, err = run(
        "release", "survey.csv", "-p", "policy.yaml", "--out", "rel", "--sign", "bad"
    )
    assert (code, out, err) == (2, "", f"Error: bad: {message}\n")
    assert not (workdir / "rel").exists()
    assert not ledger.exists() or "small-survey" not in ledger.read_text()


def test_a_bad_key_is_refused_before_the_data_is_read(workdir: Path) -> None:
    code, _, err = run("release", "missing.csv", "-p", "policy.yaml", "--out", "rel", "--sign", "k")
    assert (code, err) == (
        2,
        "Error: k: no such private key file; make a key pair with `sdc keys new DIR`\n",
    )


def test_an_encrypted_or_non_ed25519_key_is_refused(workdir: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    enc = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    (workdir / "enc.key").write_bytes(enc)
    code, _, err = run(
        "release", "survey.csv", "-p", "policy.yaml", "-o", "rel", "--sign", "enc.key"
    )
    assert (code, err) == (
        2,
        "Error: enc.key: the private key is encrypted with a password; sdc signs with an "
        "unencrypted key file kept private (mode 0600): make a key pair with `sdc keys new DIR`\n",
    )
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (workdir / "ec.key").write_bytes(ec_key)
    code, _, err = run(
        "release", "survey.csv", "-p", "policy.yaml", "-o", "rel", "--sign", "ec.key"
    )
    assert code == 2
    assert err.startswith("Error: ec.key: not an Ed25519 key (")
    assert err.endswith("); sdc signs with Ed25519: make a key pair with `sdc keys new DIR`\n")


# --------------------------------------------------------------------------- check --trust


def test_check_trust_passes_a_signed_bundle(signed: Path, keys: str) -> None:
    code, out, _ = check("--trust", "keys/sdc.pub")
    assert code == 0, out
    assert line(out, "signature").split(None, 2)[2] == (
        f"manifest.json is signed by the trusted key {keys}"
    )
    assert out.splitlines()[1].split()[1] == "signature"  # right after the hashes


def test_check_trust_fails_a_tampered_manifest(signed: Path, keys: str) -> None:
    manifest = json.loads((signed / "manifest.json").read_text())
    manifest["policy"]["thresholds"]["k"] = 5
    (signed / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    code, out, _ = check("--trust", "keys/sdc.pub")
    assert code == 1
    assert line(out, "signature") == (
        f"FAIL  signature    the signature does not verify with the trusted key {keys}: "
        "manifest.json or manifest.sig was changed after signing"
    )


def test_check_trust_fails_a_forged_bundle_with_recomputed_hashes(signed: Path) -> None:
    """The attack of issue 13: edit an output and recompute its hash in the manifest."""
    data = pd.read_csv(signed / "microdata.csv")
    data.loc[0, "hiv"] = "pos" if data.loc[0, "hiv"] == "neg" else "neg"
    data.to_csv(signed / "microdata.csv", index=False)
    manifest = json.loads((signed / "manifest.json").read_text())
    manifest["outputs"]["microdata.csv"]["sha256"] = file_sha256(signed / "microdata.csv")
    (signed / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    code, out, _ = check()
    assert line(out, "hashes").startswith("PASS")  # anyone can recompute hashes...
    code, out, _ = check("--trust", "keys/sdc.pub")
    assert code == 1 and line(out, "signature").startswith("FAIL")  # ...not sign them


def test_check_trust_fails_an_unsigned_bundle(workdir: Path, keys: str) -> None:
    assert run("release", "survey.csv", "-p", "policy.yaml", "--out", "rel")[0] == 0
    code, out, _ = check("--trust", "keys/sdc.pub")
    assert code == 1
    assert line(out, "signature") == (
        "FAIL  signature    the bundle is not signed (no manifest.sig); --trust requires a "
        f"signature by {keys}"
    )
    assert out.endswith("rel: FAILS the policy\n")


def test_check_trust_fails_a_bundle_signed_by_another_key(
    workdir: Path, signed: Path, keys: str
) -> None:
    run("keys", "new", "other")
    other = load_public_key(workdir / "other" / "sdc.pub").fingerprint
    code, out, _ = check("--trust", "other/sdc.pub")
    assert code == 1
    assert line(out, "signature") == (
        f"FAIL  signature    signed by another key: the manifest names {keys}, the trusted "
        f"key is {other}"
    )


def test_a_signature_copied_from_another_bundle_fails(workdir: Path, signed: Path) -> None:
    assert run("release", "survey.csv", "-p", "policy.yaml", "--out", "rel2")[0] == 0
    (workdir / "rel2" / "manifest.sig").write_bytes((signed / "manifest.sig").read_bytes())
    code, out, _ = run("check", "rel2", "-p", "policy.yaml", "--trust", "keys/sdc.pub")
    assert code == 1 and line(out, "signature").startswith("FAIL")


def test_a_malformed_signature_fails(signed: Path) -> None:
    (signed / "manifest.sig").write_text("not base64!\n")
    code, out, _ = check("--trust", "keys/sdc.pub")
    assert code == 1
    assert line(out, "signature") == (
        "FAIL  signature    manifest.sig is not an Ed25519 signature (64 bytes in base64)"
    )


def test_without_trust_the_claimed_signer_is_reported(signed: Path, keys: str) -> None:
    code, out, _ = check()
    assert code == 0, out
    assert line(out, "signature") == (
        f"PASS  signature    signed by {keys}, as the manifest claims (not checked against a "
        "trusted key: give --trust PUB to verify the signature)"
    )
    assert line(out, "hashes").startswith("PASS")  # manifest.sig is not an unlisted file


def test_without_trust_a_stripped_signature_fails(signed: Path, keys: str) -> None:
    (signed / "manifest.sig").unlink()
    code, out, _ = check()
    assert code == 1
    assert line(out, "signature") == (
        f"FAIL  signature    the manifest names signer {keys} but manifest.sig is missing"
    )


def test_without_trust_an_unsigned_bundle_has_no_signature_item(workdir: Path) -> None:
    assert run("release", "survey.csv", "-p", "policy.yaml", "--out", "rel")[0] == 0
    code, out, _ = check()
    assert code == 0 and " signature " not in out


def test_a_planted_signature_without_signer_fails(workdir: Path) -> None:
    assert run("release", "survey.csv", "-p", "policy.yaml", "--out", "rel")[0] == 0
    (workdir / "rel" / "manifest.sig").write_text(base64.b64encode(bytes(64)).decode() + "\n")
    code, out, _ = check()
    assert code == 1
    assert line(out, "signature") == (
        "FAIL  signature    manifest.sig is present but the manifest names no signer"
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "no such public key file; make a key pair with `sdc keys new DIR`"),
        (
            "private",
            "is a private key; --trust takes the public key (sdc.pub) of the pair, and the "
            "private key should never leave the person who signs",
        ),
        ("garbage", "not an Ed25519 public key in PEM form as `sdc keys new` writes it"),
    ],
)
def test_a_bad_trusted_key_is_a_usage_error(
    signed: Path, workdir: Path, make: str | None, message: str
) -> None:
    if make == "private":
        (workdir / "pub").write_bytes((workdir / "keys" / "sdc.key").read_bytes())
    elif make == "garbage":
        (workdir / "pub").write_text("hello\n")
    code, out, err = check("--trust", "pub")
    assert (code, out, err) == (2, "", f"Error: pub: {message}\n")


def test_check_json_holds_the_signature_item(signed: Path, keys: str) -> None:
    code, _, _ = check("--trust", "keys/sdc.pub", "--json", "c.json")
    data = json.loads(Path("c.json").read_text())
    assert code == 0
    assert {
        "name": "signature",
        "passed": True,
        "detail": f"manifest.json is signed by the trusted key {keys}",
    } in data["checks"]


def test_verify_manifest_library_call(signed: Path, keys: str, workdir: Path) -> None:
    manifest = json.loads((signed / "manifest.json").read_text())
    trusted = load_public_key(workdir / "keys" / "sdc.pub")
    outcome = verify_manifest(signed, manifest, trusted)
    assert outcome is not None and outcome.passed


def test_the_cli_starts_without_loading_cryptography() -> None:
    code = "import sys, sdc.cli; print('cryptography' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert found.stdout.strip() == "False"


def test_a_failure_while_signing_leaves_no_bundle_and_no_key(
    workdir: Path, keys: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing happens in the staged folder: a bundle in place always has its signature."""
    import sdc.release.pipeline as pipeline

    text = POLICY.replace("  name: {role: direct}", "  name: {role: direct, action: pseudonymize}")
    (workdir / "policy.yaml").write_text(text)

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pipeline, "sign_manifest", broken)
    with pytest.raises(OSError, match="No space left"):
        run("release", "survey.csv", "-p", "policy.yaml", "--out", "rel", "--sign", "keys/sdc.key")
    assert sorted(p.name for p in workdir.iterdir()) == ["keys", "policy.yaml", "survey.csv"]


def test_the_signature_covers_the_signer_claim(signed: Path, workdir: Path) -> None:
    run("keys", "new", "other")
    other = load_public_key(workdir / "other" / "sdc.pub").fingerprint
    manifest = json.loads((signed / "manifest.json").read_text())
    manifest["signer"]["fingerprint"] = other
    (signed / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    assert check("--trust", "keys/sdc.pub")[0] == 1
    assert check("--trust", "other/sdc.pub")[0] == 1
