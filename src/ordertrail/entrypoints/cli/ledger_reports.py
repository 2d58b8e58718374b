"""`ordertrail reports waterfall|rollforward|rpo|trial-balance`: revenue reports in a terminal.

Each prints Rich tables with decimal amounts, or the API's JSON (`--json`), or writes the API's
CSV to a file (`--csv FILE`). The figures are the same as over HTTP (services/reports.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.ledger import month_index, period_key
from ordertrail.domain.revenue.reports import GROUP_FIELDS
from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.services import reports
from ordertrail.services.report_csv import csv_text, decimal_text
from ordertrail.services.report_ports import ReportTooLarge
from ordertrail.services.reports import Document, InvalidReportRequest

TenantOption = Annotated[str, typer.Option("--tenant", help="The tenant whose books to read.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
CsvOption = Annotated[
    Path | None, typer.Option("--csv", dir_okay=False, help="Write the report as CSV to FILE.")
]
GroupOption = Annotated[str, typer.Option("--group-by", help="contract, obligation or customer.")]
ROWS_SHOWN_MAX = 50


def money(amount_minor: int, currency: str) -> str:
    """An amount for people: 1,234.50 (thousands separated, the currency's decimals)."""
    text = decimal_text(amount_minor, currency)
    whole, _, fraction = text.partition(".")
    grouped = f"{int(whole):,}" if whole not in ("-0", "0") else whole
    return grouped + (f".{fraction}" if fraction else "")


def this_month(app: Ordertrail) -> str:
    return period_key(month_index(app.clock.now().date()))


def run_report(
    *,
    database: str | None,
    build: Callable[[Ordertrail], Document],
    as_json: bool,
    csv_file: Path | None,
    render: Callable[[dict[str, Any]], None],
) -> None:
    """Build a report, then print it as tables or JSON, or write it as CSV."""
    app = open_app(database)
    try:
        document = build(app)
    except InvalidReportRequest as error:
        raise fail(escape(f"{error.field}: {error}"), code=2) from None
    except ReportTooLarge as error:
        raise fail(escape(f"{error}; ask for fewer periods"), code=2) from None
    finally:
        app.close()
    if csv_file is not None:
        csv_file.write_text(csv_text(document), encoding="utf-8", newline="")
        console.print(f"Wrote {document.report} to {escape(str(csv_file))}.")
        return
    if as_json:
        typer.echo(json.dumps(document.body, indent=2))
        return
    render(document.body)


def _key_columns(body: dict[str, Any]) -> tuple[str, ...]:
    return GROUP_FIELDS[body["group_by"]][:2]


def render_waterfall(body: dict[str, Any]) -> None:
    keys = _key_columns(body)
    table = Table(
        *keys, "cur", *body["periods"], "later", "at fulfilment", "total",
        title=f"Revenue waterfall by {body['group_by']} from {body['from']}",
    )  # fmt: skip
    for row in [*body["rows"][:ROWS_SHOWN_MAX], *({**t, keys[0]: "[bold]total[/]"}
                                                 for t in body["totals"])]:  # fmt: skip
        cur = row["currency"]
        table.add_row(
            *(row.get(k, "") for k in keys),
            cur,
            *(money(a, cur) for a in row["amounts_minor"]),
            money(row["later_minor"], cur),
            money(row["unscheduled_minor"], cur),
            money(row["total_minor"], cur),
        )
    for column in table.columns[len(keys) + 1 :]:
        column.justify = "right"
    console.print(table)
    if body["rows_total"] > ROWS_SHOWN_MAX:
        console.print(f"{ROWS_SHOWN_MAX} of {body['rows_total']} rows shown; --csv has them all.")


def render_rollforward(body: dict[str, Any]) -> None:
    table = Table(
        "period", "cur", "opening", "+ billed", "- recognized", "± adjustments", "= closing",
        "liabilities", "assets",
        title=f"Deferred revenue rollforward {body['from']} to {body['to']}",
    )  # fmt: skip
    for line in body["lines"]:
        cur = line["currency"]
        table.add_row(
            line["period"],
            cur,
            *(
                money(line[f"{name}_minor"], cur)
                for name in ("opening", "billed", "recognized", "adjustments", "closing",
                             "closing_liabilities", "closing_assets")
            ),
        )  # fmt: skip
    for column in table.columns[2:]:
        column.justify = "right"
    console.print(table)


def render_rpo(body: dict[str, Any]) -> None:
    keys = _key_columns(body)
    band = body["within_12_months"]
    table = Table(
        *keys, "cur", f"within 12 months ({band['from']}..{band['to']})", "beyond",
        "at fulfilment", "total", title=f"Remaining performance obligations at {body['as_of']}",
    )  # fmt: skip
    for row in [*body["rows"][:ROWS_SHOWN_MAX], *({**t, keys[0]: "[bold]total[/]"}
                                                 for t in body["totals"])]:  # fmt: skip
        cur = row["currency"]
        table.add_row(
            *(row.get(k, "") for k in keys),
            cur,
            *(money(row[f"{name}_minor"], cur)
              for name in ("within_12_months", "beyond_12_months", "unscheduled", "total")),
        )  # fmt: skip
    for column in table.columns[len(keys) + 1 :]:
        column.justify = "right"
    console.print(table)


def render_trial_balance(body: dict[str, Any]) -> None:
    scope = f"period {body['period']}" if body["period"] else f"through {body['as_of']}"
    table = Table("GL", "account", "cur", "debit", "credit", title=f"Trial balance, {scope}")
    for line in body["lines"]:
        cur = line["currency"]
        table.add_row(
            line["gl_code"],
            line["account"],
            cur,
            money(line["debit_minor"], cur) if line["debit_minor"] else "",
            money(line["credit_minor"], cur) if line["credit_minor"] else "",
        )
    for total in body["totals"]:
        cur = total["currency"]
        table.add_row(
            "", "[bold]total[/]", cur, money(total["debit_minor"], cur),
            money(total["credit_minor"], cur),
        )  # fmt: skip
    for column in table.columns[3:]:
        column.justify = "right"
    console.print(table)


def waterfall(
    *,
    tenant: TenantOption,
    start: Annotated[str | None, typer.Option("--from", help="First period, YYYY-MM.")] = None,
    periods: Annotated[int, typer.Option(help="How many periods.")] = 12,
    group_by: GroupOption = "contract",
    as_json: JsonOption = False,
    csv_file: CsvOption = None,
    database: DatabaseOption = None,
) -> None:
    """Deferred revenue by the period it is expected in, per contract, obligation or customer."""
    run_report(
        database=database,
        build=lambda app: reports.waterfall_report(
            queries=app.reports,
            tenant_id=tenant,
            group_by=group_by,
            first_period=start or this_month(app),
            periods=periods,
        ),
        as_json=as_json,
        csv_file=csv_file,
        render=render_waterfall,
    )


def rollforward(
    *,
    tenant: TenantOption,
    start: Annotated[str | None, typer.Option("--from", help="First period, YYYY-MM.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last period, YYYY-MM.")] = None,
    as_json: JsonOption = False,
    csv_file: CsvOption = None,
    database: DatabaseOption = None,
) -> None:
    """Opening + billed - recognized + adjustments = closing deferred revenue, per period."""

    def build(app: Ordertrail) -> Document:
        last = end or this_month(app)
        return reports.rollforward_report(
            queries=app.reports, tenant_id=tenant, first_period=start or last, last_period=last
        )

    run_report(
        database=database, build=build, as_json=as_json, csv_file=csv_file,
        render=render_rollforward,
    )  # fmt: skip


def rpo(
    *,
    tenant: TenantOption,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Period end, YYYY-MM.")] = None,
    group_by: GroupOption = "contract",
    as_json: JsonOption = False,
    csv_file: CsvOption = None,
    database: DatabaseOption = None,
) -> None:
    """Remaining performance obligations: within 12 months, beyond, and at fulfilment."""
    run_report(
        database=database,
        build=lambda app: reports.rpo_report(
            queries=app.reports, tenant_id=tenant, as_of=as_of or this_month(app),
            group_by=group_by,
        ),
        as_json=as_json,
        csv_file=csv_file,
        render=render_rpo,
    )  # fmt: skip


def trial_balance(
    *,
    tenant: TenantOption,
    period: Annotated[str | None, typer.Option(help="Movements of one period, YYYY-MM.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Balances through YYYY-MM.")] = None,
    as_json: JsonOption = False,
    csv_file: CsvOption = None,
    database: DatabaseOption = None,
) -> None:
    """Debits and credits per account and currency; each currency sums to zero."""
    run_report(
        database=database,
        build=lambda app: reports.trial_balance(
            queries=app.reports,
            tenant_id=tenant,
            period=period,
            as_of=as_of or (None if period else this_month(app)),
        ),
        as_json=as_json,
        csv_file=csv_file,
        render=render_trial_balance,
    )
