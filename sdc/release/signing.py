"""Signed release bundles: Ed25519 key pairs, manifest signatures and their verification.

A bundle's ``manifest.json`` holds the SHA-256 of every output, so a signature over its
exact bytes binds every file of the bundle to whoever holds the private key. Anyone can
recompute hashes; only the key holder can sign. The steward makes a key pair once
(``sdc keys new DIR``), keeps ``sdc.key`` private and gives ``sdc.pub`` to the clearance
officer, who runs ``sdc check --trust sdc.pub``.

Files:

- ``sdc.key``: the private key, PEM (PKCS#8, unencrypted), created with mode 0600 (it is
  never readable by other users, not even for a moment) and never overwritten.
- ``sdc.pub``: the public key, PEM (SubjectPublicKeyInfo).
- ``manifest.sig``: in the bundle, the 64-byte Ed25519 signature of ``manifest.json``,
  base64 on one line.

A key is named by its fingerprint: the first 16 hex digits of the SHA-256 of the 32-byte
raw public key. The manifest records the signer (``"signer": {"algorithm": "ed25519",
"fingerprint": ...}``) before it is signed, so the signature covers that claim too.

The ``cryptography`` package is imported only when a key is made, loaded or used, so the
command line starts fast. The private key never enters a bundle, a message or a log: the
:class:`SigningKey` value hides it from ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdc.errors import DataError
from sdc.release.manifest import ManifestFieldError, Signer, read_fields

__all__ = [
    "ALGORITHM",
    "PRIVATE_KEY",
    "PUBLIC_KEY",
    "SIGNATURE",
    "KeyPair",
    "PublicKey",
    "SignatureCheck",
    "SigningKey",
    "fingerprint",
    "load_public_key",
    "load_signing_key",
    "new_key_pair",
    "sign_manifest",
    "signer_entry",
    "verify_manifest",
    "write_secret",
]

ALGORITHM = "ed25519"
PRIVATE_KEY = "sdc.key"
PUBLIC_KEY = "sdc.pub"
SIGNATURE = "manifest.sig"
_RAW_KEY_BYTES = 32
_SIGNATURE_BYTES = 64
_PEM_PRIVATE = b"PRIVATE KEY-----"
_PEM_PUBLIC = b"PUBLIC KEY-----"
_HOW_TO_MAKE = "make a key pair with `sdc keys new DIR`"


def fingerprint(raw_public: bytes) -> str:
    """A key's short name: the first 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (32 raw bytes), as read from ``sdc.pub``."""

    raw: bytes
    path: Path | None = None

    @property
    def fingerprint(self) -> str:
        """The key's fingerprint (16 hex digits)."""
        return fingerprint(self.raw)


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key loaded for signing; the key bytes never show in ``repr``."""

    path: Path
    public: PublicKey
    _raw: bytes = field(repr=False)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the matching public key."""
        return self.public.fingerprint

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.from_private_bytes(self._raw).sign(message)


@dataclass(frozen=True)
class KeyPair:
    """Where ``sdc keys new`` wrote a key pair, and the public key's fingerprint."""

    private: Path
    public: Path
    fingerprint: str


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of verifying a bundle's signature: passed, and why (one sentence)."""

    passed: bool
    detail: str


def write_secret(path: Path, data: bytes) -> None:
    """Create ``path`` readable by its owner only (mode 0600 from creation) and write ``data``.

    The file is opened with ``O_CREAT | O_EXCL``: an existing file (or a symlink planted in
    its place) is never written through.

    Raises:
        DataError: the file exists or cannot be created.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise DataError(f"{path}: already exists; a secret key file is never overwritten") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot be created ({exc.strerror})") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def new_key_pair(folder: Path) -> KeyPair:
    """Make an Ed25519 key pair: ``folder/sdc.key`` (private, mode 0600) and ``folder/sdc.pub``.

    The folder is created when missing. An existing key file is never replaced: a lost
    private key cannot be recovered, and bundles signed with it would no longer verify
    against a new one.

    Args:
        folder: where to write the two files.

    Returns:
        The two paths and the fingerprint of the public key.

    Raises:
        DataError: a key file already exists, or the files cannot be written.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_path, public_path = folder / PRIVATE_KEY, folder / PUBLIC_KEY
    for path in (private_path, public_path):
        if path.exists() or path.is_symlink():
            raise DataError(
                f"{path}: already exists; a signing key is never overwritten (bundles signed "
                "with it could no longer be verified); choose another folder"
            )
    if folder.exists() and not folder.is_dir():
        raise DataError(f"{folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{folder}: cannot create the key folder ({exc.strerror})") from exc
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    write_secret(private_path, private_pem)
    try:
        fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(public_pem)
    except OSError as exc:
        private_path.unlink(missing_ok=True)
        raise DataError(f"{public_path}: cannot be created ({exc.strerror})") from exc
    return KeyPair(private_path, public_path, fingerprint(raw))


def _read_key_file(path: Path, what: str) -> bytes:
    if not path.exists():
        raise DataError(f"{path}: no such {what} file; {_HOW_TO_MAKE}")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give the {what} file (e.g. {path}/sdc.key)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: the {what} file cannot be read ({exc.strerror})") from exc


