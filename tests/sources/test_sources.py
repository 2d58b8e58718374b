"""Per-source synchronisation modes: configuration, the batch scheduler, the CLI and the API."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.source_store import SqlSourceStore
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli import app as cli
from ordertrail.entrypoints.workers.sync import run_sync
from ordertrail.services.sources import InvalidSource, SyncMode, configure_source
from tests.builders import dispatched, placed, qty
from tests.conftest import NOW, make_principal

runner = CliRunner()


@pytest.fixture
def sapp(engine: Engine, clock: FixedClock, tmp_path: Path) -> Ordertrail:
    """The app with its drop directories under the test's own folder."""
    return bootstrap(
        settings=Settings(database_url=str(engine.url), sync_drop_root=str(tmp_path / "drop")),
        engine=engine,
        clock=clock,
        migrate=False,
    )


def drop(app: Ordertrail, source: str, name: str, events: list[dict], *, sidecar: bool) -> Path:
    """Write a JSON Lines file as a producer would: under a temporary name, then renamed."""
    directory = app.drop_box.directory(tenant_id="acme", source=source)
    directory.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(event) + "\n" for event in events)
    partial = directory / f"{name}.part"
    partial.write_text(text, encoding="utf-8")
    final = directory / name
    partial.rename(final)
    if sidecar:
        digest = hashlib.sha256(text.encode()).hexdigest()
        (directory / f"{name}.sha256").write_text(f"{digest}  {name}\n", encoding="utf-8")
    return final


def batch(app: Ordertrail, source: str = "wms", *, minutes: int = 15) -> None:
    configure_source(
        store=app.sources,
        tenant_id="acme",
        source=source,
        mode=SyncMode.BATCH,
        interval_s=minutes * 60,
        actor="key:test",
        now=app.clock.now(),
    )


class TestConfiguration:
    def test_a_batch_source_is_claimed_once_until_its_run_is_recorded(self, sapp, clock):
        batch(sapp, minutes=30)
        store = SqlSourceStore(sapp.engine)
        [claimed] = store.claim_due(now=clock.now(), lease_s=600, limit=10)
        assert (claimed.source, claimed.mode, claimed.interval_s) == ("wms", SyncMode.BATCH, 1800)
        # A second scheduler looking at the same moment finds nothing to do.
        assert store.claim_due(now=clock.now(), lease_s=600, limit=10) == []
        # A scheduler that died mid-run: the source is claimable again after the lease.
        assert (
            len(store.claim_due(now=clock.now() + timedelta(seconds=601), lease_s=600, limit=10))
            == 1
        )

    def test_switching_to_event_driven_takes_the_source_off_the_schedule(self, sapp, clock):
        batch(sapp)
        configure_source(
            store=sapp.sources,
            tenant_id="acme",
            source="wms",
            mode=SyncMode.EVENT,
            interval_s=None,
            actor="key:test",
            now=clock.now(),
        )
        [source] = sapp.sources.list_sources(tenant_id="acme")
        assert (source.mode, source.interval_s, source.next_run_at) == (SyncMode.EVENT, None, None)
        assert sapp.sources.claim_due(now=clock.now() + timedelta(days=1), lease_s=1, limit=9) == []

    @pytest.mark.parametrize(
        ("source", "mode", "interval_s", "problem"),
        [
            ("WMS", SyncMode.BATCH, None, "lowercase"),
            ("wms/../../etc", SyncMode.BATCH, None, "lowercase"),
            ("wms", SyncMode.EVENT, 600, "no interval"),
            ("wms", SyncMode.BATCH, 30, "between"),
        ],
    )
    def test_a_bad_name_or_interval_is_refused(self, sapp, source, mode, interval_s, problem):
        with pytest.raises(InvalidSource, match=problem):
            configure_source(
                store=sapp.sources,
                tenant_id="acme",
                source=source,
                mode=mode,
                interval_s=interval_s,
                actor="key:test",
                now=NOW,
            )


