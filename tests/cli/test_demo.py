"""`ordertrail demo`: a fresh database with a month of traffic, and a summary that adds up."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

from ordertrail.adapters.db.engine import sqlite_url
from ordertrail.bootstrap import Settings, bootstrap
from ordertrail.domain.ledger import period_index
from ordertrail.entrypoints.cli import app as cli
from ordertrail.services import reports
from ordertrail.services.keys import authenticate, create_key
from ordertrail.services.report_ports import JournalFilter
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
    result = run_demo(database, "--orders", "50", "--seed", "7", "--revenue-orders", "0")
    assert result.exit_code == 0, result.output
    assert "Revenue" not in result.output
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
    assert run_demo(database, "--orders", "5", "--revenue-orders", "0").exit_code == 0
    again = run_demo(database, "--orders", "5", "--revenue-orders", "0")
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


def test_the_demo_sends_a_sample_through_revenue_closes_the_month_and_shows_its_books(tmp_path):
    database = tmp_path / "demo.db"
    result = run_demo(database, "--orders", "12", "--seed", "3", "--revenue-orders", "8")
    assert result.exit_code == 0, result.output
    said = re.search(
        r"Revenue: the first (\d+) orders' (\d+) milestone messages went through the revenue "
        r"consumer in [\d.]+ s; the close of (\d{4}-\d{2}) posted (\d+) entries",
        result.output,
    )
    assert said is not None, result.output
    assert int(said.group(1)) == 8
    period = said.group(3)
    assert f"Revenue, {period} (closed)" in result.output
    assert "Revenue waterfall from" in result.output
    assert "revenue messages failed" not in result.output
    # The controls: a hold, a dispute and an approved override, each on its own sampled order.
    assert "Revenue controls" in result.output
    assert re.search(r"hold\s+│ SO-\d+\s+│ missing_pod hold placed, then released", result.output)
    assert re.search(r"dispute\s+│ SO-\d+\s+│ dispute D-DEMO-1 opened", result.output)
    override = re.search(
        r"override\s+│ SO-\d+\s+│ hold\.release request (\w+) by key:\w+ \(ana\); "
        r"self-approval refused \(self_approval\); approved by key:\w+ \(carl\)",
        result.output,
    )
    assert override is not None, result.output
    # Carrier traffic from the simulator: webhooks (one tampered, refused) and polls deliver the
    # sampled shipments, and the deliveries the orders did not know of yet become revenue.
    carriers = re.search(
        r"Carriers: the simulator delivered (\d+) shipments in [\d.]+ s; (\d+) of those "
        r"deliveries became revenue",
        " ".join(result.output.split()),
    )
    assert carriers is not None, result.output
    assert int(carriers.group(1)) >= 1
    assert "1 tampered webhook was refused" in " ".join(result.output.split())
    assert "Carrier webhooks from the simulator" in result.output
    assert "Carrier polls of the simulator" in result.output
    assert re.search(r"fedex\s+│\s+\d+ │\s+\d+ │\s+\d+ │\s+1 │", result.output)
    app = bootstrap(settings=Settings(database_url=sqlite_url(database)))
    try:
        request = app.approvals.get(tenant_id="demo", request_id=override.group(1))
        assert request.status == "approved"
        assert (request.requester_owner, request.decided_by_owner) == ("ana", "carl")
        assert not app.controls.holds(tenant_id="demo", order_id=None, open_only=True)
        queries = app.reports
        tb = reports.trial_balance(queries=queries, tenant_id="demo", period=None, as_of=period)
        assert tb.body["lines"], "the sample posted nothing"
        assert all(total["difference_minor"] == 0 for total in tb.body["totals"])
        journal = reports.journal_page(
            queries=queries, tenant_id="demo", filters=JournalFilter(), limit=500, cursor=None
        ).body["items"]
        sampled = {f"ctr-SO-{100_001 + i}" for i in range(8)}
        assert {entry["contract_id"].split("+")[0] for entry in journal} <= sampled
        with app.uow_factory() as uow:
            calendar = uow.ledger.calendar(tenant_id="demo")  # type: ignore[attr-defined]
        assert calendar.is_closed(period_index(period))
    finally:
        app.close()
