"""Report queries over SQL: set-based, tenant-scoped, read-only, the same on SQLite and PostgreSQL.

Each report is one or two statements: sums are computed by the database (GROUP BY over the
journal's (tenant_id, period, account) index), obligations are streamed in key order, and the
journal is paged by keyset on (posted_on, entry_id) with the postings of a page fetched at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, exists, func, or_, select

from ordertrail.adapters.db.tables_revenue import (
    gl_accounts,
    journal_entries,
    journal_postings,
    revenue_obligations,
)
from ordertrail.domain.ledger.reports import AccountTotal
from ordertrail.domain.revenue.reports import (
    POSITION_ACCOUNTS,
    ObligationPosition,
    PositionMovement,
)
from ordertrail.services.pagination import decode_cursor, encode_cursor
from ordertrail.services.report_ports import (
    EntryPage,
    EntryRow,
    JournalFilter,
    PostingRow,
    ReportTooLarge,
)

# Obligations are read in chunks so a million open obligations never sit in memory as rows.
OBLIGATION_CHUNK = 5_000
# Sums are grouped rows (per account and currency, or per period, currency, kind and account);
# a query reads one more than this to know it would have to truncate, and refuses instead.
TOTALS_MAX = 200_000
REVERSALS_MAX = 1_000

e = journal_entries.c
p = journal_postings.c
o = revenue_obligations.c


def position_of(row: Any) -> ObligationPosition:
    amounts = () if row.schedule_amounts is None else tuple(json.loads(row.schedule_amounts))
    return ObligationPosition(
        contract_id=row.contract_id,
        obligation_id=row.obligation_id,
        customer_id=row.customer_id,
        sku=row.sku,
        component=row.component,
        nature=row.nature,
        timing=row.timing,
        currency=row.currency,
        allocated_minor=int(row.allocated_minor),
        recognized_minor=int(row.recognized_minor),
        deferred_minor=int(row.deferred_minor),
        schedule_first_period=row.schedule_first_period,
        schedule_amounts_minor=amounts,
    )


def posting_of(row: Any) -> PostingRow:
    return PostingRow(
        line_no=row.line_no,
        account=row.account,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        contract_id=row.contract_id,
        obligation_id=row.obligation_id,
        customer_id=row.customer_id,
        cause_event_id=row.cause_event_id,
    )


def entry_of(row: Any, postings: tuple[PostingRow, ...]) -> EntryRow:
    return EntryRow(
        entry_id=row.entry_id,
        kind=row.kind,
        contract_id=row.contract_id,
        obligation_id=row.obligation_id,
        cause_event_id=row.cause_event_id,
        occurred_on=row.occurred_on,
        posted_on=row.posted_on,
        period=row.period,
        reverses=row.reverses,
        memo=row.memo,
        recorded_at=row.recorded_at,
        postings=postings,
    )


def _has_posting(tenant_id: str, condition: Any) -> Any:
    return exists().where(p.tenant_id == tenant_id, p.entry_id == e.entry_id, condition)


def journal_conditions(tenant_id: str, filters: JournalFilter, cursor: str | None) -> list[Any]:
    """The WHERE clause of a journal page, one condition per filter given."""
    conditions: list[Any] = [e.tenant_id == tenant_id]
    for column, value in (
        (e.period, filters.period),
        (e.contract_id, filters.contract_id),
        (e.kind, filters.kind),
        (e.cause_event_id, filters.cause_event_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if filters.account is not None:
        conditions.append(_has_posting(tenant_id, p.account == filters.account))
    if filters.obligation_id is not None:
        conditions.append(_has_posting(tenant_id, p.obligation_id == filters.obligation_id))
    if cursor is not None:
        posted_text, entry_id = decode_cursor(cursor, arity=2)
        try:
            posted_on = date.fromisoformat(posted_text)
        except ValueError:
            raise ValueError("the cursor is not one this API issued") from None
        conditions.append(
            or_(e.posted_on > posted_on, and_(e.posted_on == posted_on, e.entry_id > entry_id))
        )
    return conditions


def _bounded(rows: list[Any]) -> list[Any]:
    if len(rows) > TOTALS_MAX:
        raise ReportTooLarge(f"the report would sum more than {TOTALS_MAX:,} groups")
    return rows


class SqlReportQueries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def obligation_positions(self, *, tenant_id: str) -> Iterator[ObligationPosition]:
        # Keyset chunks rather than one long cursor: no connection is held between chunks, so
        # a slow consumer of the iterator never pins a transaction open.
        after = ("", "")
        while True:
            query = (
                select(revenue_obligations)
                .where(
                    o.tenant_id == tenant_id,
                    o.active.is_(True),
                    o.deferred_minor > 0,
                    or_(
                        o.contract_id > after[0],
                        and_(o.contract_id == after[0], o.obligation_id > after[1]),
                    ),
                )
                .order_by(o.contract_id, o.obligation_id)
                .limit(OBLIGATION_CHUNK)
            )
            with self._engine.connect() as connection:
                rows = connection.execute(query).all()
            for row in rows:
                yield position_of(row)
            if len(rows) < OBLIGATION_CHUNK:
                return
            after = (rows[-1].contract_id, rows[-1].obligation_id)

    def position_movements(self, *, tenant_id: str, through_period: str) -> list[PositionMovement]:
        amount = func.sum(p.amount_minor)
        query = (
            select(p.period, p.currency, e.kind, p.account, amount)
            .select_from(
                journal_postings.join(
                    journal_entries,
                    and_(e.tenant_id == p.tenant_id, e.entry_id == p.entry_id),
                )
            )
            .where(
                p.tenant_id == tenant_id,
                p.period <= through_period,
                p.account.in_(POSITION_ACCOUNTS),
            )
            .group_by(p.period, p.currency, e.kind, p.account)
            .order_by(p.period, p.currency, e.kind, p.account)
            .limit(TOTALS_MAX + 1)
        )
        with self._engine.connect() as connection:
            rows = _bounded(connection.execute(query).all())
        return [PositionMovement(row[0], row[1], row[2], row[3], int(row[4])) for row in rows]

    def account_totals(
        self, *, tenant_id: str, period: str | None, through_period: str | None
    ) -> list[AccountTotal]:
        condition = p.period == period if period is not None else p.period <= through_period
        sums = (
            select(p.account, p.currency, func.sum(p.amount_minor).label("amount_minor"))
            .where(p.tenant_id == tenant_id, condition)
            .group_by(p.account, p.currency)
            .subquery()
        )
        a = gl_accounts.c
        query = (
            select(sums, a.name, a.kind, a.gl_code)
            .select_from(
                sums.outerjoin(
                    gl_accounts, and_(a.tenant_id == tenant_id, a.code == sums.c.account)
                )
            )
            .order_by(sums.c.currency, sums.c.account)
            .limit(TOTALS_MAX + 1)
        )
        with self._engine.connect() as connection:
            rows = _bounded(connection.execute(query).all())
        return [
            AccountTotal(
                account=row.account,
                currency=row.currency,
                amount_minor=int(row.amount_minor),
                name=row.name or "",
                kind=row.kind or "",
                gl_code=row.gl_code or "",
            )
            for row in rows
        ]

    def journal(
        self, *, tenant_id: str, filters: JournalFilter, limit: int, cursor: str | None
    ) -> EntryPage:
        query = (
            select(journal_entries)
            .where(*journal_conditions(tenant_id, filters, cursor))
            .order_by(e.posted_on, e.entry_id)
            .limit(limit + 1)
        )
        with self._engine.connect() as connection:
            rows = connection.execute(query).all()
            shown = rows[:limit]
            postings = self._postings(connection, tenant_id, [row.entry_id for row in shown])
        entries = tuple(entry_of(row, postings.get(row.entry_id, ())) for row in shown)
        next_cursor = None
        if len(rows) > limit:
            last = shown[-1]
            next_cursor = encode_cursor(last.posted_on.isoformat(), last.entry_id)
        return EntryPage(entries=entries, next_cursor=next_cursor)

    def journal_entry(self, *, tenant_id: str, entry_id: str) -> EntryRow | None:
        query = select(journal_entries).where(e.tenant_id == tenant_id, e.entry_id == entry_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).first()
            if row is None:
                return None
            postings = self._postings(connection, tenant_id, [entry_id])
        return entry_of(row, postings.get(entry_id, ()))

    def reversals_of(self, *, tenant_id: str, entry_id: str) -> list[str]:
        query = (
            select(e.entry_id)
            .where(e.tenant_id == tenant_id, e.reverses == entry_id)
            .order_by(e.entry_id)
            .limit(REVERSALS_MAX)
        )
        with self._engine.connect() as connection:
            return list(connection.execute(query).scalars())

    @staticmethod
    def _postings(
        connection: Any, tenant_id: str, entry_ids: list[str]
    ) -> dict[str, tuple[PostingRow, ...]]:
        if not entry_ids:
            return {}
        query = (
            select(journal_postings)
            .where(p.tenant_id == tenant_id, p.entry_id.in_(entry_ids))
            .order_by(p.entry_id, p.line_no)
        )
        found: dict[str, list[PostingRow]] = {}
        for row in connection.execute(query):
            found.setdefault(row.entry_id, []).append(posting_of(row))
        return {entry_id: tuple(rows) for entry_id, rows in found.items()}
