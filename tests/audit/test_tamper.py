"""Tamper tests: for each audited table, change, delete, insert or swap a random row behind the
append-only triggers' back; verify must fail and name that row (its seq, or its journal entry).

One set of books per database; each hypothesis example tampers, verifies and restores it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, and_, delete, insert, select, update

from ordertrail.adapters.db.audit_store import SqlAuditStore
from ordertrail.adapters.db.tables_audit import audit_checkpoints, audit_records
from ordertrail.adapters.db.tables_revenue import journal_entries, journal_postings
from ordertrail.domain.audit import Problem, record_hash
from tests.audit.support import TENANT, Snapshot, bypassed, rows_of, sql_books, verify

EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
ACTIONS = st.sampled_from(["change", "delete", "insert", "swap"])


class Books:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store: SqlAuditStore = sql_books(engine)
        self.snapshot = Snapshot.take(engine)
        self.records = self.store.records(tenant_id=TENANT)
        self.entry_seq = {
            r.subject.removeprefix("entry:"): r.seq
            for r in self.records
            if r.subject.startswith("entry:")
        }

    def tampered(self) -> Iterator[Connection]:
        with bypassed(self.engine) as connection:
            yield connection

    def restore(self) -> None:
        self.snapshot.restore(self.engine)


@pytest.fixture
def books(engine: Engine) -> Books:
    made = Books(engine)
    assert verify(made.store).ok
    return made


def _first(books: Books) -> Any:
    report = verify(books.store)
    assert not report.ok
    assert report.first is not None
    return report.first


def _records_where(seq: int) -> Any:
    return and_(audit_records.c.tenant_id == TENANT, audit_records.c.seq == seq)


# ---- audit_records ---------------------------------------------------------------------------


@EXAMPLES
@given(action=ACTIONS, data=st.data())
def test_tampering_with_a_chain_record_breaks_the_chain_at_that_record(
    books: Books, action: str, data: st.DataObject
):
    n = len(books.records)
    k = data.draw(st.integers(1, n), label="seq")
    try:
        with bypassed(books.engine) as c:
            expected = _tamper_record(c, books, action, k, data)
        first = _first(books)
        assert first.seq == expected, (action, k, first)
    finally:
        books.restore()
    assert verify(books.store).ok


def _tamper_record(c: Connection, books: Books, action: str, k: int, data: st.DataObject) -> int:
    n = len(books.records)
    row = rows_of(c, audit_records, tenant_id=TENANT, seq=k)[0]
    if action == "change":
        field = data.draw(st.sampled_from(["kind", "subject", "actor", "cause", "body"]))
        value = '{"tampered":true}' if field == "body" else "tampered"
        c.execute(update(audit_records).where(_records_where(k)).values({field: value}))
        return k
    if action == "delete":
        c.execute(delete(audit_records).where(_records_where(k)))
        # A deleted record is a gap at its seq (the head still counts it, if it was the last).
        return k
    if action == "insert":
        # A forged record at position k, hashed correctly and linked to k-1; the records from k
        # on move up one. The forgery is consistent with its predecessor, so the chain breaks
        # at the link after it: the moved record's seq is in its hash and its prev no longer
        # matches. (Forging k+1 too would just move the break on, up to the checkpoint.)
        for record in reversed(books.records[k - 1 :]):
            c.execute(
                update(audit_records).where(_records_where(record.seq)).values(seq=record.seq + 1)
            )
        forged = {**row, "seq": k, "kind": "override.applied", "body": '{"forged":1}'}
        forged["hash"] = record_hash(
            tenant_id=TENANT,
            seq=k,
            kind=forged["kind"],
            subject=forged["subject"],
            actor=forged["actor"],
            cause=forged["cause"],
            body_text=forged["body"],
            occurred_at=forged["occurred_at"],
            prev_hash=forged["prev_hash"],
        )
        c.execute(insert(audit_records).values(**forged))
        # Where a checkpoint fixed the hash at seq k, the forgery itself is caught.
        checkpointed = {cp.seq for cp in books.store.checkpoints(tenant_id=TENANT)}
        return k if k in checkpointed else k + 1
    other = data.draw(st.integers(1, n).filter(lambda j: j != k), label="other seq")
    other_row = rows_of(c, audit_records, tenant_id=TENANT, seq=other)[0]
    moved = ("kind", "subject", "actor", "cause", "body", "occurred_at", "prev_hash", "hash")
    c.execute(
        update(audit_records).where(_records_where(k)).values({f: other_row[f] for f in moved})
    )
    c.execute(update(audit_records).where(_records_where(other)).values({f: row[f] for f in moved}))
    return min(k, other)


def test_a_rewritten_record_with_a_recomputed_hash_breaks_the_next_link(books: Books):
    k = 4
    try:
        with bypassed(books.engine) as c:
            row = rows_of(c, audit_records, tenant_id=TENANT, seq=k)[0]
            body = '{"rewritten":true}'
            digest = record_hash(
                tenant_id=TENANT,
                seq=k,
                kind=row["kind"],
                subject=row["subject"],
                actor=row["actor"],
                cause=row["cause"],
                body_text=body,
                occurred_at=row["occurred_at"],
                prev_hash=row["prev_hash"],
            )
            c.execute(update(audit_records).where(_records_where(k)).values(body=body, hash=digest))
        first = _first(books)
        assert (first.seq, first.problem) == (k + 1, Problem.PREV_LINK_BROKEN)
    finally:
        books.restore()


# ---- audit_checkpoints -----------------------------------------------------------------------


def _checkpoint_where(seq: int) -> Any:
    return and_(audit_checkpoints.c.tenant_id == TENANT, audit_checkpoints.c.seq == seq)


@EXAMPLES
@given(action=ACTIONS, data=st.data())
def test_tampering_with_a_checkpoint_fails_at_its_seq(
    books: Books, action: str, data: st.DataObject
):
    checkpoints = books.store.checkpoints(tenant_id=TENANT)
    chosen = data.draw(st.sampled_from(checkpoints), label="checkpoint")
    try:
        with bypassed(books.engine) as c:
            if action == "change":
                field = data.draw(st.sampled_from(["head_hash", "signature", "created_at"]))
                value: Any = {
                    "head_hash": "f" * 64,
                    "signature": "AAAA",
                    "created_at": chosen.created_at.replace(year=2020),
                }[field]
                c.execute(
                    update(audit_checkpoints)
                    .where(_checkpoint_where(chosen.seq))
                    .values({field: value})
                )
                expected = chosen.seq
            elif action == "delete":
                c.execute(delete(audit_checkpoints).where(_checkpoint_where(chosen.seq)))
                expected = chosen.seq
            elif action == "insert":
                taken = {cp.seq for cp in checkpoints}
                seq = data.draw(
                    st.sampled_from([r.seq for r in books.records if r.seq not in taken]),
                    label="forged checkpoint seq",
                )
                c.execute(
                    insert(audit_checkpoints).values(
                        tenant_id=TENANT,
                        seq=seq,
                        head_hash=books.records[seq - 1].hash,
                        created_at=chosen.created_at,
                        signature=None,
                        key_id=None,
                    )
                )
                # Unsigned and unvouched: the record after its head should vouch for it.
                expected = seq + 1
            else:
                other = data.draw(
                    st.sampled_from([cp for cp in checkpoints if cp.seq != chosen.seq])
                )
                for a, b in ((chosen, other), (other, chosen)):
                    c.execute(
                        update(audit_checkpoints)
                        .where(_checkpoint_where(a.seq))
                        .values(
                            head_hash=b.head_hash, created_at=b.created_at, signature=b.signature
                        )
                    )
                expected = min(chosen.seq, other.seq)
        first = _first(books)
        assert first.seq == expected, (action, first)
        assert first.problem in {Problem.CHECKPOINT_MISMATCH, Problem.BAD_SIGNATURE}
    finally:
        books.restore()
    assert verify(books.store).ok


# ---- journal_entries and journal_postings ----------------------------------------------------


def _postings_where(entry_id: str, line_no: int | None = None) -> Any:
    p = journal_postings
    condition = and_(p.c.tenant_id == TENANT, p.c.entry_id == entry_id)
    return condition if line_no is None else and_(condition, p.c.line_no == line_no)


@EXAMPLES
@given(action=ACTIONS, data=st.data())
def test_tampering_with_a_posting_fails_at_its_entry(
    books: Books, action: str, data: st.DataObject
):
    entry_ids = sorted(books.entry_seq)
    entry_id = data.draw(st.sampled_from(entry_ids), label="entry")
    line = data.draw(st.integers(1, 2), label="line")
    try:
        with bypassed(books.engine) as c:
            row = rows_of(c, journal_postings, tenant_id=TENANT, entry_id=entry_id, line_no=line)[0]
            involved = [entry_id]
            if action == "change":
                field = data.draw(st.sampled_from(["amount_minor", "account", "currency"]))
                value = {
                    "amount_minor": row["amount_minor"] + 1,
                    "account": "revenue_services",
                    "currency": "EUR",
                }[field]
                c.execute(
                    update(journal_postings)
                    .where(_postings_where(entry_id, line))
                    .values({field: value})
                )
            elif action == "delete":
                c.execute(delete(journal_postings).where(_postings_where(entry_id, line)))
            elif action == "insert":
                c.execute(insert(journal_postings).values({**row, "line_no": 3}))
            else:
                other = data.draw(st.sampled_from([e for e in entry_ids if e != entry_id]))
                other_row = rows_of(
                    c, journal_postings, tenant_id=TENANT, entry_id=other, line_no=line
                )[0]
                c.execute(
                    update(journal_postings)
                    .where(_postings_where(entry_id, line))
                    .values(amount_minor=other_row["amount_minor"])
                )
                c.execute(
                    update(journal_postings)
                    .where(_postings_where(other, line))
                    .values(amount_minor=row["amount_minor"])
                )
                involved.append(other)
        first = _first(books)
        expected = min(involved, key=books.entry_seq.__getitem__)
        assert (first.seq, first.entry_id) == (books.entry_seq[expected], expected)
        assert first.problem is Problem.ENTRY_DIGEST_MISMATCH
    finally:
        books.restore()
    assert verify(books.store).ok


def _entry_where(entry_id: str) -> Any:
    e = journal_entries
    return and_(e.c.tenant_id == TENANT, e.c.entry_id == entry_id)


@EXAMPLES
@given(action=ACTIONS, data=st.data())
def test_tampering_with_a_journal_entry_fails_at_that_entry(
    books: Books, action: str, data: st.DataObject
):
    entry_ids = sorted(books.entry_seq)
    entry_id = data.draw(st.sampled_from(entry_ids), label="entry")
    try:
        with bypassed(books.engine) as c:
            row = rows_of(c, journal_entries, tenant_id=TENANT, entry_id=entry_id)[0]
            if action == "change":
                field = data.draw(
                    st.sampled_from(["memo", "kind", "cause_event_id", "contract_id"])
                )
                c.execute(
                    update(journal_entries)
                    .where(_entry_where(entry_id))
                    .values({field: "tampered"})
                )
                expected = (books.entry_seq[entry_id], entry_id, Problem.ENTRY_DIGEST_MISMATCH)
            elif action == "delete":
                c.execute(delete(journal_postings).where(_postings_where(entry_id)))
                c.execute(delete(journal_entries).where(_entry_where(entry_id)))
                expected = (books.entry_seq[entry_id], entry_id, Problem.ENTRY_MISSING)
            elif action == "insert":
                forged = "EFORGED"
                c.execute(insert(journal_entries).values({**row, "entry_id": forged}))
                for posting in rows_of(c, journal_postings, tenant_id=TENANT, entry_id=entry_id):
                    c.execute(insert(journal_postings).values({**posting, "entry_id": forged}))
                expected = (None, forged, Problem.ENTRY_NOT_AUDITED)
            else:
                other = data.draw(st.sampled_from([e for e in entry_ids if e != entry_id]))
                other_row = rows_of(c, journal_entries, tenant_id=TENANT, entry_id=other)[0]
                c.execute(
                    update(journal_entries)
                    .where(_entry_where(entry_id))
                    .values(memo=other_row["memo"], posted_on=other_row["posted_on"])
                )
                c.execute(
                    update(journal_entries)
                    .where(_entry_where(other))
                    .values(memo=row["memo"], posted_on=row["posted_on"])
                )
                first_id = min((entry_id, other), key=books.entry_seq.__getitem__)
                expected = (books.entry_seq[first_id], first_id, Problem.ENTRY_DIGEST_MISMATCH)
        first = _first(books)
        assert (first.seq, first.entry_id, first.problem) == expected
    finally:
        books.restore()
    assert verify(books.store).ok


def test_the_other_tenant_is_untouched_by_tampering_with_one(books: Books):
    try:
        with bypassed(books.engine) as c:
            c.execute(delete(audit_records).where(_records_where(3)))
        assert not verify(books.store).ok
        assert verify(books.store, "globex").ok
    finally:
        books.restore()
    with books.engine.connect() as c:
        assert c.execute(select(audit_records.c.seq).where(_records_where(3))).first() is not None
