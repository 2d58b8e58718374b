"""`ordertrail import`: JSON Lines and CSV files, verified by their manifest, resumable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from ordertrail.adapters.db.engine import sqlite_url
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.entrypoints.cli import app as cli
from tests.builders import delivered, dispatched, placed, qty
from tests.cli.support import (
    csv_row,
    quarantined,
    sha256_of,
    stored_events,
    write_csv,
    write_jsonl,
    write_sidecar,
)

runner = CliRunner()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "ordertrail.db"


@pytest.fixture
def opened(database: Path) -> Iterator[Ordertrail]:
    """The database the command wrote to, opened after the command has run."""
    app = bootstrap(settings=Settings(database_url=sqlite_url(database)))
    yield app
    app.close()


def run_import(path: Path, database: Path, *options: str) -> Result:
    return runner.invoke(
        cli,
        ["import", str(path), "--tenant", "acme", "--database", str(database), *options],
        env={"COLUMNS": "400"},
    )


def said(result: Result) -> str:
    """The command's output with line wrapping undone."""
    return " ".join(result.output.split())


def one_delivered_order(order_id: str = "SO-1") -> list[dict]:
    return [
        placed(order_id=order_id),
        dispatched("S1", qty(l1=2, l2=1), order_id=order_id, minutes=10),
        delivered("S1", order_id=order_id, minutes=20),
    ]


def test_a_jsonl_file_with_a_sha256sum_manifest_is_applied_under_an_import_actor(
    tmp_path, database, opened
):
    path = write_jsonl(tmp_path / "orders.jsonl", one_delivered_order())
    digest = write_sidecar(path)
    result = run_import(path, database)
    assert result.exit_code == 0, result.output
    assert opened.queries.get_order(tenant_id="acme", order_id="SO-1")["status"] == "delivered"
    timeline = opened.queries.timeline(tenant_id="acme", order_id="SO-1")
    assert {entry["actor"] for entry in timeline["entries"]} == {
        f"import:orders.jsonl@{digest[:12]}"
    }


def test_a_csv_file_is_applied_with_its_payload_column_read_as_json(tmp_path, database, opened):
    path = write_csv(tmp_path / "orders.csv", [csv_row(e) for e in one_delivered_order()])
    result = run_import(path, database, "--sha256", sha256_of(path).upper())
    assert result.exit_code == 0, result.output
    assert opened.queries.get_order(tenant_id="acme", order_id="SO-1")["status"] == "delivered"
    assert len(stored_events(opened, tenant_id="acme")) == 3


def test_a_checksum_mismatch_applies_nothing_and_shows_both_digests(tmp_path, database, opened):
    path = write_jsonl(tmp_path / "orders.jsonl", one_delivered_order())
    expected = write_sidecar(path)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"appended": "after the manifest was written"}\n')
    result = run_import(path, database)
    assert result.exit_code == 1
    output = said(result)
    assert "checksum mismatch" in output
    assert expected in output
    assert sha256_of(path) in output
    assert "Nothing was imported" in output
    assert stored_events(opened, tenant_id="acme") == []
    assert quarantined(opened, tenant_id="acme") == []


def test_a_file_without_a_manifest_is_refused_unless_imported_unverified(
    tmp_path, database, opened
):
    path = write_jsonl(tmp_path / "orders.jsonl", one_delivered_order())
    refused = run_import(path, database)
    assert refused.exit_code == 2
    assert "sha256sum orders.jsonl > orders.jsonl.sha256" in said(refused)
    assert stored_events(opened, tenant_id="acme") == []
    accepted = run_import(path, database, "--unverified")
    assert accepted.exit_code == 0, accepted.output
    assert len(stored_events(opened, tenant_id="acme")) == 3


def test_undecodable_lines_and_rows_are_quarantined_and_the_rest_applied(
    tmp_path, database, opened
):
    broken = '{"event_id": "half-a-line", "type": '
    jsonl = write_jsonl(tmp_path / "a.jsonl", one_delivered_order("SO-1"), raw_lines={1: broken})
    with jsonl.open("ab") as file:
        file.write(b'{"event_id": "latin-1 \xe9t\xe9"}\n')
    rows = [csv_row(e) for e in one_delivered_order("SO-2")]
    rows.insert(1, [*rows[0][:-1], '{"customer_id": "CUST-1", '])
    rows.insert(2, ["too", "few", "fields"])
    csv_path = write_csv(tmp_path / "b.csv", rows)
    for path in (jsonl, csv_path):
        write_sidecar(path)
        result = run_import(path, database)
        assert result.exit_code == 0, result.output
    statuses = opened.queries.count_orders_by_status(tenant_id="acme")
    assert statuses == {"delivered": 2}
    items = quarantined(opened, tenant_id="acme")
    assert sorted(item["reason_code"] for item in items) == [
        "malformed_csv_row",
        "malformed_csv_row",
        "malformed_json",
        "malformed_json",
    ]
    assert broken in {item["body"] for item in items}
    assert any("line 2 of a.jsonl" in item["reason"] for item in items)


def test_a_re_run_of_the_same_file_skips_what_was_applied(tmp_path, database, opened):
    events = [*one_delivered_order("SO-1"), delivered("S404", order_id="SO-1", minutes=30)]
    path = write_jsonl(tmp_path / "orders.jsonl", events)
    write_sidecar(path)
    assert run_import(path, database).exit_code == 0
    again = run_import(path, database)
    assert again.exit_code == 0, again.output
    assert "an earlier run imported this file" in said(again)
    assert len(stored_events(opened, tenant_id="acme")) == 3
    # The refused delivery was skipped, not sent again: it is in quarantine once.
    assert [item["reason_code"] for item in quarantined(opened, tenant_id="acme")] == [
        "unknown_shipment"
    ]


def test_a_csv_header_without_the_envelope_columns_is_refused_before_anything_is_applied(
    tmp_path, database, opened
):
    header = ("event_id", "type", "tenant_id", "occured_at", "order_id", "payload")
    path = write_csv(tmp_path / "orders.csv", [["x"] * len(header)], header=header)
    write_sidecar(path)
    result = run_import(path, database)
    assert result.exit_code == 1
    output = said(result)
    assert "missing: schema_version, source, occurred_at" in output
    assert "unknown: occured_at" in output
    assert stored_events(opened, tenant_id="acme") == []


def test_the_format_comes_from_the_extension_or_must_be_given(tmp_path, database, opened):
    path = write_jsonl(tmp_path / "export.txt", one_delivered_order())
    write_sidecar(path)
    unknown = run_import(path, database)
    assert unknown.exit_code == 2
    assert "--format" in unknown.output
    given = run_import(path, database, "--format", "jsonl")
    assert given.exit_code == 0, given.output
    assert len(stored_events(opened, tenant_id="acme")) == 3


def test_the_examples_in_the_batch_files_guide_import_as_documented(tmp_path, database, opened):
    guide = Path(__file__).parents[2] / "docs" / "integrators" / "batch-files.md"
    text = guide.read_text(encoding="utf-8")
    for fmt in ("jsonl", "csv"):
        example = text.split(f"```{fmt}\n", 1)[1].split("```", 1)[0]
        path = tmp_path / f"example.{fmt}"
        path.write_text(example, encoding="utf-8")
        write_sidecar(path)
        result = run_import(path, database)
        assert result.exit_code == 0, result.output
    assert opened.queries.count_orders_by_status(tenant_id="acme") == {"fulfilled": 2}
    assert quarantined(opened, tenant_id="acme") == []
