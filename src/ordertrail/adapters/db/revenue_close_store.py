"""The month-end close on SQL: read a batch of whole contracts, write its entries in bulk.

Reading builds CloseItems straight from row tuples (no documents are parsed). Writing uses COPY
on PostgreSQL and executemany on SQLite for entries and postings, and one set-based UPDATE of
the obligation rows (from a COPY-filled temp table on PostgreSQL).

Concurrency. On SQLite every writer holds the database's write lock for its whole transaction,
so a handler and a close batch never interleave. On PostgreSQL a close batch holds a per-tenant
advisory lock exclusively and every revenue handler transaction takes it shared before reading
obligation rows (`revenue_lock`): a handler that loaded a contract finishes before a batch reads,
and one that starts during a batch waits for it. That costs one lock per transaction instead of
a row lock on each of a million obligations. Every update also checks the recognized amount it
started from, so a lost update would raise instead of passing silently.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, text

from ordertrail.domain.ledger import last_day, period_index
from ordertrail.domain.revenue import CloseLine, ClosePeriod
from ordertrail.domain.revenue.close import ASSET, KIND, LIABILITY
from ordertrail.services.ports import ConcurrentWrite
from ordertrail.services.revenue_close import CloseInputs, close_inputs_from, close_updates

ROW_COLUMNS = (
    "contract_id",
    "obligation_id",
    "customer_id",
    "currency",
    "revenue_account",
    "allocated_minor",
    "recognized_minor",
    "refund_liability_minor",
    "billed_minor",
    "active",
    "timing",
    "method",
    "schedule_first_period",
    "schedule_amounts",
    "progress_done",
    "progress_total",
)
ENTRY_COLUMNS = (
    "tenant_id",
    "entry_id",
    "kind",
    "contract_id",
    "obligation_id",
    "cause_event_id",
    "occurred_on",
    "posted_on",
    "period",
    "reverses",
    "memo",
    "recorded_at",
)
POSTING_COLUMNS = (
    "tenant_id",
    "entry_id",
    "line_no",
    "account",
    "amount_minor",
    "currency",
    "contract_id",
    "obligation_id",
    "customer_id",
    "cause_event_id",
    "period",
    "posted_on",
)
# Statements built once from the fixed column tuples above (no input reaches them).
_SELECT_ROWS = f"SELECT {', '.join(ROW_COLUMNS)} FROM revenue_obligations "  # noqa: S608
SQLITE_CLOSE_CACHE_KIB = 128 * 1024
_BATCH_BOUND = (
    "SELECT contract_id FROM revenue_obligations WHERE tenant_id = :tenant "
    "AND contract_id > :after ORDER BY contract_id LIMIT 1 OFFSET :skip"
)
_AFTER = "WHERE tenant_id = :tenant AND contract_id > :after ORDER BY contract_id, obligation_id"
_BELOW = (
    "WHERE tenant_id = :tenant AND contract_id > :after AND contract_id < :bound "
    "ORDER BY contract_id, obligation_id"
)
_ONLY = "WHERE tenant_id = :tenant AND contract_id = :bound ORDER BY obligation_id"
_INSERT_ENTRIES = (
    f"INSERT INTO journal_entries ({', '.join(ENTRY_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(ENTRY_COLUMNS))})"
)
_INSERT_POSTINGS = (
    f"INSERT INTO journal_postings ({', '.join(POSTING_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(POSTING_COLUMNS))})"
)
_COPY_ENTRIES = f"COPY journal_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"
_COPY_POSTINGS = f"COPY journal_postings ({', '.join(POSTING_COLUMNS)}) FROM STDIN"
# One set-based update per batch: balances move by what the close recognized, and scheduled
# obligations are recognized through the period. The recognized amount it started from must
# still be there (a lost update raises instead of passing).
UPDATE_MOVED_PG = """
UPDATE revenue_obligations o
   SET recognized_minor = o.recognized_minor + m.due_minor,
       deferred_minor = o.deferred_minor - m.due_minor,
       ratable_through = CASE WHEN m.scheduled
                              THEN greatest(coalesce(o.ratable_through, %(period)s), %(period)s)
                              ELSE o.ratable_through END
  FROM close_moves m
 WHERE o.tenant_id = %(tenant)s AND o.contract_id = m.contract_id
   AND o.obligation_id = m.obligation_id
   AND o.recognized_minor = m.before_minor
"""
UPDATE_MOVED_SQLITE = """
UPDATE revenue_obligations
   SET recognized_minor = recognized_minor + ?,
       deferred_minor = deferred_minor - ?,
       ratable_through = CASE WHEN ? THEN max(coalesce(ratable_through, ?), ?)
                              ELSE ratable_through END
 WHERE tenant_id = ? AND contract_id = ? AND obligation_id = ? AND recognized_minor = ?
"""
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def revenue_lock(connection: Connection, *, tenant_id: str, exclusive: bool) -> None:
    """Take the tenant's revenue advisory lock until the transaction ends (PostgreSQL only)."""
    if connection.dialect.name != "postgresql":
        return
    kind = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    connection.execute(
        text(f"SELECT {kind}(hashtextextended(:key, 0))"),
        {"key": f"ordertrail.revenue:{tenant_id}"},
    )


