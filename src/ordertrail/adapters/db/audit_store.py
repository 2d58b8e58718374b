"""The audit chain on SQL: appends in the caller's transaction, reads for verify and listing.

Appending locks the tenant's audit_heads row (SELECT ... FOR UPDATE on PostgreSQL; on SQLite the
write transaction is BEGIN IMMEDIATE, so the single writer serializes), chains the new records
after it and moves the head, all in the caller's transaction: concurrent appenders to one tenant
queue on that row, and seq stays gapless because a rolled-back append leaves the head untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    cast,
    func,
    insert,
    select,
    union,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables_audit import audit_checkpoints, audit_heads, audit_records
from ordertrail.adapters.db.tables_revenue import journal_entries, journal_postings
from ordertrail.domain.audit import (
    CHECKPOINT_KIND,
    ENTRY_RECORD_KINDS,
    GENESIS_HASH,
    PostingLine,
    body_json,
    entry_subject,
    postings_digest,
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

# Bound the IN lists of one statement (SQLite allows 32766 parameters, PostgreSQL 65535).
_IN_CHUNK = 1_000
# Appends up to this many records are one multi-row INSERT on PostgreSQL (11 parameters each).
_ONE_STATEMENT_MAX = 1_000
_CHAIN_COLUMNS = "seq, kind, subject, actor, cause, body, {occurred}, prev_hash, hash"
_CHAIN_WHERE = " FROM audit_records WHERE tenant_id = {p} AND seq > {p} ORDER BY seq LIMIT {p}"
# occurred_at as `instant_text` writes it, formatted by PostgreSQL.
_CHAIN_PG = (
    "SELECT "
    + _CHAIN_COLUMNS.format(
        occurred="to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"
    )
    + _CHAIN_WHERE.format(p="%s")
)
_CHAIN_SQLITE = (
    "SELECT " + _CHAIN_COLUMNS.format(occurred="occurred_at") + _CHAIN_WHERE.format(p="?")
)


def _lock_head(connection: Connection, tenant_id: str) -> tuple[int, str]:
    """Lock (creating it if need be) the tenant's head row and return its seq and hash."""
    query = select(audit_heads.c.seq, audit_heads.c.head_hash).where(
        audit_heads.c.tenant_id == tenant_id
    )
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        values = {"tenant_id": tenant_id, "seq": 0, "head_hash": GENESIS_HASH}
        insert: Any = (postgresql.insert if postgres else sqlite.insert)(audit_heads)
        connection.execute(insert.values(**values).on_conflict_do_nothing())
        row = connection.execute(query).one()
    return int(row.seq), str(row.head_hash)


