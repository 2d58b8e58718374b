"""The reports as documents: validated requests, the domain's arithmetic over the port's rows, and
JSON-ready dicts (money as integer minor units beside their currency) that the API, the CLI and
the CSV writer (services/report_csv.py) share.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ordertrail.domain.ledger import InvalidPeriod, month_index, period_index, period_key
from ordertrail.domain.ledger.reports import trial_balance_report
from ordertrail.domain.revenue.reports import (
    BILLED_KINDS,
    GROUP_FIELDS,
    RECOGNIZED_KINDS,
    RpoLine,
    WaterfallRow,
    remaining_performance_obligations,
    rollforward,
    waterfall,
)
from ordertrail.services.report_ports import (
    JOURNAL_PAGE_MAX,
    EntryRow,
    JournalFilter,
    ReportQueries,
)

PERIODS_MAX = 120
ROWS_MAX = 100_000


class InvalidReportRequest(ValueError):
    """A report asked for with parameters it cannot be built from; `code` names the problem."""

    def __init__(self, code: str, message: str, *, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


def parse_period(text: str, *, field: str) -> int:
    """Parse a 'YYYY-MM' period into a month index, or raise InvalidReportRequest."""
    try:
        return period_index(text)
    except InvalidPeriod as error:
        raise InvalidReportRequest("invalid_period", str(error), field=field) from None


def current_period(today: date) -> int:
    return month_index(today)


def _group_by(group_by: str) -> str:
    if group_by not in GROUP_FIELDS:
        choices = ", ".join(sorted(GROUP_FIELDS))
        raise InvalidReportRequest(
            "invalid_group_by", f"group_by must be one of {choices}", field="group_by"
        )
    return group_by


def _bounded(value: int, *, field: str, high: int) -> int:
    if not 1 <= value <= high:
        raise InvalidReportRequest(
            "invalid_range", f"{field} must be between 1 and {high}", field=field
        )
    return value


def _keyed(row: WaterfallRow | RpoLine) -> dict[str, Any]:
    return {**dict(row.key), "currency": row.currency}


@dataclass(frozen=True, slots=True)
class Document:
    """A report and the figures every caller needs; `body` is what the API returns as JSON."""

    report: str
    body: dict[str, Any]


def waterfall_report(
    *,
    queries: ReportQueries,
    tenant_id: str,
    group_by: str,
    first_period: str,
    periods: int,
    rows_max: int = ROWS_MAX,
) -> Document:
    """Deferred revenue per group by the period it is expected in (see domain.revenue.reports)."""
    first = parse_period(first_period, field="from")
    report = waterfall(
        queries.obligation_positions(tenant_id=tenant_id),
        group_by=_group_by(group_by),
        first_period=first,
        periods=_bounded(periods, field="periods", high=PERIODS_MAX),
    )

    def shaped(row: WaterfallRow) -> dict[str, Any]:
        return {
            "amounts_minor": list(row.amounts_minor),
            "later_minor": row.later_minor,
            "unscheduled_minor": row.unscheduled_minor,
            "total_minor": row.total_minor,
            "obligations": row.obligations,
        }

    rows = report.rows[: _bounded(rows_max, field="limit", high=ROWS_MAX)]
    return Document(
        "waterfall",
        {
            "report": "waterfall",
            "tenant_id": tenant_id,
            "group_by": report.group_by,
            "from": period_key(first),
            "periods": list(report.periods),
            "rows": [{**_keyed(row), **shaped(row)} for row in rows],
            "rows_total": len(report.rows),
            "truncated": len(rows) < len(report.rows),
            "totals": [{"currency": t.currency, **shaped(t)} for t in report.totals],
        },
    )


def rpo_report(
    *,
    queries: ReportQueries,
    tenant_id: str,
    as_of: str,
    group_by: str = "contract",
    rows_max: int = ROWS_MAX,
) -> Document:
    """Remaining performance obligations at the end of `as_of`, in ASC 606-10-50-13's bands."""
    report = remaining_performance_obligations(
        queries.obligation_positions(tenant_id=tenant_id),
        as_of_period=parse_period(as_of, field="as_of"),
        group_by=_group_by(group_by),
    )

    def shaped(line: RpoLine) -> dict[str, Any]:
        return {
            "within_12_months_minor": line.within_12_months_minor,
            "beyond_12_months_minor": line.beyond_12_months_minor,
            "unscheduled_minor": line.unscheduled_minor,
            "total_minor": line.total_minor,
            "obligations": line.obligations,
        }

    rows = report.rows[: _bounded(rows_max, field="limit", high=ROWS_MAX)]
    return Document(
        "rpo",
        {
            "report": "rpo",
            "tenant_id": tenant_id,
            "as_of": report.as_of,
            "group_by": group_by,
            "within_12_months": {"from": report.band_periods[0], "to": report.band_periods[1]},
            "rows": [{**_keyed(row), **shaped(row)} for row in rows],
            "rows_total": len(report.rows),
            "truncated": len(rows) < len(report.rows),
            "totals": [{"currency": t.currency, **shaped(t)} for t in report.totals],
        },
    )