def load_signing_key(path: Path) -> SigningKey:
    """Read a private key written by :func:`new_key_pair` (``--sign``).

    Raises:
        DataError: missing or unreadable file, a public key given instead, or anything
            other than an unencrypted Ed25519 private key in PEM. The message never
            quotes the file's content.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_key_file(path, "private key")
    if _PEM_PUBLIC in data and _PEM_PRIVATE not in data:
        raise DataError(
            f"{path}: is a public key; --sign needs the private key ({PRIVATE_KEY}) of the pair"
        )
    try:
        key: Any = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted with a password
        raise DataError(
            f"{path}: the private key is encrypted with a password; sdc signs with an "
            f"unencrypted key file kept private (mode 0600): {_HOW_TO_MAKE}"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise DataError(
            f"{path}: not an Ed25519 private key in PEM form as `sdc keys new` writes it"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DataError(
            f"{path}: not an Ed25519 key ({type(key).__name__.removeprefix('_')}); "
            f"sdc signs with Ed25519: {_HOW_TO_MAKE}"
        )
    raw_private = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    raw_public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return SigningKey(path, PublicKey(raw_public, None), raw_private)


def load_public_key(path: Path) -> PublicKey:
    """Read a public key written by :func:`new_key_pair` (``--trust``).

    Raises:
        DataError: missing or unreadable file, a private key given instead (it must not be
            handed around), or anything other than an Ed25519 public key in PEM.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_key_file(path, "public key")
    if _PEM_PRIVATE in data:
        raise DataError(
            f"{path}: is a private key; --trust takes the public key ({PUBLIC_KEY}) of the "
            "pair, and the private key should never leave the person who signs"
        )
    try:
        key: Any = serialization.load_pem_public_key(data)
    except (ValueError, UnicodeDecodeError):
        raise DataError(
            f"{path}: not an Ed25519 public key in PEM form as `sdc keys new` writes it"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise DataError(f"{path}: not an Ed25519 public key; {_HOW_TO_MAKE}")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(raw, path)


def signer_entry(key: SigningKey) -> dict[str, str]:
    """The manifest's ``signer`` field: the algorithm and the public key's fingerprint."""
    return {"algorithm": ALGORITHM, "fingerprint": key.fingerprint}


def sign_manifest(folder: Path, key: SigningKey, manifest_name: str = "manifest.json") -> Path:
    """Sign the exact bytes of ``folder/manifest.json`` into ``folder/manifest.sig``.

    Returns:
        The signature file's path.
    """
    signature = key.sign((folder / manifest_name).read_bytes())
    path = folder / SIGNATURE
    path.write_bytes(base64.b64encode(signature) + b"\n")
    return path


def verify_manifest(
    folder: Path,
    manifest: dict[str, Any],
    trusted: PublicKey | None,
    manifest_name: str = "manifest.json",
) -> SignatureCheck | None:
    """Verify ``manifest.sig`` over ``manifest.json`` with a trusted key.

    Without a trusted key there is nothing to verify against (the bundle holds no public
    key): a signed bundle is reported with the signer its manifest *claims*, an unsigned
    one is not reported (None), and a bundle whose signature file and ``signer`` field
    disagree fails (a stripped or planted signature).

    Args:
        folder: the bundle folder.
        manifest: its parsed manifest (for the claimed signer).
        trusted: the public key the officer trusts (``--trust``), or None.
        manifest_name: the manifest's file name.

    Returns:
        The outcome, or None when there is no key to check against and no signature.
    """
    sig_path = folder / SIGNATURE
    claimed = _claimed_signer(manifest)
    signed = sig_path.is_file()
    if trusted is None:
        if not signed and claimed is None:
            return None
        if not signed:
            return SignatureCheck(
                False, f"the manifest names signer {claimed} but {SIGNATURE} is missing"
            )
        if claimed is None:
            return SignatureCheck(False, f"{SIGNATURE} is present but the manifest names no signer")
        return SignatureCheck(
            True,
            f"signed by {claimed}, as the manifest claims (not checked against a trusted "
            "key: give --trust PUB to verify the signature)",
        )
    want = trusted.fingerprint
    if not signed:
        return SignatureCheck(
            False,
            f"the bundle is not signed (no {SIGNATURE}); --trust requires a signature by {want}",
        )
    try:
        signature = base64.b64decode(sig_path.read_bytes().strip(), validate=True)
    except (OSError, binascii.Error, ValueError):
        signature = b""
    if len(signature) != _SIGNATURE_BYTES:
        return SignatureCheck(
            False, f"{SIGNATURE} is not an Ed25519 signature (64 bytes in base64)"
        )
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(trusted.raw).verify(
            signature, (folder / manifest_name).read_bytes()
        )
    except InvalidSignature:
        if claimed is not None and claimed != want:
            return SignatureCheck(
                False,
                f"signed by another key: the manifest names {claimed}, the trusted key is {want}",
            )
        return SignatureCheck(
            False,
            f"the signature does not verify with the trusted key {want}: manifest.json or "
            f"{SIGNATURE} was changed after signing",
        )
    if claimed != want:
        return SignatureCheck(
            False,
            f"the signature verifies with the trusted key {want} but the manifest names "
            f"signer {claimed}",
        )
    return SignatureCheck(True, f"manifest.json is signed by the trusted key {want}")


def _claimed_signer(manifest: dict[str, Any]) -> str | None:
    """The fingerprint the manifest names as its signer (None if absent or malformed)."""
    if manifest.get("signer") is None:
        return None
    # The manifest is untrusted input: only a well-formed fingerprint is ever quoted.
    try:
        found = read_fields(Signer, manifest["signer"], ["fingerprint"], "signer")
    except ManifestFieldError:
        return None
    fingerprint: str | None = found["fingerprint"]
    return fingerprint
