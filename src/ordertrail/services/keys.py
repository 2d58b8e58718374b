"""API keys: high-entropy bearer tokens, stored only as SHA-256 hashes, bound to one tenant.

A token reads `ot_<key id>_<secret>`. The key id finds the record; the secret's hash is compared
in constant time. A fast hash is right here because the secret is 256 random bits, not a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from ordertrail.services.access import Role
from ordertrail.services.ports import ApiKeyRecord, KeyStore

TOKEN_PATTERN = re.compile(r"^ot_([a-f0-9]{16})_([A-Za-z0-9_-]{43})$")
TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class InvalidKeyRequest(ValueError):
    """A key cannot be created as asked (unknown role, bad tenant id)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, tenant and roles, and the person owning the key if named."""

    key_id: str
    tenant_id: str
    roles: tuple[str, ...]
    owner: str | None = None

    @property
    def actor(self) -> str:
        return f"key:{self.key_id}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_key(
    *,
    store: KeyStore,
    tenant_id: str,
    roles: list[str],
    name: str,
    now: datetime,
    owner: str | None = None,
) -> tuple[ApiKeyRecord, str]:
    """Create a key and return its record and the token, which is shown this once only."""
    if not TENANT_PATTERN.match(tenant_id):
        raise InvalidKeyRequest(
            f"tenant id {tenant_id!r} must be lowercase letters, digits, '-' or '_'"
        )
    known = {role.value for role in Role}
    unknown = sorted(set(roles) - known)
    if not roles or unknown:
        raise InvalidKeyRequest(
            f"unknown role(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(sorted(known))}"
        )
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKeyRecord(
        key_id=key_id,
        tenant_id=tenant_id,
        name=name,
        roles=tuple(sorted(set(roles))),
        secret_sha256=_digest(secret),
        created_at=now,
        owner=(owner or "").strip() or None,
    )
    store.add(key=record)
    return record, f"ot_{key_id}_{secret}"


def authenticate(*, store: KeyStore, token: str) -> Principal | None:
    """Return the principal of a valid, unrevoked token, else None (never saying what failed)."""
    match = TOKEN_PATTERN.match(token)
    if match is None:
        return None
    key_id, secret = match.groups()
    record = store.get(key_id=key_id)
    if record is None or record.revoked_at is not None:
        # Compare anyway so a missing key costs the same time as a wrong secret.
        hmac.compare_digest(_digest(secret), "0" * 64)
        return None
    if not hmac.compare_digest(_digest(secret), record.secret_sha256):
        return None
    return Principal(
        key_id=record.key_id, tenant_id=record.tenant_id, roles=record.roles, owner=record.owner
    )
