"""`ordertrail journal list|show`: journal entries and their postings in the terminal."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.entrypoints.cli.ledger_reports import (
    CsvOption,
    JsonOption,
    TenantOption,
    money,
    run_report,
)
from ordertrail.services import reports
from ordertrail.services.report_ports import JOURNAL_PAGE_MAX, JournalFilter

app = typer.Typer(help="The journal: balanced entries and their postings.", no_args_is_help=True)


def _postings_table(entry: dict[str, Any]) -> Table:
    title = (
        f"{entry['entry_id']}  {entry['kind']}  posted {entry['posted_on']}"
        f" (occurred {entry['occurred_on']})  cause {escape(entry['cause_event_id'])}"
    )
    table = Table("#", "account", "obligation", "debit", "credit", "cur", title=title)
    for posting in entry["postings"]:
        cur = posting["currency"]
        table.add_row(
            str(posting["line_no"]),
            posting["account"],
            posting["obligation_id"] or "",
            money(posting["debit_minor"], cur) if posting["debit_minor"] else "",
            money(posting["credit_minor"], cur) if posting["credit_minor"] else "",
            cur,
        )
    for column in table.columns[3:5]:
        column.justify = "right"
    return table


def _render_page(body: dict[str, Any]) -> None:
    table = Table("posted", "entry", "kind", "contract", "obligation", "cause", "amount")
    for entry in body["items"]:
        debit = sum(p["debit_minor"] for p in entry["postings"])
        currencies = sorted({p["currency"] for p in entry["postings"]})
        table.add_row(
            entry["posted_on"],
            entry["entry_id"],
            entry["kind"],
            entry["contract_id"],
            entry["obligation_id"] or "",
            escape(entry["cause_event_id"]),
            f"{money(debit, currencies[0])} {'/'.join(currencies)}",
        )
    table.columns[-1].justify = "right"
    console.print(table)
    if body["next_cursor"]:
        console.print(f"More follow: --cursor {body['next_cursor']}", highlight=False)


@app.command("list")
def list_entries(
    *,
    tenant: TenantOption,
    period: Annotated[str | None, typer.Option(help="Posted in this period, YYYY-MM.")] = None,
    account: Annotated[str | None, typer.Option(help="With a posting to this account.")] = None,
    contract: Annotated[str | None, typer.Option(help="Of this contract.")] = None,
    obligation: Annotated[str | None, typer.Option(help="With a posting for it.")] = None,
    kind: Annotated[str | None, typer.Option(help="invoice, recognition, close, ...")] = None,
    cause: Annotated[str | None, typer.Option(help="Caused by this event id.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=JOURNAL_PAGE_MAX)] = 50,
    cursor: Annotated[str | None, typer.Option(help="Continue after a page.")] = None,
    as_json: JsonOption = False,
    csv_file: CsvOption = None,
    database: DatabaseOption = None,
) -> None:
    """Journal entries in posting-date order, filtered; one page at a time."""
    filters = JournalFilter(
        period=period,
        account=account,
        contract_id=contract,
        obligation_id=obligation,
        kind=kind,
        cause_event_id=cause,
    )
    run_report(
        database=database,
        build=lambda ordertrail: reports.journal_page(
            queries=ordertrail.reports,
            tenant_id=tenant,
            filters=filters,
            limit=limit,
            cursor=cursor,
        ),
        as_json=as_json,
        csv_file=csv_file,
        render=_render_page,
    )


@app.command("show")
def show_entry(
    entry_id: Annotated[str, typer.Argument(help="The entry id (32 hex characters).")],
    *,
    tenant: TenantOption,
    as_json: JsonOption = False,
    database: DatabaseOption = None,
) -> None:
    """One entry: its causes, dates, postings and the entries that reverse it."""
    ordertrail = open_app(database)
    try:
        entry = reports.journal_entry(
            queries=ordertrail.reports, tenant_id=tenant, entry_id=entry_id
        )
    finally:
        ordertrail.close()
    if entry is None:
        raise fail(escape(f"no journal entry {entry_id!r} for tenant {tenant}"))
    if as_json:
        typer.echo(json.dumps(entry, indent=2))
        return
    console.print(_postings_table(entry))
    if entry["reverses"]:
        console.print(f"Reverses {entry['reverses']}.")
    for reversal in entry["reversed_by"]:
        console.print(f"Reversed by {reversal}.")
    if entry["memo"]:
        console.print(f"Memo: {escape(entry['memo'])}")
