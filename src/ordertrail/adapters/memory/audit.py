"""The audit chain in memory, with the SQL adapter's semantics.

Records appended in a unit of work are staged and chained onto the committed head when the unit
of work commits, under the tables' lock: exactly the order PostgreSQL's head-row lock gives
concurrent appenders, and a discarded unit of work leaves no gap. The journal cross-check reads
the in-memory revenue tables, as the SQL store reads journal_entries and journal_postings.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ordertrail.adapters.memory.revenue import RevenueTables
from ordertrail.domain.audit import (
    CHECKPOINT_KIND,
    ENTRY_RECORD_KINDS,
    GENESIS_HASH,
    body_json,
    entry_digest,
    entry_subject,
    instant_text,
    record_hash,
)
from ordertrail.services.audit_ports import (
    AUDIT_PAGE_MAX,
    AuditRecord,
    ChainHead,
    ChainLink,
    Checkpoint,
    SignCheckpoint,
    StoredAuditRecord,
    checkpoint_record,
)

__all__ = ["AuditTables", "MemoryAuditLog", "MemoryAuditStore"]


@dataclass(slots=True)
class AuditTables:
    """The committed chains, heads and checkpoints of every tenant."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    records: dict[str, list[StoredAuditRecord]] = field(default_factory=dict)
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)
    checkpoints: dict[str, list[Checkpoint]] = field(default_factory=dict)

    def chain(self, *, tenant_id: str, records: Sequence[AuditRecord], now: datetime) -> None:
        """Append records after the tenant's head (callers hold the lock)."""
        seq, prev = self.heads.get(tenant_id, (0, GENESIS_HASH))
        chain = self.records.setdefault(tenant_id, [])
        for record in records:
            seq += 1
            text = body_json(record.body)
            digest = record_hash(
                tenant_id=tenant_id,
                seq=seq,
                kind=record.kind,
                subject=record.subject,
                actor=record.actor,
                cause=record.cause,
                body_text=text,
                occurred_at=record.occurred_at,
                prev_hash=prev,
            )
            chain.append(
                StoredAuditRecord(
                    tenant_id=tenant_id,
                    seq=seq,
                    kind=record.kind,
                    subject=record.subject,
                    actor=record.actor,
                    cause=record.cause,
                    body_json=text,
                    occurred_at=record.occurred_at.astimezone(UTC),
                    recorded_at=now,
                    prev_hash=prev,
                    hash=digest,
                )
            )
            prev = digest
        self.heads[tenant_id] = (seq, prev)


class MemoryAuditLog:
    """`uow.audit` in memory: staged until the unit of work commits."""

    def __init__(self, tables: AuditTables) -> None:
        self._tables = tables
        self._staged: list[tuple[str, list[AuditRecord]]] = []

    def append(self, *, tenant_id: str, records: Sequence[AuditRecord]) -> None:
        for record in records:
            # Refuse what SQL would refuse, at the same point: when it is appended.
            body_json(record.body)
            if record.occurred_at.tzinfo is None:
                raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        if records:
            self._staged.append((tenant_id, list(records)))

    def commit(self) -> None:
        now = datetime.now(UTC)
        with self._tables.lock:
            for tenant_id, records in self._staged:
                self._tables.chain(tenant_id=tenant_id, records=records, now=now)
        self._staged = []

    def discard(self) -> None:
        self._staged = []


class MemoryAuditStore:
    """Committed audit rows in memory (and the journal they vouch for)."""

    def __init__(self, tables: AuditTables, revenue: RevenueTables) -> None:
        self._tables = tables
        self._revenue = revenue

    def tenants(self) -> list[str]:
        with self._tables.lock, self._revenue.lock:
            names = set(self._tables.heads) | set(self._tables.checkpoints)
            names |= {t for (t, _id) in self._revenue.tables["entries"]}
        return sorted(names)

    def head(self, *, tenant_id: str) -> ChainHead | None:
        with self._tables.lock:
            head = self._tables.heads.get(tenant_id)
        return None if head is None else ChainHead(tenant_id, head[0], head[1])

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
        with self._tables.lock:
            chain = list(self._tables.records.get(tenant_id, ()))
        found = [
            r
            for r in chain
            if r.seq > after_seq
            and (subject is None or r.subject == subject)
            and (kind is None or r.kind == kind)
            and (cause is None or r.cause == cause)
        ]
        found.sort(key=lambda r: r.seq)
        return found[: min(limit, AUDIT_PAGE_MAX)]

    def chain(
        self, *, tenant_id: str, after_seq: int = 0, limit: int = AUDIT_PAGE_MAX
    ) -> list[ChainLink]:
        return [
            ChainLink(
                seq=r.seq,
                kind=r.kind,
                subject=r.subject,
                actor=r.actor,
                cause=r.cause,
                body_json=r.body_json,
                occurred_text=instant_text(r.occurred_at),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in self.records(tenant_id=tenant_id, after_seq=after_seq, limit=limit)
        ]

    def checkpoints(self, *, tenant_id: str) -> list[Checkpoint]:
        with self._tables.lock:
            return sorted(self._tables.checkpoints.get(tenant_id, ()), key=lambda c: c.seq)

    def add_checkpoint(
        self, *, tenant_id: str, now: datetime, sign: SignCheckpoint | None
    ) -> Checkpoint | None:
        with self._tables.lock:
            seq, head_hash = self._tables.heads.get(tenant_id, (0, GENESIS_HASH))
            chain = self._tables.records.get(tenant_id, [])
            if seq == 0 or (chain and chain[-1].kind == CHECKPOINT_KIND):
                return None
            signature, key_id = (
                sign(tenant_id=tenant_id, seq=seq, head_hash=head_hash, created_at=now)
                if sign is not None
                else (None, None)
            )
            checkpoint = Checkpoint(tenant_id, seq, head_hash, now, signature, key_id)
            self._tables.checkpoints.setdefault(tenant_id, []).append(checkpoint)
            self._tables.chain(
                tenant_id=tenant_id, records=[checkpoint_record(checkpoint)], now=now
            )
            return checkpoint

    def entry_digests(self, *, tenant_id: str, entry_ids: Sequence[str]) -> dict[str, str]:
        entries = self._revenue.tables["entries"]
        with self._revenue.lock:
            found = {i: entries.get((tenant_id, i)) for i in entry_ids}
        return {i: entry_digest(value[0]) for i, value in found.items() if value is not None}

    def journal_entry_ids(
        self, *, tenant_id: str, after: str = "", limit: int = AUDIT_PAGE_MAX
    ) -> list[str]:
        with self._revenue.lock:
            ids = sorted(
                i for (t, i) in self._revenue.tables["entries"] if t == tenant_id and i > after
            )
        return ids[: min(limit, AUDIT_PAGE_MAX)]

    def audited_entries(self, *, tenant_id: str, entry_ids: Sequence[str]) -> set[str]:
        wanted = {entry_subject(i): i for i in entry_ids}
        with self._tables.lock:
            chain = list(self._tables.records.get(tenant_id, ()))
        return {
            wanted[r.subject] for r in chain if r.subject in wanted and r.kind in ENTRY_RECORD_KINDS
        }
