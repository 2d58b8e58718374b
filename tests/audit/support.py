"""Building audited books for the audit tests, and tampering with them behind the chain's back.

Tampering bypasses the append-only triggers the way an attacker with database access would:
on PostgreSQL as the superuser with `session_replication_role = replica` (row triggers and
foreign keys do not fire), on SQLite by dropping the triggers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, delete, insert, select, text

from ordertrail.adapters.audit_signing import CheckpointSigner
from ordertrail.adapters.db.audit_store import SqlAuditStore
from ordertrail.adapters.db.tables_audit import audit_checkpoints, audit_heads, audit_records
from ordertrail.adapters.db.tables_revenue import journal_entries, journal_postings
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.domain.ledger import JournalEntry, Posting
from ordertrail.services import audit
from ordertrail.services.audit_ports import AuditRecord, AuditStore

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TENANT = "acme"
OTHER = "globex"
SIGNER = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
TABLES = (journal_postings, journal_entries, audit_records, audit_checkpoints, audit_heads)


def make_entry(tenant_id: str, number: int) -> JournalEntry:
    cause = f"{tenant_id}/ev-{number}"
    amount = 100 * (number + 1)
    day = date(2026, 11, 1 + number % 27)
    return JournalEntry(
        entry_id=f"E{number:04d}",
        kind="recognition",
        contract_id=f"C{number // 3}",
        obligation_id="1/unit",
        cause_event_id=cause,
        occurred_on=day,
        posted_on=day,
        postings=(
            Posting("contract_liabilities", amount, "USD", f"C{number // 3}", "1/unit", cause),
            Posting("revenue_goods", -amount, "USD", f"C{number // 3}", "1/unit", cause),
        ),
        memo=f"delivery {number}",
    )


def hold_record(number: int) -> AuditRecord:
    return AuditRecord(
        kind="hold.placed",
        subject=f"hold:H{number}",
        actor="key-1",
        cause=f"{TENANT}/ev-{number}",
        body={"reason_code": "dispute", "order_id": f"A-{number}", "lines": [1, 2]},
        occurred_at=T0 + timedelta(minutes=number),
    )


def post_entry(uow_factory: Callable[[], Any], tenant_id: str, number: int) -> None:
    """Post one entry and its audit record in one unit of work, as the revenue handler does."""
    entry = make_entry(tenant_id, number)
    with uow_factory() as uow:
        uow.ledger.append(
            tenant_id=tenant_id, entries=[entry], customer_id="cust-1", recorded_at=T0
        )
        uow.audit.append(
            tenant_id=tenant_id,
            records=[
                audit.entry_audit_record(
                    entry,
                    actor="system:revenue",
                    cause=entry.cause_event_id,
                    occurred_at=T0 + timedelta(hours=number),
                )
            ],
        )
        uow.commit()


def build_books(
    uow_factory: Callable[[], Any], store: AuditStore, *, entries: int = 9, holds: int = 3
) -> None:
    """Entries (each vouched for), holds and signed checkpoints for TENANT; a bit of OTHER."""
    for number in range(entries):
        post_entry(uow_factory, TENANT, number)
        if number < holds:
            with uow_factory() as uow:
                uow.audit.append(tenant_id=TENANT, records=[hold_record(number)])
                uow.commit()
        if number % 3 == 2:
            store.add_checkpoint(tenant_id=TENANT, now=T0 + timedelta(days=number), sign=SIGNER)
    post_entry(uow_factory, OTHER, 0)
    store.add_checkpoint(tenant_id=OTHER, now=T0, sign=SIGNER)


def sql_books(engine: Engine) -> SqlAuditStore:
    store = SqlAuditStore(engine)
    build_books(lambda: SqlUnitOfWork(engine), store)
    return store


def verify(store: AuditStore, tenant_id: str = TENANT) -> audit.TenantVerification:
    result = audit.verify(
        store=store, tenant_id=tenant_id, public_key_raw=SIGNER.public_key_raw, page_size=4
    )
    return result.tenants[0]


@contextmanager
def bypassed(engine: Engine) -> Iterator[Connection]:
    """A transaction in which the append-only triggers do not fire."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
            for name in list(names):
                connection.execute(text(f'DROP TRIGGER "{name}"'))
        yield connection


@dataclass(frozen=True, slots=True)
class Snapshot:
    rows: dict[str, list[dict[str, Any]]]

    @classmethod
    def take(cls, engine: Engine) -> Snapshot:
        with engine.connect() as connection:
            return cls(
                {
                    t.name: [dict(r) for r in connection.execute(select(t)).mappings()]
                    for t in TABLES
                }
            )

    def restore(self, engine: Engine) -> None:
        with bypassed(engine) as connection:
            for table in TABLES:
                connection.execute(delete(table))
            for table in reversed(TABLES):
                if self.rows[table.name]:
                    connection.execute(insert(table), self.rows[table.name])


def rows_of(connection: Connection, table: Any, **where: Any) -> list[dict[str, Any]]:
    query = select(table).where(*(table.c[k] == v for k, v in where.items()))
    return [dict(r) for r in connection.execute(query).mappings()]
