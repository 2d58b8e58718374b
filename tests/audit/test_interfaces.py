"""The audit trail through the API and the CLI, and the in-memory chain the service tests use."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from ordertrail.adapters.audit_signing import generate_key_pair
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.adapters.memory import MemoryStorage
from ordertrail.adapters.memory.audit import MemoryAuditStore
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.domain.audit import GENESIS_HASH, instant_text
from ordertrail.domain.canonical import canonical_json
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.cli import app as cli
from ordertrail.services import audit
from tests.audit.support import SIGNER, TENANT, build_books, hold_record, sql_books
from tests.conftest import make_principal

runner = CliRunner()


def _headers(app: Ordertrail, role: str) -> dict[str, str]:
    _, token = make_principal(app, tenant_id=TENANT, roles=(role,))
    return {"Authorization": f"Bearer {token}"}


# ---- the documented formula ------------------------------------------------------------------


def test_the_first_hash_is_the_documented_formula_over_canonical_json():
    storage = MemoryStorage()
    with storage.uow_factory() as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(1)])
        uow.commit()
    store = MemoryAuditStore(storage.database.audit, storage.database.revenue)
    (stored,) = store.records(tenant_id=TENANT)
    record = hold_record(1)
    envelope = {
        "tenant": TENANT,
        "seq": 1,
        "kind": record.kind,
        "subject": record.subject,
        "actor": record.actor,
        "cause": record.cause,
        "body": dict(record.body),
        "occurred_at": instant_text(record.occurred_at),
        "prev_hash": GENESIS_HASH,
    }
    assert stored.hash == hashlib.sha256(canonical_json(envelope).encode()).hexdigest()


# ---- in memory -------------------------------------------------------------------------------


def test_the_memory_chain_commits_with_the_unit_of_work_and_verifies():
    storage = MemoryStorage()
    store = MemoryAuditStore(storage.database.audit, storage.database.revenue)
    with storage.uow_factory() as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(9)])
        # Not committed: discarded, like a rolled-back transaction.
    build_books(storage.uow_factory, store)
    assert [r.seq for r in store.records(tenant_id=TENANT)][:3] == [1, 2, 3]
    result = audit.verify(store=store, tenant_id=None, public_key_raw=SIGNER.public_key_raw)
    assert result.ok
    assert [t.tenant_id for t in result.tenants] == ["acme", "globex"]
    assert result.tenants[0].entries_checked == 9


# ---- the API ---------------------------------------------------------------------------------


@pytest.fixture
def signed_app(engine, clock, tmp_path: Path) -> Ordertrail:  # type: ignore[no-untyped-def]
    key = tmp_path / "audit.pem"
    generate_key_pair(private_path=key, public_path=tmp_path / "audit.pub")
    return bootstrap(
        settings=Settings(database_url=str(engine.url), audit_signing_key=str(key)),
        engine=engine,
        clock=clock,
        migrate=False,
    )


def test_an_auditor_lists_verifies_and_reads_the_key_and_an_admin_checkpoints(
    signed_app: Ordertrail,
):
    sql_books(signed_app.engine)
    with SqlUnitOfWork(signed_app.engine) as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(7)])
        uow.commit()
    auditor, admin = _headers(signed_app, "auditor"), _headers(signed_app, "admin")
    with TestClient(create_app(signed_app)) as client:
        page = client.get("/v1/audit/records?kind=recognition&limit=4", headers=auditor).json()
        assert [r["subject"] for r in page["items"]] == [f"entry:E000{n}" for n in range(4)]
        rest = client.get(
            "/v1/audit/records", params={"cursor": page["next_cursor"]}, headers=auditor
        ).json()
        assert rest["items"][0]["seq"] > page["items"][-1]["seq"]
        bad = client.get("/v1/audit/records?cursor=nope", headers=auditor)
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_cursor")

        key = client.get("/v1/audit/public-key", headers=auditor).json()
        assert key["algorithm"] == "Ed25519"
        assert key["key_id"] == signed_app.audit_signer.key_id  # type: ignore[union-attr]

        made = client.post("/v1/audit/checkpoints", headers=admin)
        assert made.status_code == 201
        assert made.json()["checkpoint"]["key_id"] == key["key_id"]
        assert client.post("/v1/audit/checkpoints", headers=auditor).status_code == 403

        report = client.get("/v1/audit/verify", headers=auditor).json()
        # The books' own checkpoints were signed by another key: named as bad signatures.
        assert not report["ok"]
        (tenant,) = report["tenants"]
        assert tenant["first_break"]["problem"] == "bad signature"
        assert report["signatures_checked_with"] == key["key_id"]


def test_verify_over_http_passes_untouched_and_names_a_tampered_seq(app: Ordertrail):
    with SqlUnitOfWork(app.engine) as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(n) for n in range(5)])
        uow.commit()
    auditor = _headers(app, "auditor")
    with TestClient(create_app(app)) as client:
        assert client.get("/v1/audit/verify", headers=auditor).json()["ok"] is True
        with app.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            else:
                connection.execute(text("DROP TRIGGER audit_records_no_update"))
            connection.execute(text("UPDATE audit_records SET actor = 'mallory' WHERE seq = 3"))
        report = client.get("/v1/audit/verify", headers=auditor).json()
        assert report["ok"] is False
        assert report["tenants"][0]["first_break"]["seq"] == 3
        assert report["tenants"][0]["first_break"]["problem"] == "hash mismatch"
        viewer = client.get("/v1/audit/verify", headers=_headers(app, "viewer"))
        assert viewer.status_code == 403


# ---- the CLI ---------------------------------------------------------------------------------


def test_the_cli_generates_keys_checkpoints_lists_and_verifies_with_an_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    database = tmp_path / "o.db"
    engine = make_engine(sqlite_url(database))
    upgrade(engine)
    with SqlUnitOfWork(engine) as uow:
        uow.audit.append(tenant_id=TENANT, records=[hold_record(n) for n in range(3)])
        uow.commit()
    private, public = tmp_path / "k.pem", tmp_path / "k.pub"
    assert (
        runner.invoke(
            cli, ["audit", "keygen", "--private-key", str(private), "--public-key", str(public)]
        ).exit_code
        == 0
    )
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("ORDERTRAIL_AUDIT_SIGNING_KEY", str(private))
    made = runner.invoke(cli, ["audit", "checkpoint", "-d", str(database)])
    assert made.exit_code == 0, made.output
    assert "checkpoint at seq 3" in made.output
    listed = runner.invoke(cli, ["audit", "list", "-d", str(database), "-t", TENANT, "--json"])
    assert [r["seq"] for r in json.loads(listed.output)["items"]] == [1, 2, 3, 4]
    monkeypatch.delenv("ORDERTRAIL_AUDIT_SIGNING_KEY")
    ok = runner.invoke(cli, ["audit", "verify", "-d", str(database), "--public-key", str(public)])
    assert ok.exit_code == 0, ok.output
    with engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_records_no_delete"))
        connection.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    broken = runner.invoke(
        cli, ["audit", "verify", "-d", str(database), "--public-key", str(public), "--json"]
    )
    assert broken.exit_code == 1
    first = json.loads(broken.output)["tenants"][0]["first_break"]
    assert (first["seq"], first["problem"]) == (2, "gap in seq")
    engine.dispose()
