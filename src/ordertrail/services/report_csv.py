"""Reports as CSV: one layout per report, money as integer minor units and as a decimal.

Every amount appears twice, side by side: `<name>_minor` (the exact integer the API returns) and
`<name>` (a decimal string with as many places as the currency has minor digits, "1234.50" for
USD, "1234" for JPY), so a spreadsheet can sum the decimals and a reconciliation can match the
integers. Totals rows, where a report has them, say "total" in the first column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from ordertrail.domain.money import exponent_of
from ordertrail.domain.revenue.reports import GROUP_FIELDS
from ordertrail.services.reports import Document

Rows = Iterable[list[Any]]


def decimal_text(amount_minor: int, currency: str) -> str:
    """Write minor units as a decimal in the currency's exponent: -12345 USD -> '-123.45'."""
    exponent = exponent_of(currency)
    sign = "-" if amount_minor < 0 else ""
    if exponent == 0:
        return f"{sign}{abs(amount_minor)}"
    whole, fraction = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}.{fraction:0{exponent}d}"


def _money(names: Iterable[str]) -> list[str]:
    return [column for name in names for column in (f"{name}_minor", name)]


def _amounts(row: dict[str, Any], names: Iterable[str]) -> list[Any]:
    currency = row["currency"]
    return [
        value
        for name in names
        for value in (row[f"{name}_minor"], decimal_text(row[f"{name}_minor"], currency))
    ]


def _keys(body: dict[str, Any]) -> tuple[str, ...]:
    return GROUP_FIELDS[body["group_by"]]


def _total_keys(keys: tuple[str, ...]) -> list[str]:
    return ["total", *([""] * (len(keys) - 1))]


WATERFALL_TAIL = ("later", "unscheduled", "total")


def _waterfall(body: dict[str, Any]) -> tuple[list[str], Rows]:
    keys, periods = _keys(body), body["periods"]
    header = [*keys, "currency", *_money(periods), *_money(WATERFALL_TAIL), "obligations"]

    def line(row: dict[str, Any], first: list[str]) -> list[Any]:
        by_period = dict(zip(periods, row["amounts_minor"], strict=True))
        cells = [
            c for p in periods for c in (by_period[p], decimal_text(by_period[p], row["currency"]))
        ]
        return [*first, row["currency"], *cells, *_amounts(row, WATERFALL_TAIL), row["obligations"]]

    rows = [line(row, [row[k] for k in keys]) for row in body["rows"]]
    rows += [line(total, _total_keys(keys)) for total in body["totals"]]
    return header, rows


RPO_AMOUNTS = ("within_12_months", "beyond_12_months", "unscheduled", "total")


def _rpo(body: dict[str, Any]) -> tuple[list[str], Rows]:
    keys = _keys(body)
    header = [*keys, "currency", *_money(RPO_AMOUNTS), "obligations"]
    rows = [
        [*(row[k] for k in keys), row["currency"], *_amounts(row, RPO_AMOUNTS), row["obligations"]]
        for row in body["rows"]
    ]
    rows += [
        [*_total_keys(keys), t["currency"], *_amounts(t, RPO_AMOUNTS), t["obligations"]]
        for t in body["totals"]
    ]
    return header, rows


ROLLFORWARD_AMOUNTS = (
    "opening",
    "billed",
    "recognized",
    "adjustments",
    "closing",
    "closing_liabilities",
    "closing_assets",
)


def _rollforward(body: dict[str, Any]) -> tuple[list[str], Rows]:
    header = ["period", "currency", *_money(ROLLFORWARD_AMOUNTS)]
    rows = [
        [line["period"], line["currency"], *_amounts(line, ROLLFORWARD_AMOUNTS)]
        for line in body["lines"]
    ]
    return header, rows


TB_AMOUNTS = ("debit", "credit")


def _trial_balance(body: dict[str, Any]) -> tuple[list[str], Rows]:
    header = ["account", "name", "kind", "gl_code", "currency", *_money(TB_AMOUNTS)]
    rows = [
        [li["account"], li["name"], li["kind"], li["gl_code"], li["currency"],
         *_amounts(li, TB_AMOUNTS)]
        for li in body["lines"]
    ]  # fmt: skip
    rows += [["total", "", "", "", t["currency"], *_amounts(t, TB_AMOUNTS)] for t in body["totals"]]
    return header, rows


JOURNAL_ENTRY_COLUMNS = (
    "entry_id", "kind", "posted_on", "occurred_on", "period", "cause_event_id", "reverses",
)  # fmt: skip
JOURNAL_POSTING_COLUMNS = ("line_no", "account", "contract_id", "obligation_id", "customer_id")
JOURNAL_AMOUNTS = ("amount", "debit", "credit")


def _journal(body: dict[str, Any]) -> tuple[list[str], Rows]:
    header = [
        *JOURNAL_ENTRY_COLUMNS,
        *JOURNAL_POSTING_COLUMNS,
        "currency",
        *_money(JOURNAL_AMOUNTS),
        "memo",
    ]
    rows = [
        [
            *(entry[c] for c in JOURNAL_ENTRY_COLUMNS),
            *(posting[c] for c in JOURNAL_POSTING_COLUMNS),
            posting["currency"],
            *_amounts(posting, JOURNAL_AMOUNTS),
            entry["memo"],
        ]
        for entry in body["items"]
        for posting in entry["postings"]
    ]
    return header, rows


LAYOUTS: dict[str, Callable[[dict[str, Any]], tuple[list[str], Rows]]] = {
    "waterfall": _waterfall,
    "rpo": _rpo,
    "deferred_rollforward": _rollforward,
    "trial_balance": _trial_balance,
    "journal": _journal,
}


def filename_of(document: Document) -> str:
    """A download name that says which report, tenant and periods: waterfall-acme-2026-11.csv."""
    body = document.body
    parts = [document.report.replace("_", "-"), body["tenant_id"]]
    for field in ("from", "to", "as_of", "period"):
        if body.get(field):
            parts.append(str(body[field]))
    return "-".join(parts) + ".csv"


def csv_text(document: Document) -> str:
    """The report as CSV text (RFC 4180, CRLF line ends), header first."""
    header, rows = LAYOUTS[document.report](document.body)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    return buffer.getvalue()
