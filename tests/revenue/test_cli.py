"""The catalog, settings, ledger and close commands, on an SQLite file, as an operator runs them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from ordertrail.entrypoints.cli import app as cli

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "revenue" / "catalog.md"


def documented_json(index: int) -> str:
    """The index-th JSON example of docs/revenue/catalog.md, so the documented format is tested."""
    blocks: list[str] = re.findall(r"```json\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    return blocks[index]


def run(*args: str) -> str:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_the_documented_catalog_loads_and_lists_every_row_as_version_one(tmp_path: Path) -> None:
    database = str(tmp_path / "ot.db")
    catalog = tmp_path / "catalog.json"
    catalog.write_text(documented_json(0), encoding="utf-8")
    assert "Loaded 6 catalog rows" in run(
        "revenue", "catalog", "load", str(catalog), "-d", database
    )
    listed = json.loads(run("revenue", "catalog", "list", "--json", "-d", database))
    assert len(listed) == 6
    assert {row["version"] for row in listed} == {1}
    run("revenue", "catalog", "load", str(catalog), "-d", database)
    shown = json.loads(run("revenue", "catalog", "show", "WIDGET", "--json", "-d", database))
    assert sorted((row["kind"], row["version"]) for row in shown) == [
        ("ssp", 1),
        ("ssp", 2),
        ("template", 1),
        ("template", 2),
    ]


def test_a_catalog_row_that_breaks_a_rule_is_refused_and_nothing_is_loaded(
    tmp_path: Path,
) -> None:
    database = str(tmp_path / "ot.db")
    bad = tmp_path / "bad.json"
    over_time_without_method = {
        "templates": [
            {
                "sku": "X",
                "effective_from": "2026-01-01",
                "templates": [{"component": "c", "nature": "service", "timing": "over_time"}],
            }
        ]
    }
    bad.write_text(json.dumps(over_time_without_method), encoding="utf-8")
    result = runner.invoke(cli, ["revenue", "catalog", "load", str(bad), "-d", database])
    assert result.exit_code == 2
    assert "needs a method" in result.output
    assert json.loads(run("revenue", "catalog", "list", "--json", "-d", database)) == []


def test_settings_are_replaced_from_a_file_and_printed_back(tmp_path: Path) -> None:
    database = str(tmp_path / "ot.db")
    settings = tmp_path / "settings.json"
    settings.write_text(documented_json(1), encoding="utf-8")
    printed = json.loads(run("revenue", "settings", "--set", str(settings), "-d", database))
    assert printed["combination"]["window_days"] == 30
    assert printed["returns"][0]["expected_return_rate_bp"] == 500


def test_ledger_commands_show_the_default_chart_and_a_closed_period(tmp_path: Path) -> None:
    database = str(tmp_path / "ot.db")
    assert "contract_liabilities" in run("ledger", "accounts", "-d", database)
    assert "every month is open" in run("ledger", "periods", "-d", database)
    closed = run("close", "--period", "2026-10", "-d", database)
    assert "Closed 2026-10: 0 entries" in closed
    assert "already closed: nothing changed" in run("close", "--period", "2026-10", "-d", database)
    assert "2026-10" in run("ledger", "periods", "-d", database)
