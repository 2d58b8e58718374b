"""Ed25519 keys for audit checkpoints: load the configured private key, write a new pair.

The private key lives in a PEM file the operator controls (ORDERTRAIL_AUDIT_SIGNING_KEY); the
public key is published (GET /v1/audit/public-key) so an auditor can check checkpoints without
trusting the server: a checkpoint someone forged or edited carries no valid signature.
"""

from __future__ import annotations

import base64
import os
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ordertrail.domain.audit import checkpoint_message, key_id_of


class SigningKeyError(Exception):
    """The configured key file is missing, unreadable or not an Ed25519 key."""


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def public_pem(public_key_raw: bytes) -> str:
    """The SubjectPublicKeyInfo PEM of a raw Ed25519 public key."""
    return (
        Ed25519PublicKey.from_public_bytes(public_key_raw)
        .public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )


class CheckpointSigner:
    """Signs checkpoints with one Ed25519 private key (satisfies SignCheckpoint)."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key_raw = _raw(private_key.public_key())
        self.key_id = key_id_of(self.public_key_raw)

    @classmethod
    def from_pem_file(cls, path: str | Path) -> CheckpointSigner:
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as error:
            raise SigningKeyError(f"cannot load the audit signing key {path}: {error}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def __call__(
        self, *, tenant_id: str, seq: int, head_hash: str, created_at: datetime
    ) -> tuple[str | None, str | None]:
        message = checkpoint_message(
            tenant_id=tenant_id, seq=seq, head_hash=head_hash, created_at=created_at
        )
        return base64.b64encode(self._key.sign(message)).decode("ascii"), self.key_id


def load_public_key(path: str | Path) -> bytes:
    """The raw public key from a PEM file holding an Ed25519 public (or private) key."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SigningKeyError(f"cannot read {path}: {error}") from None
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise SigningKeyError(f"{path} holds no PEM Ed25519 key") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 key") from None
        return _raw(private.public_key())
    if not isinstance(public, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return _raw(public)


def generate_key_pair(*, private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 pair (the private key readable by its owner only); return its id."""
    if private_path.exists():
        raise SigningKeyError(f"{private_path} exists; refusing to overwrite a signing key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    raw = _raw(key.public_key())
    public_path.write_text(public_pem(raw), encoding="ascii")
    return key_id_of(raw)