def rollforward_report(
    *, queries: ReportQueries, tenant_id: str, first_period: str, last_period: str
) -> Document:
    """The deferred-revenue (contract position) rollforward for each period of a range."""
    first = parse_period(first_period, field="from")
    last = parse_period(last_period, field="to")
    if last < first:
        raise InvalidReportRequest("invalid_range", "to is before from", field="to")
    _bounded(last - first + 1, field="periods", high=PERIODS_MAX)
    lines = rollforward(
        queries.position_movements(tenant_id=tenant_id, through_period=period_key(last)),
        first_period=first,
        last_period=last,
    )
    return Document(
        "deferred_rollforward",
        {
            "report": "deferred_rollforward",
            "tenant_id": tenant_id,
            "from": period_key(first),
            "to": period_key(last),
            "billed_kinds": sorted(BILLED_KINDS),
            "recognized_kinds": sorted(RECOGNIZED_KINDS),
            "lines": [
                {
                    "period": line.period,
                    "currency": line.currency,
                    "opening_minor": line.opening_minor,
                    "billed_minor": line.billed_minor,
                    "recognized_minor": line.recognized_minor,
                    "adjustments_minor": line.adjustments_minor,
                    "closing_minor": line.closing_minor,
                    "closing_liabilities_minor": line.closing_liabilities_minor,
                    "closing_assets_minor": line.closing_assets_minor,
                    "adjustments_by_kind": dict(line.adjustments_by_kind),
                }
                for line in lines
            ],
        },
    )


def trial_balance(
    *, queries: ReportQueries, tenant_id: str, period: str | None, as_of: str | None
) -> Document:
    """Balances per account and currency: the movements of one period, or everything through
    the end of `as_of`. Exactly one of the two is given."""
    if (period is None) == (as_of is None):
        raise InvalidReportRequest(
            "invalid_range", "give either period or as_of, not both or neither", field="period"
        )
    if period is not None:
        parse_period(period, field="period")
    if as_of is not None:
        parse_period(as_of, field="as_of")
    report = trial_balance_report(
        queries.account_totals(tenant_id=tenant_id, period=period, through_period=as_of)
    )
    return Document(
        "trial_balance",
        {
            "report": "trial_balance",
            "tenant_id": tenant_id,
            "period": period,
            "as_of": as_of,
            "lines": [
                {
                    "account": line.account,
                    "name": line.name,
                    "kind": line.kind,
                    "gl_code": line.gl_code,
                    "currency": line.currency,
                    "debit_minor": line.debit_minor,
                    "credit_minor": line.credit_minor,
                }
                for line in report.lines
            ],
            "totals": [
                {
                    "currency": total.currency,
                    "debit_minor": total.debit_minor,
                    "credit_minor": total.credit_minor,
                    "difference_minor": total.difference_minor,
                }
                for total in report.totals
            ],
        },
    )


# ---- the journal --------------------------------------------------------------------------------


def entry_document(entry: EntryRow, *, reversed_by: list[str] | None = None) -> dict[str, Any]:
    """An entry as the API shows it: its causes, dates and postings with debit/credit columns."""
    document: dict[str, Any] = {
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "contract_id": entry.contract_id,
        "obligation_id": entry.obligation_id,
        "cause_event_id": entry.cause_event_id,
        "occurred_on": entry.occurred_on.isoformat(),
        "posted_on": entry.posted_on.isoformat(),
        "period": entry.period,
        "reverses": entry.reverses,
        "memo": entry.memo,
        "recorded_at": entry.recorded_at.isoformat(),
        "postings": [
            {
                "line_no": p.line_no,
                "account": p.account,
                "amount_minor": p.amount_minor,
                "debit_minor": max(p.amount_minor, 0),
                "credit_minor": max(-p.amount_minor, 0),
                "currency": p.currency,
                "contract_id": p.contract_id,
                "obligation_id": p.obligation_id,
                "customer_id": p.customer_id,
                "cause_event_id": p.cause_event_id,
            }
            for p in entry.postings
        ],
    }
    if reversed_by is not None:
        document["reversed_by"] = reversed_by
    return document


def journal_page(
    *,
    queries: ReportQueries,
    tenant_id: str,
    filters: JournalFilter,
    limit: int,
    cursor: str | None,
) -> Document:
    """A page of the journal in (posted_on, entry_id) order; the cursor continues after it."""
    if filters.period is not None:
        parse_period(filters.period, field="period")
    _bounded(limit, field="limit", high=JOURNAL_PAGE_MAX)
    try:
        page = queries.journal(tenant_id=tenant_id, filters=filters, limit=limit, cursor=cursor)
    except ValueError as error:
        raise InvalidReportRequest("invalid_cursor", str(error), field="cursor") from None
    return Document(
        "journal",
        {
            "report": "journal",
            "tenant_id": tenant_id,
            "items": [entry_document(entry) for entry in page.entries],
            "next_cursor": page.next_cursor,
        },
    )


def journal_entry(
    *, queries: ReportQueries, tenant_id: str, entry_id: str
) -> dict[str, Any] | None:
    """One entry with its postings and the entries reversing it; None when the tenant has none."""
    entry = queries.journal_entry(tenant_id=tenant_id, entry_id=entry_id)
    if entry is None:
        return None
    reversed_by = queries.reversals_of(tenant_id=tenant_id, entry_id=entry_id)
    return entry_document(entry, reversed_by=reversed_by)
