"""Carrier webhooks over HTTP, end to end: signed body -> canonical status -> `shipment.delivered`
order event -> (pipeline run in-process) the delivery milestone, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from ordertrail.adapters.carriers.signing import sign
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.relay import relay_round
from tests.api.conftest import Headers, row_count
from tests.builders import envelope, placed, qty
from tests.carriers.samples import (
    AFTERSHIP_SECRET,
    AFTERSHIP_SIGNATURE,
    DELIVERED,
    EASYPOST_SECRET,
    EASYPOST_SIGNATURE,
    fixture,
    shippo,
)
from tests.pipeline.support import consume, run

SECRETS = {
    "aftership": AFTERSHIP_SECRET,
    "easypost": EASYPOST_SECRET,
    "shippo": "shippo-test-secret",
    "ups": "ups-subscription-credential",
    "fedex": "fedex-security-token",
    "17track": "17track-key",
}
CARRIERS = {
    "aftership": "usps",
    "easypost": "usps",
    "shippo": "usps",
    "ups": "ups",
    "fedex": "fedex",
    "17track": "china-post",
}


@pytest.fixture
def admin(key_for: Callable[..., Headers]) -> Headers:
    return key_for("acme", ("admin",))


def configure(client: TestClient, admin: Headers, provider: str) -> str:
    response = client.put(
        f"/v1/carriers/{provider}/secret", json={"secret": SECRETS[provider]}, headers=admin
    )
    assert response.status_code == 200, response.text
    document = response.json()
    assert SECRETS[provider] not in response.text
    path: str = document["webhook_path"]
    assert path.startswith(f"/v1/carriers/webhooks/{provider}/")
    return path


def ship(client: TestClient, headers: Headers, *, provider: str, tracking_number: str) -> None:
    events = [
        placed(order_id="SO-1", at=datetime.fromisoformat("2026-03-01T09:00:00+00:00")),
        envelope(
            "shipment.dispatched",
            {
                "shipment_id": "SHP-1",
                "carrier": CARRIERS[provider],
                "tracking_number": tracking_number,
                "lines": qty(l1=2, l2=1),
            },
            order_id="SO-1",
            source="wms",
            at=datetime.fromisoformat("2026-03-09T12:00:00+00:00"),
        ),
    ]
    response = client.post("/v1/events/batch", json=events, headers=headers)
    assert response.status_code in (200, 207), response.text


def pump(app: Ordertrail) -> None:
    """Run the relay and both lanes' consumers in-process until nothing is left to do."""
    pipeline = app.pipeline
    for _ in range(6):
        published = run(
            relay_round(
                outbox=pipeline.outbox,
                publisher=pipeline.broker,
                clock=app.clock,
                config=pipeline.relay,
            )
        )
        handled = consume(app, lane="critical").received + consume(app, lane="bulk").received
        if not any(published.values()) and handled == 0:
            return


def signed(app: Ordertrail, provider: str, body: bytes) -> dict[str, str]:
    if provider == "aftership" and body == fixture("aftership_delivered.json"):
        return {"aftership-hmac-sha256": AFTERSHIP_SIGNATURE}
    if provider == "easypost" and body == fixture("easypost_delivered.json"):
        return {"X-Hmac-Signature": EASYPOST_SIGNATURE}
    return sign(provider=provider, secret=SECRETS[provider], body=body, now=app.clock.now())


def metric(app: Ordertrail, name: str, **labels: str) -> float:
    return app.metrics.registry.get_sample_value(name, labels) or 0.0


def delivered_events(app: Ordertrail) -> int:
    return row_count(app, "events", event_type="shipment.delivered")


@pytest.mark.parametrize("provider", sorted(DELIVERED))
def test_a_signed_delivery_webhook_reaches_the_delivery_milestone(
    provider: str, app: Ordertrail, client: TestClient, acme: Headers, admin: Headers
):
    body, tracking_number = DELIVERED[provider]
    path = configure(client, admin, provider)
    ship(client, acme, provider=provider, tracking_number=tracking_number)
    pump(app)  # the tracking consumer registers the dispatched shipment
    assert row_count(app, "shipments", tracking_number=tracking_number) == 1

    response = client.post(path, content=body, headers=signed(app, provider, body))

    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "accepted"
    assert response.json()["delivered"] == ["SHP-1"]
    assert row_count(app, "shipments", tracking_number=tracking_number, status="delivered") == 1
    assert (
        row_count(app, "events", event_type="shipment.delivered", source=f"carrier:{provider}") == 1
    )
    order = client.get("/v1/orders/SO-1", headers=acme).json()
    assert order["status"] == "delivered"
    pump(app)
    assert (
        row_count(app, "milestone_log", event_type="shipment.delivered", consumer="milestone-log")
        == 1
    )
    assert (
        metric(app, "ordertrail_carrier_webhooks_total", provider=provider, outcome="accepted") == 1
    )


