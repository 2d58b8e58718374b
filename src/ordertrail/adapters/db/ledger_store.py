"""The ledger on SQL: chart of accounts, periods, and the append-only journal.

Appending is idempotent on entry id: an entry already stored with the same content is skipped,
one with different content is refused. PostgreSQL checks at commit that every entry written in
the transaction balances (migration 0005); SQLite has no deferred triggers, so this repository
re-reads what it wrote, in the same transaction, and refuses unbalanced entries before commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

# tables first: it imports every area's tables module, whose cross-imports need it complete.
from ordertrail.adapters.db import tables as _tables  # noqa: F401
from ordertrail.adapters.db.tables_revenue import (
    gl_accounts,
    journal_entries,
    journal_postings,
    ledger_periods,
)
from ordertrail.domain.ledger import (
    DEFAULT_CHART_ROWS,
    ChartOfAccounts,
    JournalEntry,
    PeriodCalendar,
    Posting,
    chart_from_rows,
)
from ordertrail.services.revenue_ports import (
    ENTRIES_READ_MAX,
    AccountRecord,
    DuplicateEntry,
    PeriodRecord,
    UnbalancedJournal,
)
from ordertrail.services.revenue_rows import check_entries

IDS_PER_QUERY = 500
PERIODS_READ_MAX = 10_000


def _chunks(items: Sequence[str], size: int = IDS_PER_QUERY) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def entry_rows(
    entry: JournalEntry, *, tenant_id: str, customer_id: str, recorded_at: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The journal_entries row and journal_postings rows of one entry."""
    period = entry.period
    head = {
        "tenant_id": tenant_id,
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "contract_id": entry.contract_id,
        "obligation_id": entry.obligation_id,
        "cause_event_id": entry.cause_event_id,
        "occurred_on": entry.occurred_on,
        "posted_on": entry.posted_on,
        "period": period,
        "reverses": entry.reverses,
        "memo": entry.memo,
        "recorded_at": recorded_at,
    }
    lines = [
        {
            "tenant_id": tenant_id,
            "entry_id": entry.entry_id,
            "line_no": number,
            "account": p.account,
            "amount_minor": p.amount_minor,
            "currency": p.currency,
            "contract_id": p.contract_id,
            "obligation_id": p.obligation_id,
            "customer_id": customer_id,
            "cause_event_id": p.cause_event_id,
            "period": period,
            "posted_on": entry.posted_on,
        }
        for number, p in enumerate(entry.postings, start=1)
    ]
    return head, lines


class SqlLedgerStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    # -- chart --

    def _seed(self, tenant_id: str, now: datetime) -> None:
        t = gl_accounts
        exists = self._connection.execute(
            select(t.c.code).where(t.c.tenant_id == tenant_id).limit(1)
        ).first()
        if exists is not None:
            return
        self._connection.execute(
            insert(t),
            [
                {
                    "tenant_id": tenant_id,
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "gl_code": gl_code,
                    "active": True,
                    "created_at": now,
                }
                for code, name, kind, gl_code in DEFAULT_CHART_ROWS
            ],
        )

    def accounts(self, *, tenant_id: str, now: datetime) -> list[AccountRecord]:
        self._seed(tenant_id, now)
        t = gl_accounts
        return [
            AccountRecord(code=r.code, name=r.name, kind=r.kind, gl_code=r.gl_code, active=r.active)
            for r in self._connection.execute(
                select(t.c.code, t.c.name, t.c.kind, t.c.gl_code, t.c.active)
                .where(t.c.tenant_id == tenant_id)
                .order_by(t.c.gl_code, t.c.code)
            )
        ]

    def chart(self, *, tenant_id: str, now: datetime) -> ChartOfAccounts:
        return chart_from_rows(
            (a.code, a.name, a.kind, a.gl_code)
            for a in self.accounts(tenant_id=tenant_id, now=now)
            if a.active
        )

    def update_account(
        self,
        *,
        tenant_id: str,
        code: str,
        name: str | None,
        gl_code: str | None,
        active: bool | None,
        now: datetime,
    ) -> AccountRecord | None:
        self._seed(tenant_id, now)
        t = gl_accounts
        changes = {
            k: v
            for k, v in (("name", name), ("gl_code", gl_code), ("active", active))
            if v is not None
        }
        if changes:
            self._connection.execute(
                update(t).where(t.c.tenant_id == tenant_id, t.c.code == code).values(**changes)
            )
        for account in self.accounts(tenant_id=tenant_id, now=now):
            if account.code == code:
                return account
        return None

    # -- periods --

    def periods(self, *, tenant_id: str) -> list[PeriodRecord]:
        t = ledger_periods
        return [
            PeriodRecord(
                period=r.period, status=r.status, closed_at=r.closed_at, closed_by=r.closed_by
            )
            for r in self._connection.execute(
                select(t.c.period, t.c.status, t.c.closed_at, t.c.closed_by)
                .where(t.c.tenant_id == tenant_id)
                .order_by(t.c.period)
                .limit(PERIODS_READ_MAX)
            )
        ]

    def calendar(self, *, tenant_id: str) -> PeriodCalendar:
        closed = frozenset(
            p.period for p in self.periods(tenant_id=tenant_id) if p.status == "closed"
        )
        return PeriodCalendar(closed=closed)

    def mark_closed(self, *, tenant_id: str, period: str, closed_at: datetime, actor: str) -> bool:
        t = ledger_periods
        values = {"status": "closed", "closed_at": closed_at, "closed_by": actor}
        changed = self._connection.execute(
            update(t)
            .where(t.c.tenant_id == tenant_id, t.c.period == period, t.c.status != "closed")
            .values(**values)
        )
        if changed.rowcount:
            return True
        exists = self._connection.execute(
            select(t.c.status).where(t.c.tenant_id == tenant_id, t.c.period == period)
        ).first()
        if exists is not None:
            return False
        self._connection.execute(insert(t).values(tenant_id=tenant_id, period=period, **values))
        return True

    # -- journal --

    def _stored(self, tenant_id: str, entry_ids: Sequence[str]) -> dict[str, JournalEntry]:
        found: dict[str, JournalEntry] = {}
        for chunk in _chunks(entry_ids):
            found.update(self._read(tenant_id, journal_entries.c.entry_id.in_(chunk)))
        return found

    def _read(
        self, tenant_id: str, condition: Any, limit: int = ENTRIES_READ_MAX
    ) -> dict[str, JournalEntry]:
        e, p = journal_entries, journal_postings
        heads = (
            self._connection.execute(
                select(e)
                .where(e.c.tenant_id == tenant_id, condition)
                .order_by(e.c.entry_id)
                .limit(limit)
            )
            .mappings()
            .all()
        )
        if not heads:
            return {}
        postings: dict[str, list[Posting]] = {}
        ids = [h["entry_id"] for h in heads]
        for chunk in _chunks(ids):
            for r in self._connection.execute(
                select(p)
                .where(p.c.tenant_id == tenant_id, p.c.entry_id.in_(chunk))
                .order_by(p.c.entry_id, p.c.line_no)
            ).mappings():
                postings.setdefault(r["entry_id"], []).append(
                    Posting(
                        account=r["account"],
                        amount_minor=r["amount_minor"],
                        currency=r["currency"],
                        contract_id=r["contract_id"],
                        obligation_id=r["obligation_id"],
                        cause_event_id=r["cause_event_id"],
                    )
                )
        return {
            h["entry_id"]: JournalEntry(
                entry_id=h["entry_id"],
                kind=h["kind"],
                contract_id=h["contract_id"],
                obligation_id=h["obligation_id"],
                cause_event_id=h["cause_event_id"],
                occurred_on=h["occurred_on"],
                posted_on=h["posted_on"],
                postings=tuple(postings.get(h["entry_id"], ())),
                reverses=h["reverses"],
                memo=h["memo"],
            )
            for h in heads
        }

    def append(
        self,
        *,
        tenant_id: str,
        entries: Sequence[JournalEntry],
        customer_id: str,
        recorded_at: datetime,
    ) -> int:
        if not entries:
            return 0
        check_entries(entries)
        self._seed(tenant_id, recorded_at)
        stored = self._stored(tenant_id, [entry.entry_id for entry in entries])
        heads, lines = [], []
        for entry in entries:
            existing = stored.get(entry.entry_id)
            if existing is not None:
                if existing != entry:
                    raise DuplicateEntry(
                        f"entry {entry.entry_id} is already stored with different content"
                    )
                continue
            head, rows = entry_rows(
                entry, tenant_id=tenant_id, customer_id=customer_id, recorded_at=recorded_at
            )
            stored[entry.entry_id] = entry
            heads.append(head)
            lines.extend(rows)
        if not heads:
            return 0
        self._connection.execute(insert(journal_entries), heads)
        self._connection.execute(insert(journal_postings), lines)
        if self._connection.dialect.name == "sqlite":
            self.check_written(tenant_id=tenant_id, entry_ids=[h["entry_id"] for h in heads])
        return len(heads)

    def check_written(self, *, tenant_id: str, entry_ids: Sequence[str]) -> None:
        """Re-read entries written in this transaction: each must balance per currency and
        have two postings or more (SQLite's stand-in for PostgreSQL's commit-time trigger)."""
        p = journal_postings
        for chunk in _chunks(entry_ids):
            sums = self._connection.execute(
                select(p.c.entry_id, p.c.currency, func.sum(p.c.amount_minor), func.count())
                .where(p.c.tenant_id == tenant_id, p.c.entry_id.in_(chunk))
                .group_by(p.c.entry_id, p.c.currency)
            ).all()
            counts: dict[str, int] = dict.fromkeys(chunk, 0)
            for entry_id, currency, total, number in sums:
                counts[entry_id] += number
                if total != 0:
                    raise UnbalancedJournal(f"entry {entry_id} does not balance in {currency}")
            short = [entry_id for entry_id, number in counts.items() if number < 2]
            if short:
                raise UnbalancedJournal(f"entry {short[0]} has fewer than two postings")

    def entries(
        self, *, tenant_id: str, contract_id: str | None = None, limit: int = ENTRIES_READ_MAX
    ) -> list[JournalEntry]:
        e = journal_entries
        condition = (
            e.c.contract_id == contract_id if contract_id is not None else e.c.entry_id != ""
        )
        return list(self._read(tenant_id, condition, limit).values())
