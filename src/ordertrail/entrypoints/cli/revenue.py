"""`ordertrail revenue preview FILE.json`: a contract's obligations, allocation and schedule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from ordertrail.domain.money import MoneyError
from ordertrail.domain.revenue.errors import RevenueError
from ordertrail.domain.revenue.posting import PositionOutOfBalance
from ordertrail.domain.revenue.preview import preview
from ordertrail.domain.revenue.preview_format import PreviewRequest
from ordertrail.entrypoints.cli import revenue_catalog
from ordertrail.entrypoints.cli.common import console, fail

app = typer.Typer(help="Revenue: preview a contract, catalogs and settings.", no_args_is_help=True)
app.add_typer(revenue_catalog.app, name="catalog")
app.command("settings")(revenue_catalog.settings)
# Exit status for input the preview cannot use: the file, its JSON, or the contract it describes.
INVALID_INPUT = 2
FILE_BYTES_MAX = 8 * 1024 * 1024


def _request(path: Path) -> PreviewRequest:
    """Read and parse the request file, or stop with a message naming what is wrong."""
    try:
        if path.stat().st_size > FILE_BYTES_MAX:
            message = escape(f"{path} is larger than {FILE_BYTES_MAX} bytes")
            raise fail(message, code=INVALID_INPUT)
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise fail(escape(f"cannot read {path}: {error}"), code=INVALID_INPUT) from None
    except json.JSONDecodeError as error:
        raise fail(escape(f"{path} is not JSON: {error}"), code=INVALID_INPUT) from None
    try:
        return PreviewRequest.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or '(root)'}: {item['msg']} ({item['type']})"
            for item in error.errors()
        )
        message = f"{path} is not a valid contract: {problems}"
        raise fail(escape(message), code=INVALID_INPUT) from None


def _obligations(contract: dict[str, Any]) -> Table:
    table = Table(
        "obligation", "timing", "ssp", "basis", "allocated", "recognized", "unrecognized", "status",
        title=f"{contract['contract_id']}: obligations ({contract['currency']})",
    )  # fmt: skip
    for ob in contract["obligations"]:
        table.add_row(
            ob["obligation_id"],
            ob["method"] or ob["trigger"] or ob["timing"],
            ob["ssp"] or "",
            ob["allocation_basis"],
            ob["allocated"],
            ob["recognized"],
            ob["unrecognized"],
            ob["status"],
        )
    for column in table.columns:
        column.overflow = "fold"
    return table


def _schedule(contract: dict[str, Any]) -> Table:
    """Revenue by period, one column per obligation that earns any, and the period's total."""
    obligation_ids = sorted({row["obligation_id"] for row in contract["schedule"]})
    cells = {(row["period"], row["obligation_id"]): row["revenue"] for row in contract["schedule"]}
    table = Table("period", *obligation_ids, "total", title=f"{contract['contract_id']}: schedule")
    for row in contract["revenue_by_period"]:
        period = row["period"]
        table.add_row(period, *(cells.get((period, o), "") for o in obligation_ids), row["revenue"])
    for column in table.columns[1:]:
        column.justify = "right"
    return table


def _modifications(result: dict[str, Any]) -> Table:
    table = Table("cause", "treatment", "rules chose", "paragraph", "new contract", "reason")
    for decision in result["modifications"]:
        table.add_row(
            decision["cause"],
            decision["treatment"],
            decision["rules_chose"],
            decision["paragraph"],
            decision["new_contract_id"] or "",
            decision["reason"],
        )
    return table


@app.command("preview")
def revenue_preview(
    file: Annotated[
        Path, typer.Argument(help="The contract as JSON; see docs/revenue/preview.md.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole result as JSON.")
    ] = False,
) -> None:
    """Preview a contract: its obligations, the allocation and revenue by period. Stores nothing."""
    request = _request(file)
    try:
        result = preview(request=request)
    except PositionOutOfBalance:
        # A broken invariant is a bug to report with its traceback, not a contract to fix.
        raise
    except (RevenueError, MoneyError) as error:
        raise fail(escape(f"the contract is refused: {error}"), code=INVALID_INPUT) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for contract in (result["contract"], *result["separate_contracts"]):
        console.print(_obligations(contract))
        console.print(_schedule(contract))
    if result["modifications"]:
        console.print(_modifications(result))
    console.print(f"scheduled through {result['through']}")