def test_the_same_webhook_twice_answers_duplicate_with_one_effect(
    app: Ordertrail, client: TestClient, acme: Headers, admin: Headers
):
    body, tracking_number = DELIVERED["aftership"]
    path = configure(client, admin, "aftership")
    ship(client, acme, provider="aftership", tracking_number=tracking_number)
    pump(app)
    first = client.post(path, content=body, headers=signed(app, "aftership", body))
    second = client.post(path, content=body, headers=signed(app, "aftership", body))
    assert (first.status_code, first.json()["outcome"]) == (200, "accepted")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    assert delivered_events(app) == 1
    assert row_count(app, "shipment_scans") == 3
    assert (
        metric(app, "ordertrail_carrier_webhooks_total", provider="aftership", outcome="duplicate")
        == 1
    )


def test_a_tampered_body_is_refused_with_401_and_nothing_is_stored(
    app: Ordertrail, client: TestClient, acme: Headers, admin: Headers
):
    body, tracking_number = DELIVERED["aftership"]
    path = configure(client, admin, "aftership")
    ship(client, acme, provider="aftership", tracking_number=tracking_number)
    pump(app)
    tampered = body.replace(b'"Delivered_001"', b'"Delivered_002"')
    response = client.post(
        path, content=tampered, headers={"aftership-hmac-sha256": AFTERSHIP_SIGNATURE}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "carrier_signature_invalid"
    assert row_count(app, "shipment_scans") == 0
    assert row_count(app, "carrier_webhook_receipts") == 0
    assert delivered_events(app) == 0
    assert (
        metric(app, "ordertrail_carrier_webhooks_total", provider="aftership", outcome="rejected")
        == 1
    )


def test_a_missing_signature_is_refused_with_401(
    app: Ordertrail, client: TestClient, admin: Headers
):
    path = configure(client, admin, "easypost")
    response = client.post(path, content=fixture("easypost_delivered.json"))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "carrier_signature_invalid"
    assert row_count(app, "carrier_webhook_receipts") == 0


def test_a_url_with_no_secret_configured_fails_closed(
    app: Ordertrail, client: TestClient, admin: Headers
):
    body = fixture("aftership_delivered.json")
    response = client.post(
        "/v1/carriers/webhooks/aftership/unknown-token-123",
        content=body,
        headers={"aftership-hmac-sha256": AFTERSHIP_SIGNATURE},
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "carrier_webhook_not_configured"
    # A removed secret closes the URL it had.
    path = configure(client, admin, "aftership")
    assert client.delete("/v1/carriers/aftership/secret", headers=admin).status_code == 204
    again = client.post(path, content=body, headers={"aftership-hmac-sha256": AFTERSHIP_SIGNATURE})
    assert again.status_code == 401
    assert row_count(app, "shipment_scans") == 0


def test_a_shippo_timestamp_outside_tolerance_is_rejected(
    app: Ordertrail, client: TestClient, admin: Headers
):
    path = configure(client, admin, "shippo")
    body = shippo()
    stale = sign(
        provider="shippo",
        secret=SECRETS["shippo"],
        body=body,
        now=app.clock.now() - timedelta(minutes=6),
    )
    response = client.post(path, content=body, headers=stale)
    assert response.status_code == 401
    assert "300 s" in response.json()["error"]["message"]
    assert row_count(app, "shipment_scans") == 0


def test_an_unknown_code_becomes_unknown_and_increments_the_metric(
    app: Ordertrail, client: TestClient, acme: Headers, admin: Headers
):
    document = json.loads(fixture("aftership_delivered.json"))
    document["msg"]["checkpoints"] = [
        {**document["msg"]["checkpoints"][0], "tag": "Teleported", "subtag": "Teleported_001"}
    ]
    body = json.dumps(document).encode()
    path = configure(client, admin, "aftership")
    ship(client, acme, provider="aftership", tracking_number=document["msg"]["tracking_number"])
    pump(app)
    response = client.post(path, content=body, headers=signed(app, "aftership", body))
    assert response.status_code == 200
    assert response.json()["unmapped"] == 1
    assert row_count(app, "shipment_scans", status="unknown", raw_code="Teleported") == 1
    assert row_count(app, "shipments", status="label_created") == 1
    assert metric(app, "ordertrail_carrier_unmapped_codes_total", provider="aftership") == 1


def test_only_an_admin_sets_secrets_and_no_answer_contains_one(
    client: TestClient, acme: Headers, admin: Headers
):
    forbidden = client.put("/v1/carriers/ups/secret", json={"secret": "x"}, headers=acme)
    assert forbidden.status_code == 403
    unknown = client.put("/v1/carriers/pigeon/secret", json={"secret": "x"}, headers=admin)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (
        404,
        "carrier_provider_unknown",
    )
    first = client.put("/v1/carriers/ups/secret", json={"secret": "one"}, headers=admin).json()
    rotated = client.put("/v1/carriers/ups/secret", json={"secret": "two"}, headers=admin).json()
    assert first["webhook_path"] == rotated["webhook_path"]
    assert "secret" not in rotated
    spaced = client.put("/v1/carriers/ups/secret", json={"secret": " padded "}, headers=admin)
    assert (spaced.status_code, spaced.json()["error"]["code"]) == (422, "carrier_secret_invalid")
    missing = client.delete("/v1/carriers/fedex/secret", headers=admin)
    assert (missing.status_code, missing.json()["error"]["code"]) == (
        404,
        "carrier_secret_not_found",
    )
