"""The chain on SQLite and PostgreSQL: appends in the caller's transaction, gapless under
concurrency, append-only tables refused by the database, checkpoints only when the chain moved."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, exc, text

from ordertrail.adapters.db.audit_store import SqlAuditStore
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.domain.audit import GENESIS_HASH
from tests.audit.support import OTHER, SIGNER, T0, TENANT, hold_record, sql_books, verify


def test_untouched_books_verify_with_every_entry_vouched_for(engine: Engine):
    store = sql_books(engine)
    report = verify(store)
    assert report.ok, report.breaks
    # 9 entries, 3 holds, 3 checkpoint records.
    assert (report.records, report.checkpoints, report.entries_checked) == (15, 3, 9)
    assert report.signatures_checked == 3
    assert verify(store, OTHER).ok


def test_records_chain_from_genesis_in_seq_order(engine: Engine):
    store = sql_books(engine)
    records = store.records(tenant_id=TENANT)
    assert [r.seq for r in records] == list(range(1, 16))
    assert records[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))
    head = store.head(tenant_id=TENANT)
    assert head is not None
    assert (head.seq, head.head_hash) == (15, records[-1].hash)


def test_a_rolled_back_append_leaves_no_gap(engine: Engine):
    with SqlUnitOfWork(engine) as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(1), hold_record(2)])
        # Leaving without commit rolls back, the head included.
    with SqlUnitOfWork(engine) as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(3)])
        uow.commit()
    store = SqlAuditStore(engine)
    assert [r.subject for r in store.records(tenant_id=TENANT)] == ["hold:H3"]
    assert verify(store).ok


def test_concurrent_appenders_to_one_tenant_serialize_into_a_gapless_chain(engine: Engine):
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            for n in range(8):
                with SqlUnitOfWork(engine) as uow:
                    uow.audit.append(tenant_id=TENANT, records=[hold_record(worker * 100 + n)])
                    uow.commit()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = SqlAuditStore(engine)
    assert [r.seq for r in store.records(tenant_id=TENANT)] == list(range(1, 33))
    assert verify(store).ok


@pytest.mark.parametrize(
    "table", ["audit_records", "audit_checkpoints", "journal_entries", "journal_postings"]
)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET tenant_id = tenant_id", "DELETE FROM {t}"])
def test_the_database_refuses_to_change_audit_and_journal_rows(
    engine: Engine, table: str, statement: str
):
    sql_books(engine)
    with pytest.raises(exc.DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement.format(t=table)))


def test_a_checkpoint_is_taken_only_when_the_chain_moved(engine: Engine):
    store = SqlAuditStore(engine)
    assert store.add_checkpoint(tenant_id=TENANT, now=T0, sign=SIGNER) is None
    with SqlUnitOfWork(engine) as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(1)])
        uow.commit()
    first = store.add_checkpoint(tenant_id=TENANT, now=T0, sign=SIGNER)
    assert first is not None
    assert (first.seq, first.key_id) == (1, SIGNER.key_id)
    assert store.add_checkpoint(tenant_id=TENANT, now=T0 + timedelta(hours=1), sign=None) is None
    assert [c.seq for c in store.checkpoints(tenant_id=TENANT)] == [1]
    assert verify(store).ok
