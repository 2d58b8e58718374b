"""The in-memory fake of the report queries, over rows shaped exactly like the revenue tables.

Tests add rows with the column names of journal_entries, journal_postings, revenue_obligations
and gl_accounts (the same dicts they insert into SQL), and get the answers the SQL adapter gives;
the contract suite proves it on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from ordertrail.adapters.db.report_queries import entry_of, position_of, posting_of
from ordertrail.domain.ledger.reports import AccountTotal
from ordertrail.domain.revenue.reports import (
    POSITION_ACCOUNTS,
    ObligationPosition,
    PositionMovement,
)
from ordertrail.services.pagination import decode_cursor, encode_cursor
from ordertrail.services.report_ports import EntryPage, EntryRow, JournalFilter, PostingRow

TABLES = ("journal_entries", "journal_postings", "revenue_obligations", "gl_accounts")


class _Row:
    """Attribute access over a stored row, as SQLAlchemy rows give it."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


class MemoryReportQueries:
    def __init__(self) -> None:
        self._tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}

    def add(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Store rows of one of the revenue tables (copied: callers cannot change them later)."""
        # Rows are stored as JSON-able values, as the database would hold them.
        self._tables[table].extend(json.loads(json.dumps(row, default=str)) for row in rows)

    def _rows(self, table: str, tenant_id: str) -> list[dict[str, Any]]:
        return [row for row in self._tables[table] if row["tenant_id"] == tenant_id]

    def obligation_positions(self, *, tenant_id: str) -> Iterator[ObligationPosition]:
        rows = [
            row
            for row in self._rows("revenue_obligations", tenant_id)
            if row["active"] and row["deferred_minor"] > 0
        ]
        rows.sort(key=lambda row: (row["contract_id"], row["obligation_id"]))
        for row in rows:
            yield position_of(_Row(row))

    def position_movements(self, *, tenant_id: str, through_period: str) -> list[PositionMovement]:
        kinds = {row["entry_id"]: row["kind"] for row in self._rows("journal_entries", tenant_id)}
        sums: dict[tuple[str, str, str, str], int] = {}
        for row in self._rows("journal_postings", tenant_id):
            if row["period"] > through_period or row["account"] not in POSITION_ACCOUNTS:
                continue
            key = (row["period"], row["currency"], kinds[row["entry_id"]], row["account"])
            sums[key] = sums.get(key, 0) + row["amount_minor"]
        return [PositionMovement(*key, amount) for key, amount in sorted(sums.items())]

    def account_totals(
        self, *, tenant_id: str, period: str | None, through_period: str | None
    ) -> list[AccountTotal]:
        accounts = {row["code"]: row for row in self._rows("gl_accounts", tenant_id)}
        sums: dict[tuple[str, str], int] = {}
        for row in self._rows("journal_postings", tenant_id):
            inside = (
                row["period"] == period
                if period is not None
                else (row["period"] <= (through_period or ""))
            )
            if inside:
                key = (row["account"], row["currency"])
                sums[key] = sums.get(key, 0) + row["amount_minor"]
        totals = []
        for (account, currency), amount in sorted(sums.items(), key=lambda i: (i[0][1], i[0][0])):
            chart = accounts.get(account, {})
            totals.append(
                AccountTotal(
                    account=account,
                    currency=currency,
                    amount_minor=amount,
                    name=chart.get("name", ""),
                    kind=chart.get("kind", ""),
                    gl_code=chart.get("gl_code", ""),
                )
            )
        return totals

    def journal(
        self, *, tenant_id: str, filters: JournalFilter, limit: int, cursor: str | None
    ) -> EntryPage:
        postings = self._postings_by_entry(tenant_id)
        after: tuple[str, str] | None = None
        if cursor is not None:
            posted_text, entry_id = decode_cursor(cursor, arity=2)
            try:
                after = (date.fromisoformat(posted_text).isoformat(), entry_id)
            except ValueError:
                raise ValueError("the cursor is not one this API issued") from None
        matching = [
            row
            for row in self._rows("journal_entries", tenant_id)
            if _matches(row, filters, postings.get(row["entry_id"], ()))
            and (after is None or (row["posted_on"], row["entry_id"]) > after)
        ]
        matching.sort(key=lambda row: (row["posted_on"], row["entry_id"]))
        shown = matching[:limit]
        entries = tuple(self._entry(row, postings) for row in shown)
        next_cursor = None
        if len(matching) > limit:
            next_cursor = encode_cursor(shown[-1]["posted_on"], shown[-1]["entry_id"])
        return EntryPage(entries=entries, next_cursor=next_cursor)

    def journal_entry(self, *, tenant_id: str, entry_id: str) -> EntryRow | None:
        for row in self._rows("journal_entries", tenant_id):
            if row["entry_id"] == entry_id:
                return self._entry(row, self._postings_by_entry(tenant_id))
        return None

    def reversals_of(self, *, tenant_id: str, entry_id: str) -> list[str]:
        return sorted(
            row["entry_id"]
            for row in self._rows("journal_entries", tenant_id)
            if row["reverses"] == entry_id
        )

    def _postings_by_entry(self, tenant_id: str) -> dict[str, tuple[dict[str, Any], ...]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for row in self._rows("journal_postings", tenant_id):
            found.setdefault(row["entry_id"], []).append(row)
        return {k: tuple(sorted(v, key=lambda r: r["line_no"])) for k, v in found.items()}

    @staticmethod
    def _entry(row: dict[str, Any], postings: dict[str, tuple[dict[str, Any], ...]]) -> EntryRow:
        lines: tuple[PostingRow, ...] = tuple(
            posting_of(_Row(p)) for p in postings.get(row["entry_id"], ())
        )
        values = {
            **row,
            "occurred_on": date.fromisoformat(row["occurred_on"]),
            "posted_on": date.fromisoformat(row["posted_on"]),
            "recorded_at": _timestamp(row["recorded_at"]),
        }
        return entry_of(_Row(values), lines)


def _timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _matches(
    row: dict[str, Any], filters: JournalFilter, postings: tuple[dict[str, Any], ...]
) -> bool:
    for column, value in (
        ("period", filters.period),
        ("contract_id", filters.contract_id),
        ("kind", filters.kind),
        ("cause_event_id", filters.cause_event_id),
    ):
        if value is not None and row[column] != value:
            return False
    if filters.account is not None and all(p["account"] != filters.account for p in postings):
        return False
    return filters.obligation_id is None or any(
        p["obligation_id"] == filters.obligation_id for p in postings
    )
