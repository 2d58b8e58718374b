"""`ordertrail demo`: a fresh database with a month of traffic, and a summary that adds up."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

from ordertrail.adapters.db.engine import sqlite_url
from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.entrypoints.cli import app as cli
from ordertrail.services.keys import authenticate, create_key
from tests.cli.support import quarantined, stored_events
from tests.conftest import T0

runner = CliRunner()


def run_demo(database: Path, *options: str) -> Result:
    return runner.invoke(
        cli, ["demo", "--database", str(database), *options], env={"COLUMNS": "400"}
    )


def count(output: str, label: str) -> int:
    match = re.search(re.escape(label) + r"\s*│\s*([\d,]+)", output)
    assert match is not None, f"{label!r} not in the summary:\n{output}"
    return int(match.group(1).replace(",", ""))


def test_a_small_demo_quarantines_some_events_answers_resends_and_spreads_orders_over_statuses(
    tmp_path,
):
    database = tmp_path / "demo.db"
    result = run_demo(database, "--orders", "50", "--seed", "7")
    assert result.exit_code == 0, result.output
    quarantined_count = count(result.output, "quarantined (rejected + conflict)")
    assert quarantined_count > 0
    assert count(result.output, "duplicate (resent, answered idempotently)") > 0
    assert "Every event got exactly the answer the generator meant" in result.output
    app = bootstrap(settings=Settings(database_url=sqlite_url(database)))
    try:
        statuses = app.queries.count_orders_by_status(tenant_id="demo")
        assert sum(statuses.values()) == 50
        assert len(statuses) >= 4
        assert len(quarantined(app, tenant_id="demo")) == quarantined_count
        applied = count(result.output, "applied")
        assert len(stored_events(app, tenant_id="demo")) == applied
        token = re.search(r"admin key for tenant demo \(shown once\): (\S+)", result.output)
        principal = authenticate(store=app.keys, token=token.group(1))
        assert principal.tenant_id == "demo"
        assert "admin" in principal.roles
    finally:
        app.close()
    order_id = re.search(r"/v1/orders/(\S+)/timeline", result.output).group(1)
    assert order_id.startswith("SO-")
    assert f"ordertrail serve --database {database}" in result.output


def test_running_the_demo_again_replaces_its_database_and_says_so(tmp_path):
    database = tmp_path / "demo.db"
    assert run_demo(database, "--orders", "5").exit_code == 0
    again = run_demo(database, "--orders", "5")
    assert again.exit_code == 0, again.output
    assert f"Replaced the existing demo database {database}" in again.output
    app = bootstrap(settings=Settings(database_url=sqlite_url(database)))
    try:
        assert sum(app.queries.count_orders_by_status(tenant_id="demo").values()) == 5
    finally:
        app.close()


def test_the_demo_refuses_to_replace_a_database_that_holds_other_tenants(tmp_path):
    database = tmp_path / "ordertrail.db"
    app = bootstrap(settings=Settings(database_url=sqlite_url(database)))
    create_key(store=app.keys, tenant_id="acme", roles=["admin"], name="real", now=T0)
    app.close()
    result = run_demo(database, "--orders", "5")
    assert result.exit_code == 1
    assert "holds keys for tenant(s) acme" in " ".join(result.output.split())
    app = bootstrap(settings=Settings(database_url=sqlite_url(database)))
    try:
        assert [key.tenant_id for key in app.keys.list(tenant_id=None)] == ["acme"]
    finally:
        app.close()


def test_the_demo_refuses_to_replace_a_file_that_is_not_a_database(tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("my notes\n")
    result = run_demo(notes, "--orders", "5")
    assert result.exit_code == 1
    assert "not an SQLite database" in result.output
    assert notes.read_text() == "my notes\n"
