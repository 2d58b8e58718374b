"""Disputes over HTTP on SQLite and PostgreSQL: open, evidence, resolve, and the signed webhook."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.disputes import signature_of
from ordertrail.entrypoints.api import create_app
from tests.conftest import NOW, make_principal
from tests.revenue.support import TENANT, load_catalog, order_events, pump

Headers = dict[str, str]


def key(app: Ordertrail, role: str) -> Headers:
    _, token = make_principal(app, roles=(role,))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app: Ordertrail) -> Iterator[TestClient]:
    with TestClient(create_app(app)) as test_client:
        yield test_client


def _send(app: Ordertrail, *indexes: int) -> None:
    events = order_events()
    app.ingest(raw_events=[events[i] for i in indexes], principal=make_principal(app)[0])
    pump(app)


def _decisions(client: TestClient, headers: Headers) -> list[str]:
    url = "/v1/obligations/ctr-SO-1/1/unit/decisions"
    return [d["outcome"] for d in client.get(url, headers=headers).json()["items"]]


def _open(client: TestClient, headers: Headers, **extra: Any) -> Any:
    body = {
        "order_id": "SO-1",
        "line_ids": ["1"],
        "reason_code": "not_delivered",
        "description": "never arrived",
        "external_ref": "CS-77",
        **extra,
    }
    return client.post("/v1/disputes", json=body, headers=headers)


def test_a_rejection_over_http_waits_for_the_evidence_then_reinstates_the_revenue(
    app: Ordertrail, client: TestClient
) -> None:
    load_catalog(app)
    _send(app, 0, 1)
    portal, controller = key(app, "integration"), key(app, "controller")
    opened = _open(client, portal)
    assert opened.status_code == 201, opened.text
    dispute_id = opened.json()["dispute_id"]
    again = _open(client, portal)
    assert (again.status_code, again.json()["dispute_id"]) == (200, dispute_id)
    _send(app, 2)
    assert _decisions(client, controller) == ["held"]

    resolve = f"/v1/disputes/{dispute_id}/resolve"
    refused = client.post(resolve, json={"outcome": "rejected", "note": "n"}, headers=controller)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "dispute_evidence_insufficient"

    document = b"POD signed by J. Doe"
    attached = client.post(
        f"/v1/disputes/{dispute_id}/evidence",
        json={
            "kind": "delivery_proof",
            "filename": "pod.pdf",
            "media_type": "application/pdf",
            "content_base64": base64.b64encode(document).decode(),
        },
        headers=portal,
    )
    assert attached.status_code == 201, attached.text
    evidence = attached.json()
    assert evidence["sha256"] == hashlib.sha256(document).hexdigest()
    fetched = client.get(
        f"/v1/disputes/{dispute_id}/evidence/{evidence['evidence_id']}", headers=controller
    )
    assert fetched.content == document
    assert fetched.headers["x-content-sha256"] == evidence["sha256"]
    assert fetched.headers["x-content-type-options"] == "nosniff"
    assert fetched.headers["content-disposition"] == 'attachment; filename="pod.pdf"'
    mail = b"From: customer\r\n\r\nThanks, all arrived."
    raw = client.post(
        f"/v1/disputes/{dispute_id}/evidence?kind=correspondence&filename=mail.eml",
        content=mail,
        headers={**portal, "Content-Type": "message/rfc822"},
    )
    assert raw.status_code == 201, raw.text
    assert (raw.json()["sha256"], raw.json()["media_type"]) == (
        hashlib.sha256(mail).hexdigest(),
        "message/rfc822",
    )

    done = client.post(resolve, json={"outcome": "rejected", "note": "POD"}, headers=controller)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "rejected"
    assert done.json()["resolution"]["decided_by"].startswith("key:")
    assert _decisions(client, controller)[0] == "recognized"
    twice = client.post(resolve, json={"outcome": "rejected", "note": "n"}, headers=controller)
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "dispute_already_resolved")


def test_an_upheld_dispute_posts_the_credit_note_and_lists_with_a_cursor(
    app: Ordertrail, client: TestClient
) -> None:
    load_catalog(app)
    _send(app, 0, 1)
    portal, controller = key(app, "integration"), key(app, "controller")
    dispute_id = _open(client, portal).json()["dispute_id"]
    _open(client, portal, external_ref="CS-78", line_ids=[], reason_code="pricing")
    _send(app, 2, 3)
    resolve = f"/v1/disputes/{dispute_id}/resolve"
    too_much = client.post(
        resolve, json={"outcome": "upheld", "amount_minor": 15001, "note": "n"}, headers=controller
    )
    assert (too_much.status_code, too_much.json()["error"]["code"]) == (
        422,
        "dispute_amount_invalid",
    )
    upheld = client.post(
        resolve, json={"outcome": "upheld", "amount_minor": 1000, "note": "n"}, headers=controller
    )
    assert upheld.status_code == 200, upheld.text
    entry_ids = set(upheld.json()["resolution"]["entry_ids"])
    with app.uow_factory() as uow:
        posted = [e for e in uow.ledger.entries(tenant_id=TENANT) if e.entry_id in entry_ids]  # type: ignore[attr-defined]
    assert len(posted) == len(entry_ids) > 0
    assert all(sum(p.amount_minor for p in e.postings) == 0 for e in posted)

    first = client.get("/v1/disputes?limit=1", headers=controller).json()
    assert first["next_cursor"] is not None
    rest = client.get(f"/v1/disputes?limit=1&cursor={first['next_cursor']}", headers=controller)
    ids = [first["items"][0]["dispute_id"], rest.json()["items"][0]["dispute_id"]]
    assert sorted(ids) == sorted({dispute_id, ids[0], ids[1]})
    assert len(set(ids)) == 2
    upheld_only = client.get("/v1/disputes?status=upheld", headers=controller).json()["items"]
    assert [d["dispute_id"] for d in upheld_only] == [dispute_id]


def _signed(secret: str, body: bytes, *, at: int) -> Headers:
    stamp = str(at)
    return {
        "X-Ordertrail-Timestamp": stamp,
        "X-Ordertrail-Signature": signature_of(secret=secret, timestamp=stamp, body=body),
        "Content-Type": "application/json",
    }


def test_the_service_desk_webhook_accepts_only_fresh_bodies_signed_with_the_secret(
    app: Ordertrail, client: TestClient
) -> None:
    admin = key(app, "admin")
    body = orjson.dumps(
        {
            "order_id": "SO-9",
            "reason_code": "damaged",
            "description": "broken",
            "external_ref": "DESK-1",
        }
    )
    now = int(NOW.timestamp())
    unconfigured = client.post(
        "/v1/disputes/webhook/abcdefgh12", content=body, headers=_signed("s", body, at=now)
    )
    assert unconfigured.json()["error"]["code"] == "dispute_webhook_not_configured"
    put = client.put("/v1/disputes/webhook/secret", json={"secret": "desk-secret"}, headers=admin)
    assert put.status_code == 200, put.text
    path = put.json()["webhook_path"]
    assert "desk-secret" not in put.text

    good = client.post(path, content=body, headers=_signed("desk-secret", body, at=now))
    assert good.status_code == 201, good.text
    assert good.json()["channel"] == "webhook"
    assert good.json()["opened_by"] == "webhook:service_desk"
    for headers in (
        _signed("wrong-secret", body, at=now),
        _signed("desk-secret", body, at=now - 301),
        _signed("desk-secret", body + b" ", at=now) | {"Content-Type": "application/json"},
        {"Content-Type": "application/json"},
    ):
        refused = client.post(path, content=body, headers=headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (
            401,
            "dispute_signature_invalid",
        )
    replay = client.post(path, content=body, headers=_signed("desk-secret", body, at=now - 299))
    assert (replay.status_code, replay.json()["dispute_id"]) == (200, good.json()["dispute_id"])
    assert client.delete("/v1/disputes/webhook/secret", headers=admin).status_code == 204
    gone = client.post(path, content=body, headers=_signed("desk-secret", body, at=now))
    assert (gone.status_code, gone.json()["error"]["code"]) == (
        401,
        "dispute_webhook_not_configured",
    )


def test_reasons_are_configurable_and_govern_new_disputes(
    app: Ordertrail, client: TestClient
) -> None:
    controller, portal = key(app, "controller"), key(app, "integration")
    defaults = client.get("/v1/disputes/reasons", headers=controller).json()["items"]
    assert {r["code"] for r in defaults} >= {"damaged", "legal", "not_delivered"}
    put = client.put(
        "/v1/disputes/reasons/late",
        json={"description": "Delivered late", "required_evidence": ["correspondence"]},
        headers=controller,
    )
    assert put.status_code == 200, put.text
    bad = client.put(
        "/v1/disputes/reasons/odd",
        json={"description": "x", "required_evidence": ["selfie"]},
        headers=controller,
    )
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid_dispute")
    codes = {r["code"] for r in client.get("/v1/disputes/reasons", headers=portal).json()["items"]}
    assert codes >= {"late", "damaged"}
    unknown = _open(client, portal, reason_code="odd")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "dispute_reason_unknown")
    assert _open(client, portal, reason_code="late").status_code == 201
