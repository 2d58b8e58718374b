"""Ports of the tamper-evident audit trail: appending in the caller's transaction, and reading.

Appends go through `uow.audit` so an audit record commits or rolls back with the change it
describes; a record can never describe something that did not happen, and nothing that happened
can skip its record. Reads (verification, listing, checkpoints) use `AuditStore`, outside any
unit of work, because they only look at committed rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ordertrail.domain.audit import CHECKPOINT_KIND, instant_text

AUDIT_PAGE_MAX = 5_000
"""The most records one read returns; verification and listing page with keyset cursors."""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One revenue event to append to a tenant's chain (the fields that are hashed)."""

    kind: str
    """e.g. recognition, reversal, hold.placed, approval.approved, dispute.opened."""
    subject: str
    """What it is about: "order:<id>", "entry:<id>", "hold:<id>", "request:<id>", ..."""
    actor: str
    """The API key id / user, or "system:<component>"."""
    cause: str | None
    """The tracking milestone message id (tenant/event_id) behind it, if any."""
    body: Mapping[str, Any]
    """JSON-able details; hashed as canonical JSON."""
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAuditRecord:
    """One link of a chain as stored: the record, its position and its hashes."""

    tenant_id: str
    seq: int
    kind: str
    subject: str
    actor: str
    cause: str | None
    body_json: str
    """The body as the canonical JSON text that was hashed."""
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainLink:
    """A stored record as verification reads it: the hashed fields, the timestamp as hashed."""

    seq: int
    kind: str
    subject: str
    actor: str
    cause: str | None
    body_json: str
    occurred_text: str
    """occurred_at as `instant_text` gives it (ISO 8601, UTC, microseconds)."""
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A chain's head and length at one moment, signed when a key is configured."""

    tenant_id: str
    seq: int
    head_hash: str
    created_at: datetime
    signature: str | None
    """Base64 Ed25519 signature over the checkpoint's canonical JSON, or None when unsigned."""
    key_id: str | None
    """The signing key's id: the first 16 hex digits of the SHA-256 of its raw public key."""


@dataclass(frozen=True, slots=True)
class ChainHead:
    tenant_id: str
    seq: int
    head_hash: str


class AuditLog(Protocol):
    """Append records to a tenant's chain in the caller's transaction."""

    def append(self, *, tenant_id: str, records: Sequence[AuditRecord]) -> None:
        """Chain `records` after the tenant's head, in order; they commit with the caller."""
        ...


class AuditUnitOfWork(Protocol):
    """What a service needs of a unit of work to append audit records."""

    audit: AuditLog


class AuditStore(Protocol):
    """Committed audit rows, for verification, listing and checkpoints."""

    def tenants(self) -> list[str]:
        """Every tenant with a chain, a checkpoint or a journal entry, sorted."""
        ...

    def head(self, *, tenant_id: str) -> ChainHead | None: ...

    def records(
        self,
        *,
        tenant_id: str,
        after_seq: int = 0,
        limit: int = AUDIT_PAGE_MAX,
        subject: str | None = None,
        kind: str | None = None,
        cause: str | None = None,
    ) -> list[StoredAuditRecord]:
        """Records with seq > after_seq in seq order, optionally filtered; at most `limit`."""
        ...

    def chain(
        self, *, tenant_id: str, after_seq: int = 0, limit: int = AUDIT_PAGE_MAX
    ) -> list[ChainLink]:
        """The links with seq > after_seq in seq order, at most `limit`: what verify reads."""
        ...

    def checkpoints(self, *, tenant_id: str) -> list[Checkpoint]:
        """Every checkpoint of the tenant, oldest first."""
        ...

    def add_checkpoint(
        self, *, tenant_id: str, now: datetime, sign: SignCheckpoint | None
    ) -> Checkpoint | None:
        """Record the tenant's committed head as a checkpoint; None if the chain is empty."""
        ...

    def entry_digests(self, *, tenant_id: str, entry_ids: Sequence[str]) -> dict[str, str]:
        """The postings digest of each stored journal entry among `entry_ids`."""
        ...

    def journal_entry_ids(
        self, *, tenant_id: str, after: str = "", limit: int = AUDIT_PAGE_MAX
    ) -> list[str]:
        """Stored journal entry ids > after, in order; at most `limit`."""
        ...

    def audited_entries(self, *, tenant_id: str, entry_ids: Sequence[str]) -> set[str]:
        """Which of `entry_ids` have a recognition/reversal audit record ("entry:<id>")."""
        ...


class SignCheckpoint(Protocol):
    """Sign a checkpoint: returns (signature, key id) for the given head."""

    def __call__(
        self, *, tenant_id: str, seq: int, head_hash: str, created_at: datetime
    ) -> tuple[str | None, str | None]: ...


def checkpoint_record(checkpoint: Checkpoint) -> AuditRecord:
    """The chain record that vouches for a checkpoint row (so the row cannot change unseen)."""
    return AuditRecord(
        kind=CHECKPOINT_KIND,
        subject=f"checkpoint:{checkpoint.seq}",
        actor="system:audit",
        cause=None,
        body={
            "seq": checkpoint.seq,
            "head_hash": checkpoint.head_hash,
            "created_at": instant_text(checkpoint.created_at),
            "signature": checkpoint.signature,
            "key_id": checkpoint.key_id,
        },
        occurred_at=checkpoint.created_at,
    )