class TestScheduler:
    def test_a_due_batch_source_imports_its_complete_files_and_moves_them_to_done(
        self, sapp, clock
    ):
        batch(sapp, minutes=15)
        events = [placed(order_id="SO-7"), dispatched("S1", qty(**{"1": 2}), order_id="SO-7")]
        drop(sapp, "wms", "2026-11-28.jsonl", events, sidecar=True)
        directory = sapp.drop_box.directory(tenant_id="acme", source="wms")
        (directory / "still-writing.jsonl.part").write_text("{", encoding="utf-8")
        [run] = sapp.run_due_sources()
        assert (run.files, run.applied, run.quarantined, run.failed_files) == (1, 2, 0, ())
        assert sapp.queries.get_order(tenant_id="acme", order_id="SO-7") is not None
        assert sorted(p.name for p in (directory / "done").iterdir()) == [
            f"20261128T120000.000000Z-2026-11-28.jsonl{suffix}" for suffix in ("", ".sha256")
        ]
        assert (directory / "still-writing.jsonl.part").exists()
        # Not due again until its interval has passed, whatever arrives meanwhile.
        drop(sapp, "wms", "later.jsonl", [placed(order_id="SO-8")], sidecar=False)
        assert sapp.run_due_sources() == []
        clock.advance(timedelta(minutes=15))
        [again] = sapp.run_due_sources()
        assert (again.files, again.applied) == (1, 1)
        [source] = sapp.sources.list_sources(tenant_id="acme")
        assert source.last_run_summary == again.summary()
        assert source.next_run_at == clock.now() + timedelta(minutes=15)

    def test_a_file_whose_checksum_does_not_match_is_set_aside_with_its_reason(self, sapp):
        batch(sapp)
        path = drop(sapp, "wms", "bad.jsonl", [placed(order_id="SO-9")], sidecar=True)
        path.write_text(path.read_text() + "\n", encoding="utf-8")  # changed after its manifest
        [run] = sapp.run_due_sources()
        assert (run.applied, run.failed_files) == (0, ("bad.jsonl",))
        failed = path.parent / "failed"
        [reason] = failed.glob("*.reason.txt")
        assert "checksum mismatch" in reason.read_text()
        assert sapp.queries.get_order(tenant_id="acme", order_id="SO-9") is None

    def test_the_sync_loop_runs_once_and_an_event_driven_source_is_never_pulled(self, sapp):
        batch(sapp, "billing")
        drop(sapp, "billing", "inv.jsonl", [placed(order_id="SO-10")], sidecar=False)
        drop(sapp, "oms", "ignored.jsonl", [placed(order_id="SO-11")], sidecar=False)
        runs = asyncio.run(run_sync(app=sapp, stop=asyncio.Event(), once=True))
        assert [(r.source, r.applied) for r in runs] == [("billing", 1)]
        assert sapp.queries.get_order(tenant_id="acme", order_id="SO-11") is None


class TestInterfaces:
    def test_the_api_reads_and_sets_a_source_and_still_accepts_pushed_events(self, sapp):
        _, admin = make_principal(sapp, roles=("admin",))
        _, integration = make_principal(sapp, roles=("integration",))
        as_admin = {"Authorization": f"Bearer {admin}"}
        as_integration = {"Authorization": f"Bearer {integration}"}
        with TestClient(create_app(sapp)) as client:
            default = client.get("/v1/sources/carrier:ups", headers=as_integration).json()
            assert (default["mode"], default["configured"]) == ("event", False)
            put = client.put(
                "/v1/sources/wms",
                headers=as_admin,
                json={"mode": "batch", "interval_minutes": 60},
            )
            assert put.status_code == 200, put.text
            assert put.json()["interval_minutes"] == 60
            assert put.json()["drop_directory"].endswith("drop/acme/wms")
            refused = client.put("/v1/sources/wms", headers=as_integration, json={"mode": "event"})
            assert refused.status_code == 403
            bad = client.put(
                "/v1/sources/wms", headers=as_admin, json={"mode": "event", "interval_minutes": 5}
            )
            assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_source")
            listed = client.get("/v1/sources", headers=as_integration).json()["items"]
            assert [(s["source"], s["mode"]) for s in listed] == [("wms", "batch")]
            # A batch source's event pushed over the API is applied at once all the same.
            pushed = client.post("/v1/events", headers=as_integration, json=placed(order_id="SO-2"))
            assert pushed.status_code == 201, pushed.text

    def test_the_cli_sets_lists_and_syncs(self, sapp, tmp_path):
        database = sapp.engine.url.render_as_string(hide_password=False)
        env = {"ORDERTRAIL_SYNC_DROP_ROOT": str(tmp_path / "drop")}
        set_result = runner.invoke(
            cli,
            [
                "sources", "set", "billing", "--tenant", "acme", "--mode", "batch",
                "--every-minutes", "5", "--json", "--database", database,
            ],
            env=env,
        )  # fmt: skip
        assert set_result.exit_code == 0, set_result.output
        assert json.loads(set_result.output)["interval_minutes"] == 5
        drop(sapp, "billing", "x.jsonl", [placed(order_id="SO-12")], sidecar=False)
        synced = runner.invoke(cli, ["sync", "--once", "--database", database], env=env)
        assert synced.exit_code == 0, synced.output
        assert "ran 1 batch source run" in synced.output
        listed = runner.invoke(cli, ["sources", "list", "--json", "--database", database], env=env)
        [row] = [json.loads(line) for line in listed.output.splitlines()]
        assert row["last_run_summary"].startswith("1 file(s): 1 applied")
        bad = runner.invoke(
            cli, ["sources", "set", "Bad", "--tenant", "acme", "--mode", "event", "-d", database]
        )
        assert bad.exit_code == 2
