"""Checkpoint signatures: Ed25519 over the canonical JSON of (tenant, seq, head hash, time).

Signing needs the private key, which an adapter loads; checking needs only the public key and is
pure computation, so it lives here with the rest of verification.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ordertrail.domain.audit.chain import instant_text
from ordertrail.domain.canonical import canonical_json_of_own


def checkpoint_message(*, tenant_id: str, seq: int, head_hash: str, created_at: datetime) -> bytes:
    """The bytes a checkpoint's signature covers."""
    return canonical_json_of_own(
        {
            "created_at": instant_text(created_at),
            "head_hash": head_hash,
            "seq": seq,
            "tenant": tenant_id,
        }
    ).encode("utf-8")


def key_id_of(public_key_raw: bytes) -> str:
    """A short, stable name for a public key: 16 hex digits of the SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def signature_valid(*, public_key_raw: bytes, message: bytes, signature_b64: str) -> bool:
    """Say whether `signature_b64` is the key's Ed25519 signature of `message`."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public_key_raw).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
