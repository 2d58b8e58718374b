"""`ordertrail alerts` and `ordertrail reports root-causes` on an SQLite file."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.entrypoints.cli import app as cli
from tests.monitoring.support import add_shipment

runner = CliRunner()
# Old enough that the system clock the CLI uses sees the shipment as stuck.
LONG_AGO = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def run(database: Path, *args: str) -> str:
    result = runner.invoke(cli, [*args, "--database", str(database)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_evaluate_list_acknowledge_and_resolve_from_the_command_line(tmp_path):
    database = tmp_path / "ordertrail.db"
    engine = make_engine(sqlite_url(database))
    upgrade(engine)
    add_shipment(
        engine,
        shipment_id="S1",
        status="exception",
        last_update_at=LONG_AGO,
        created_at=LONG_AGO,
        root_cause="carrier",
        reason="lost",
    )
    engine.dispose()
    assert "raised 1" in run(database, "alerts", "evaluate")
    [alert] = [
        json.loads(line)
        for line in run(database, "alerts", "list", "--tenant", "acme", "--json").splitlines()
    ]
    assert (alert["subject"], alert["state"]) == ("S1", "open")
    acked = json.loads(run(database, "alerts", "ack", str(alert["id"]), "--tenant", "acme"))
    assert acked["acknowledged_by"].startswith("key:cli-")
    resolved = json.loads(run(database, "alerts", "resolve", str(alert["id"]), "--tenant", "acme"))
    assert resolved["state"] == "resolved"
    refused = runner.invoke(
        cli, ["alerts", "ack", str(alert["id"]), "--tenant", "acme", "--database", str(database)]
    )
    assert refused.exit_code == 1
    assert "resolved" in refused.output

    run(
        database,
        "alerts",
        "rules",
        "set",
        "--tenant",
        "acme",
        "--subject",
        "shipment",
        "--status",
        "exception",
        "--threshold-hours",
        "6",
        "--severity",
        "critical",
    )
    rules = json.loads(run(database, "alerts", "rules", "show", "--tenant", "acme", "--json"))
    assert {"status": "exception", "threshold_minutes": 360, "source": "tenant"}.items() <= next(
        r for r in rules if r["status"] == "exception"
    ).items()
    path = json.loads(
        run(
            database,
            "alerts",
            "escalations",
            "set",
            "--tenant",
            "acme",
            "--level",
            "1:0:ops",
            "--level",
            "2:30:lead:lead@example.com",
        )
    )
    assert path["levels"][1]["email_to"] == ["lead@example.com"]

    start = (LONG_AGO - timedelta(days=1)).isoformat()
    end = (LONG_AGO + timedelta(days=1)).isoformat()
    out = run(
        database,
        "reports",
        "root-causes",
        "--tenant",
        "acme",
        "--from",
        start,
        "--to",
        end,
        "--format",
        "csv",
    )
    assert list(csv.reader(io.StringIO(out)))[1] == [
        "all",
        "1",
        "carrier",
        "1",
        "100.00",
        "1",
        "100.00",
    ]