def read_close_inputs(
    connection: Connection, *, tenant_id: str, after_contract: str | None, contracts_max: int
) -> CloseInputs:
    """Read up to about `contracts_max` whole contracts after `after_contract`, in id order.

    The batch's end is found first by an index-ordered probe (`OFFSET` rows along the
    (tenant_id, contract_id) index), then the range is read: the cost of a batch does not depend
    on how much of the table lies after it, whatever the planner's statistics say.
    """
    revenue_lock(connection, tenant_id=tenant_id, exclusive=True)
    if connection.dialect.name == "sqlite":
        # Entry ids are hashes, so journal index inserts land on random pages: with SQLite's
        # 2 MiB default page cache a million-entry close reads most pages back from the OS.
        connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CLOSE_CACHE_KIB}")
    params = {"tenant": tenant_id, "after": after_contract or ""}
    bound = connection.execute(text(_BATCH_BOUND), {**params, "skip": contracts_max}).scalar()
    if bound is None:
        rows = connection.execute(text(_SELECT_ROWS + _AFTER), params).all()
    else:
        rows = connection.execute(text(_SELECT_ROWS + _BELOW), {**params, "bound": bound}).all()
        if not rows:
            # One contract with more obligations than a batch: read it whole.
            rows = connection.execute(text(_SELECT_ROWS + _ONLY), {**params, "bound": bound}).all()
    return close_inputs_from(
        (dict(zip(ROW_COLUMNS, r, strict=True)) for r in rows), contracts_max=len(rows) + 1
    )


def _postings_of(line: CloseLine) -> list[tuple[str, int]]:
    made = [(line.revenue_account, -line.revenue_minor)]
    made += [(LIABILITY, line.liability_minor), (ASSET, line.asset_minor)]
    return [(account, amount) for account, amount in made if amount]


def _copy_text(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    for row in rows:
        out.write(
            "\t".join(
                "\\N"
                if v is None
                else (v.translate(_COPY_ESCAPES) if isinstance(v, str) else str(v))
                for v in row
            )
        )
        out.write("\n")
    return out.getvalue().encode()


def write_close(
    connection: Connection,
    *,
    tenant_id: str,
    period: str,
    inputs: CloseInputs,
    lines: Sequence[CloseLine],
    now: datetime,
) -> None:
    """Write a batch's entries and postings in bulk and move its obligation rows set-wise."""
    cause = ClosePeriod(period=period).event_id
    on: date = last_day(period_index(period))
    entries: list[tuple[Any, ...]] = []
    postings: list[tuple[Any, ...]] = []
    for line in lines:
        customer = inputs.customers[line.contract_id]
        entries.append(
            (
                tenant_id,
                line.entry_id,
                KIND,
                line.contract_id,
                line.obligation_id,
                cause,
                on,
                on,
                period,
                None,
                "",
                now,
            )
        )
        for number, (account, amount) in enumerate(_postings_of(line), start=1):
            postings.append(
                (
                    tenant_id,
                    line.entry_id,
                    number,
                    account,
                    amount,
                    line.currency,
                    line.contract_id,
                    line.obligation_id,
                    customer,
                    cause,
                    period,
                    on,
                )
            )
    due = close_updates(inputs=inputs, lines=lines)
    index = period_index(period)
    if connection.dialect.name == "postgresql":
        _write_postgres(
            connection,
            tenant_id=tenant_id,
            entries=entries,
            postings=postings,
            due=due,
            index=index,
        )
    else:
        _write_sqlite(
            connection,
            tenant_id=tenant_id,
            entries=entries,
            postings=postings,
            due=due,
            index=index,
        )


def _write_postgres(
    connection: Connection,
    *,
    tenant_id: str,
    entries: list[tuple[Any, ...]],
    postings: list[tuple[Any, ...]],
    due: dict[tuple[str, str], tuple[int, int, bool]],
    index: int,
) -> None:
    raw: Any = connection.connection.dbapi_connection
    with raw.cursor() as cursor:
        if entries:
            with cursor.copy(_COPY_ENTRIES) as copy:
                copy.write(_copy_text(entries))
            with cursor.copy(_COPY_POSTINGS) as copy:
                copy.write(_copy_text(postings))
        moves = [(c, o, b, a, "t" if s else "f") for (c, o), (b, a, s) in due.items()]
        if not moves:
            return
        cursor.execute(
            "CREATE TEMP TABLE close_moves (contract_id text NOT NULL, "
            "obligation_id text NOT NULL, "
            "before_minor bigint NOT NULL, due_minor bigint NOT NULL, scheduled boolean NOT NULL) "
            "ON COMMIT DROP"
        )
        with cursor.copy(
            "COPY close_moves (contract_id, obligation_id, before_minor, due_minor, scheduled) "
            "FROM STDIN"
        ) as copy:
            copy.write(_copy_text(moves))
        cursor.execute("ANALYZE close_moves")
        cursor.execute(UPDATE_MOVED_PG, {"tenant": tenant_id, "period": index})
        moved = cursor.rowcount
        cursor.execute("DROP TABLE close_moves")
    if moved != len(moves):
        raise ConcurrentWrite("obligations changed during the close; run it again")


def _write_sqlite(
    connection: Connection,
    *,
    tenant_id: str,
    entries: list[tuple[Any, ...]],
    postings: list[tuple[Any, ...]],
    due: dict[tuple[str, str], tuple[int, int, bool]],
    index: int,
) -> None:
    raw: Any = connection.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.executemany(
            _INSERT_ENTRIES,
            [
                (*e[:6], e[6].isoformat(), e[7].isoformat(), *e[8:11], _sqlite_ts(e[11]))
                for e in entries
            ],
        )
        cursor.executemany(_INSERT_POSTINGS, [(*p[:11], p[11].isoformat()) for p in postings])
        moves = [
            (amount, amount, int(scheduled), index, index, tenant_id, contract, oid, before)
            for (contract, oid), (before, amount, scheduled) in due.items()
        ]
        cursor.executemany(UPDATE_MOVED_SQLITE, moves)
        if moves and cursor.rowcount != len(moves):
            raise ConcurrentWrite("obligations changed during the close; run it again")
    finally:
        cursor.close()


def _sqlite_ts(value: datetime) -> str:
    # The UtcDateTime column stores naive UTC text on SQLite.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
