"""`ordertrail reports ...` and `ordertrail journal ...` over an SQLite file of the agreed rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from ordertrail.entrypoints.cli import app as cli
from tests.contract.test_report_queries_contract import fill_sql
from tests.reports.rows import acme_entries

runner = CliRunner()


@pytest.fixture
def database(sqlite_engine: Engine, tmp_path: Path) -> str:
    fill_sql(sqlite_engine)
    return str(tmp_path / "ordertrail.db")


def run(database: str, *args: str) -> Result:
    return runner.invoke(cli, [*args, "--database", database], env={"COLUMNS": "200"})


def test_the_waterfall_prints_decimal_amounts_per_contract_and_totals(database):
    result = run(database, "reports", "waterfall", "--tenant", "acme", "--from", "2026-12",
                 "--periods", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Revenue waterfall by contract from 2026-12" in result.output
    row = next(line for line in result.output.splitlines() if "ctr-A" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == [
        "ctr-A", "CUST-1", "USD", "100.00", "100.00", "900.00", "400.00", "1,500.00",
    ]  # fmt: skip


def test_the_rollforward_and_trial_balance_print_and_write_csv(database, tmp_path):
    result = run(database, "reports", "rollforward", "--tenant", "acme", "--from", "2026-11",
                 "--to", "2026-12")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1,700.00" in result.output
    assert "1,140.00" in result.output
    target = tmp_path / "tb.csv"
    result = run(database, "reports", "trial-balance", "--tenant", "acme", "--as-of", "2026-12",
                 "--csv", str(target))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert target.read_text().splitlines()[-1] == "total,,,,USD,170000,1700.00,170000,1700.00"


def test_the_rpo_as_json_is_the_api_document(database):
    result = run(database, "reports", "rpo", "--tenant", "acme", "--as-of", "2026-11", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert [t["total_minor"] for t in body["totals"]] == [30000, 150000]


def test_the_journal_lists_filters_and_shows_an_entry(database):
    listed = run(database, "journal", "list", "--tenant", "acme", "--kind", "invoice")
    assert listed.exit_code == 0, listed.output
    assert "1,700.00 USD" in listed.output
    assert "300.00 EUR" in listed.output
    wrong = next(e for e in acme_entries() if e.cause_event_id == "ctr-B:recognition:2026-12-03")
    shown = run(database, "journal", "show", wrong.entry_id, "--tenant", "acme")
    assert shown.exit_code == 0, shown.output
    assert "Reversed by" in shown.output
    assert "contract_assets" in shown.output
    missing = run(database, "journal", "show", wrong.entry_id, "--tenant", "globex")
    assert missing.exit_code == 1


def test_a_bad_period_stops_with_a_message(database):
    result = run(database, "reports", "waterfall", "--tenant", "acme", "--from", "2026-13")
    assert result.exit_code == 2
    assert "from:" in result.output
