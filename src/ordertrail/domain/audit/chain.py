"""The hash chain: how one audit record is hashed and linked to the one before it.

hash = SHA-256 over the canonical JSON of
    {"actor", "body", "cause", "kind", "occurred_at", "prev_hash", "seq", "subject", "tenant"}
where body is the record's JSON value, occurred_at is ISO 8601 in UTC with microseconds, and
prev_hash is the previous record's hash (GENESIS_HASH for seq 1). Everything a reader relies on
is inside the hash except recorded_at, which is the database's bookkeeping, not a fact.

The body is stored as its canonical JSON text and spliced into the envelope unchanged, so
verification never re-encodes a body: it hashes the bytes that were stored, which is both faster
and stricter (any edit of the stored text, even a semantically neutral one, breaks the hash).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from ordertrail.domain.canonical import canonical_json

GENESIS_HASH = "0" * 64
"""The prev_hash of every tenant's first record."""


def body_json(body: Mapping[str, Any]) -> str:
    """The canonical JSON text a record's body is stored and hashed as."""
    return canonical_json(dict(body))


def instant_text(value: datetime) -> str:
    """The hashed form of a timestamp: ISO 8601, UTC, always with microseconds."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not hashed; pass an aware UTC datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def envelope_json(
    *,
    tenant_id: str,
    seq: int,
    kind: str,
    subject: str,
    actor: str,
    cause: str | None,
    body_text: str,
    occurred_text: str,
    prev_hash: str,
) -> bytes:
    """The canonical JSON bytes a record's hash is taken over (keys sorted, no whitespace).

    `occurred_text` is `instant_text(occurred_at)`; verification reads it from the database in
    that form directly, which spares parsing and re-formatting a timestamp per record.
    """
    return orjson.dumps(
        {
            "actor": actor,
            "body": orjson.Fragment(body_text),
            "cause": cause,
            "kind": kind,
            "occurred_at": occurred_text,
            "prev_hash": prev_hash,
            "seq": seq,
            "subject": subject,
            "tenant": tenant_id,
        },
        option=orjson.OPT_SORT_KEYS,
    )


def link_hash(
    *,
    tenant_id: str,
    seq: int,
    kind: str,
    subject: str,
    actor: str,
    cause: str | None,
    body_text: str,
    occurred_text: str,
    prev_hash: str,
) -> str:
    """The lowercase hex SHA-256 of a record whose timestamp is already in its hashed form."""
    return hashlib.sha256(
        envelope_json(
            tenant_id=tenant_id,
            seq=seq,
            kind=kind,
            subject=subject,
            actor=actor,
            cause=cause,
            body_text=body_text,
            occurred_text=occurred_text,
            prev_hash=prev_hash,
        )
    ).hexdigest()


def record_hash(
    *,
    tenant_id: str,
    seq: int,
    kind: str,
    subject: str,
    actor: str,
    cause: str | None,
    body_text: str,
    occurred_at: datetime,
    prev_hash: str,
) -> str:
    """The lowercase hex SHA-256 that links a record into its tenant's chain."""
    return link_hash(
        tenant_id=tenant_id,
        seq=seq,
        kind=kind,
        subject=subject,
        actor=actor,
        cause=cause,
        body_text=body_text,
        occurred_text=instant_text(occurred_at),
        prev_hash=prev_hash,
    )