def append_records(
    connection: Connection, *, tenant_id: str, records: Sequence[AuditRecord], now: datetime
) -> list[StoredAuditRecord]:
    """Chain `records` after the tenant's head in the connection's transaction."""
    if not records:
        return []
    seq, prev = _lock_head(connection, tenant_id)
    stored: list[StoredAuditRecord] = []
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
        stored.append(
            StoredAuditRecord(
                tenant_id=tenant_id,
                seq=seq,
                kind=record.kind,
                subject=record.subject,
                actor=record.actor,
                cause=record.cause,
                body_json=text,
                occurred_at=record.occurred_at,
                recorded_at=now,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    rows = [
        {
            "tenant_id": tenant_id,
            "seq": s.seq,
            "kind": s.kind,
            "subject": s.subject,
            "actor": s.actor,
            "cause": s.cause,
            "body": s.body_json,
            "occurred_at": s.occurred_at,
            "recorded_at": s.recorded_at,
            "prev_hash": s.prev_hash,
            "hash": s.hash,
        }
        for s in stored
    ]
    move_head = (
        update(audit_heads)
        .where(audit_heads.c.tenant_id == tenant_id)
        .values(seq=seq, head_hash=prev)
    )
    if connection.dialect.name == "postgresql" and len(rows) <= _ONE_STATEMENT_MAX:
        # One round trip for both: the head moves in a data-modifying CTE of the insert.
        connection.execute(insert(audit_records).values(rows).add_cte(move_head.cte("moved")))
        return stored
    connection.execute(audit_records.insert(), rows)
    connection.execute(move_head)
    return stored


class SqlAuditLog:
    """`uow.audit`: appends in the unit of work's transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, *, tenant_id: str, records: Sequence[AuditRecord]) -> None:
        append_records(
            self._connection, tenant_id=tenant_id, records=records, now=datetime.now(UTC)
        )


def _stored(row: Any) -> StoredAuditRecord:
    return StoredAuditRecord(
        tenant_id=row.tenant_id,
        seq=row.seq,
        kind=row.kind,
        subject=row.subject,
        actor=row.actor,
        cause=row.cause,
        body_json=row.body,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditStore:
    """Committed audit rows: verification, listing and checkpoints."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tenants(self) -> list[str]:
        query = union(
            select(audit_heads.c.tenant_id),
            select(audit_checkpoints.c.tenant_id).distinct(),
            select(journal_entries.c.tenant_id).distinct(),
        )
        with self._engine.connect() as connection:
            return sorted(str(t) for t in connection.execute(query).scalars())

    def head(self, *, tenant_id: str) -> ChainHead | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(audit_heads).where(audit_heads.c.tenant_id == tenant_id)
            ).first()
        if row is None:
            return None
        return ChainHead(tenant_id=tenant_id, seq=int(row.seq), head_hash=str(row.head_hash))

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
        r = audit_records
        conditions = [r.c.tenant_id == tenant_id, r.c.seq > after_seq]
        if subject is not None:
            conditions.append(r.c.subject == subject)
        if kind is not None:
            conditions.append(r.c.kind == kind)
        if cause is not None:
            conditions.append(r.c.cause == cause)
        query = (
            select(r).where(and_(*conditions)).order_by(r.c.seq).limit(min(limit, AUDIT_PAGE_MAX))
        )
        with self._engine.connect() as connection:
            return [_stored(row) for row in connection.execute(query)]

    def chain(
        self, *, tenant_id: str, after_seq: int = 0, limit: int = AUDIT_PAGE_MAX
    ) -> list[ChainLink]:
        # The hot read of verification, on the driver's cursor: SQLAlchemy's row machinery cost
        # several times the hashing. The timestamp comes as text in its hashed form.
        postgres = self._engine.dialect.name == "postgresql"
        sql = _CHAIN_PG if postgres else _CHAIN_SQLITE
        with self._engine.connect() as connection:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(sql, (tenant_id, after_seq, min(limit, AUDIT_PAGE_MAX)))
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if postgres:
            return [ChainLink(*row) for row in rows]
        # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (UtcDateTime).
        return [
            ChainLink(s, k, sub, a, c, b, f"{t[:10]}T{t[11:]}+00:00", p, h)
            for s, k, sub, a, c, b, t, p, h in rows
        ]

    def checkpoints(self, *, tenant_id: str) -> list[Checkpoint]:
        c = audit_checkpoints
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(c).where(c.c.tenant_id == tenant_id).order_by(c.c.seq)
            ).all()
        return [
            Checkpoint(
                tenant_id=tenant_id,
                seq=int(row.seq),
                head_hash=row.head_hash,
                created_at=row.created_at,
                signature=row.signature,
                key_id=row.key_id,
            )
            for row in rows
        ]

    def add_checkpoint(
        self, *, tenant_id: str, now: datetime, sign: SignCheckpoint | None
    ) -> Checkpoint | None:
        connection = self._engine.connect().execution_options(**{WRITE_OPTION: True})
        try:
            with connection.begin():
                seq, head_hash = _lock_head(connection, tenant_id)
                if seq == 0:
                    return None
                last = connection.execute(
                    select(audit_records.c.kind).where(
                        audit_records.c.tenant_id == tenant_id, audit_records.c.seq == seq
                    )
                ).scalar_one_or_none()
                if last == CHECKPOINT_KIND:
                    # Nothing happened since the last checkpoint: do not grow the chain.
                    return None
                signature, key_id = (
                    sign(tenant_id=tenant_id, seq=seq, head_hash=head_hash, created_at=now)
                    if sign is not None
                    else (None, None)
                )
                checkpoint = Checkpoint(
                    tenant_id=tenant_id,
                    seq=seq,
                    head_hash=head_hash,
                    created_at=now,
                    signature=signature,
                    key_id=key_id,
                )
                connection.execute(
                    audit_checkpoints.insert().values(
                        tenant_id=tenant_id,
                        seq=seq,
                        head_hash=head_hash,
                        created_at=now,
                        signature=signature,
                        key_id=key_id,
                    )
                )
                append_records(
                    connection,
                    tenant_id=tenant_id,
                    records=[checkpoint_record(checkpoint)],
                    now=now,
                )
            return checkpoint
        finally:
            connection.close()

    def entry_digests(self, *, tenant_id: str, entry_ids: Sequence[str]) -> dict[str, str]:
        e, p = journal_entries, journal_postings
        digests: dict[str, str] = {}
        with self._engine.connect() as connection:
            for start in range(0, len(entry_ids), _IN_CHUNK):
                chunk = list(entry_ids[start : start + _IN_CHUNK])
                lines: dict[str, list[PostingLine]] = {}
                postings = connection.execute(
                    select(
                        p.c.entry_id,
                        p.c.account,
                        p.c.amount_minor,
                        p.c.currency,
                        p.c.contract_id,
                        p.c.obligation_id,
                        p.c.cause_event_id,
                    )
                    .where(p.c.tenant_id == tenant_id, p.c.entry_id.in_(chunk))
                    .order_by(p.c.entry_id, p.c.line_no)
                ).all()
                for entry_id, *fields in postings:
                    lines.setdefault(entry_id, []).append(PostingLine(*fields))
                heads = connection.execute(
                    select(
                        e.c.entry_id,
                        e.c.kind,
                        e.c.contract_id,
                        e.c.obligation_id,
                        e.c.cause_event_id,
                        # Dates as ISO text, the form the digest takes, on both databases.
                        cast(e.c.occurred_on, String),
                        cast(e.c.posted_on, String),
                        e.c.reverses,
                        e.c.memo,
                    ).where(e.c.tenant_id == tenant_id, e.c.entry_id.in_(chunk))
                ).all()
                for (
                    entry_id,
                    kind,
                    contract,
                    obligation,
                    cause,
                    occurred,
                    posted,
                    rev,
                    memo,
                ) in heads:
                    digests[entry_id] = postings_digest(
                        entry_id=entry_id,
                        kind=kind,
                        contract_id=contract,
                        obligation_id=obligation,
                        cause_event_id=cause,
                        occurred_on=occurred,
                        posted_on=posted,
                        reverses=rev,
                        memo=memo,
                        postings=lines.get(entry_id, []),
                    )
                # Postings whose entry row is gone still prove the entry existed.
                for orphan in set(lines) - set(digests):
                    digests[orphan] = "postings without an entry"
        return digests

    def journal_entry_ids(
        self, *, tenant_id: str, after: str = "", limit: int = AUDIT_PAGE_MAX
    ) -> list[str]:
        e = journal_entries
        query = (
            select(e.c.entry_id)
            .where(e.c.tenant_id == tenant_id, e.c.entry_id > after)
            .order_by(e.c.entry_id)
            .limit(min(limit, AUDIT_PAGE_MAX))
        )
        with self._engine.connect() as connection:
            return [str(x) for x in connection.execute(query).scalars()]

    def audited_entries(self, *, tenant_id: str, entry_ids: Sequence[str]) -> set[str]:
        r = audit_records
        found: set[str] = set()
        with self._engine.connect() as connection:
            for start in range(0, len(entry_ids), _IN_CHUNK):
                subjects = [entry_subject(i) for i in entry_ids[start : start + _IN_CHUNK]]
                found.update(
                    str(s).removeprefix("entry:")
                    for s in connection.execute(
                        select(r.c.subject)
                        .where(
                            r.c.tenant_id == tenant_id,
                            r.c.subject.in_(subjects),
                            r.c.kind.in_(ENTRY_RECORD_KINDS),
                        )
                        .distinct()
                    ).scalars()
                )
        return found

    def count(self, *, tenant_id: str) -> int:
        with self._engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(audit_records)
                    .where(audit_records.c.tenant_id == tenant_id)
                ).scalar_one()
            )
