"""Every endpoint but /healthz answers 401, with a Bearer challenge, unless a live key is sent."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.api.conftest import row_count, served_routes
from tests.builders import placed
from tests.conftest import NOW, make_principal

# One request per authenticated route, as (method, route template, concrete path);
# test_every_route_but_the_public_ones_is_listed_here keeps it complete.
AUTHENTICATED_ROUTES = [
    ("POST", "/v1/events", "/v1/events"),
    ("POST", "/v1/events/batch", "/v1/events/batch"),
    ("GET", "/v1/orders", "/v1/orders"),
    ("GET", "/v1/orders/{order_id}", "/v1/orders/SO-1"),
    ("GET", "/v1/orders/{order_id}/timeline", "/v1/orders/SO-1/timeline"),
    ("GET", "/v1/quarantine", "/v1/quarantine"),
    ("POST", "/v1/quarantine/replay", "/v1/quarantine/replay?order_id=SO-1"),
    ("POST", "/v1/quarantine/{quarantine_id}/replay", "/v1/quarantine/q-1/replay"),
    ("GET", "/v1/schemas", "/v1/schemas"),
    ("GET", "/v1/schemas/{event_type}/{version}", "/v1/schemas/order.placed/2"),
    ("GET", "/v1/asyncapi.json", "/v1/asyncapi.json"),
    ("GET", "/v1/dlq", "/v1/dlq"),
    ("GET", "/v1/dlq/{dead_letter_id}", "/v1/dlq/1"),
    ("POST", "/v1/dlq/{dead_letter_id}/replay", "/v1/dlq/1/replay"),
    ("POST", "/v1/dlq/{dead_letter_id}/purge", "/v1/dlq/1/purge"),
    ("POST", "/v1/revenue/preview", "/v1/revenue/preview"),
    ("GET", "/metrics", "/metrics"),
    ("GET", "/v1/alerts", "/v1/alerts"),
    ("GET", "/v1/alerts/rules", "/v1/alerts/rules"),
    ("PUT", "/v1/alerts/rules", "/v1/alerts/rules"),
    ("GET", "/v1/alerts/escalations", "/v1/alerts/escalations"),
    ("PUT", "/v1/alerts/escalations", "/v1/alerts/escalations"),
    ("GET", "/v1/alerts/{alert_id}", "/v1/alerts/1"),
    ("POST", "/v1/alerts/{alert_id}/acknowledge", "/v1/alerts/1/acknowledge"),
    ("POST", "/v1/alerts/{alert_id}/resolve", "/v1/alerts/1/resolve"),
    ("GET", "/v1/reports/root-causes", "/v1/reports/root-causes"),
    ("GET", "/v1/reports/waterfall", "/v1/reports/waterfall"),
    ("GET", "/v1/reports/deferred-rollforward", "/v1/reports/deferred-rollforward"),
    ("GET", "/v1/reports/rpo", "/v1/reports/rpo"),
    ("GET", "/v1/reports/trial-balance", "/v1/reports/trial-balance"),
    ("GET", "/v1/journal", "/v1/journal"),
    ("GET", "/v1/journal/{entry_id}", "/v1/journal/e-1"),
    ("PUT", "/v1/carriers/{provider}/secret", "/v1/carriers/ups/secret"),
    ("DELETE", "/v1/carriers/{provider}/secret", "/v1/carriers/ups/secret"),
    ("GET", "/v1/sources", "/v1/sources"),
    ("GET", "/v1/sources/{source}", "/v1/sources/oms"),
    ("PUT", "/v1/sources/{source}", "/v1/sources/oms"),
    ("GET", "/v1/approvals", "/v1/approvals"),
    ("POST", "/v1/approvals", "/v1/approvals"),
    ("GET", "/v1/approvals/kinds", "/v1/approvals/kinds"),
    ("GET", "/v1/approvals/{request_id}", "/v1/approvals/req-1"),
    ("POST", "/v1/approvals/{request_id}/approve", "/v1/approvals/req-1/approve"),
    ("POST", "/v1/approvals/{request_id}/reject", "/v1/approvals/req-1/reject"),
    ("POST", "/v1/holds", "/v1/holds"),
    ("GET", "/v1/holds", "/v1/holds"),
    ("POST", "/v1/holds/{hold_id}/release", "/v1/holds/hold-1/release"),
    ("GET", "/v1/reports/hold-aging", "/v1/reports/hold-aging"),
    ("GET", "/v1/reports/fallbacks", "/v1/reports/fallbacks"),
    ("GET", "/v1/rules", "/v1/rules"),
    ("POST", "/v1/rules", "/v1/rules"),
    ("GET", "/v1/rules/{rule_id}", "/v1/rules/r-1"),
    ("PUT", "/v1/amendments/thresholds/{currency}", "/v1/amendments/thresholds/USD"),
    (
        "GET",
        "/v1/obligations/{contract_id}/{obligation_id}/decisions",
        "/v1/obligations/ctr-1/1/unit/decisions",
    ),
    ("POST", "/v1/disputes", "/v1/disputes"),
    ("GET", "/v1/disputes", "/v1/disputes"),
    ("GET", "/v1/disputes/reasons", "/v1/disputes/reasons"),
    ("PUT", "/v1/disputes/reasons/{code}", "/v1/disputes/reasons/damaged"),
    ("PUT", "/v1/disputes/webhook/secret", "/v1/disputes/webhook/secret"),
    ("DELETE", "/v1/disputes/webhook/secret", "/v1/disputes/webhook/secret"),
    ("GET", "/v1/disputes/{dispute_id}", "/v1/disputes/dsp-1"),
    ("POST", "/v1/disputes/{dispute_id}/evidence", "/v1/disputes/dsp-1/evidence"),
    (
        "GET",
        "/v1/disputes/{dispute_id}/evidence/{evidence_id}",
        "/v1/disputes/dsp-1/evidence/evd-1",
    ),
    ("POST", "/v1/disputes/{dispute_id}/resolve", "/v1/disputes/dsp-1/resolve"),
    ("GET", "/v1/revenue/catalog/templates", "/v1/revenue/catalog/templates"),
    ("POST", "/v1/revenue/catalog/templates", "/v1/revenue/catalog/templates"),
    ("GET", "/v1/revenue/catalog/ssp", "/v1/revenue/catalog/ssp"),
    ("POST", "/v1/revenue/catalog/ssp", "/v1/revenue/catalog/ssp"),
    ("GET", "/v1/revenue/settings", "/v1/revenue/settings"),
    ("PUT", "/v1/revenue/settings", "/v1/revenue/settings"),
    (
        "POST",
        "/v1/revenue/obligations/{obligation_id}/progress",
        "/v1/revenue/obligations/1/unit/progress",
    ),
    (
        "POST",
        "/v1/revenue/obligations/{obligation_id}/satisfy",
        "/v1/revenue/obligations/1/unit/satisfy",
    ),
    (
        "POST",
        "/v1/revenue/contracts/{contract_id}/modifications/{version}/treatment",
        "/v1/revenue/contracts/ctr-1/modifications/2/treatment",
    ),
    ("GET", "/v1/ledger/accounts", "/v1/ledger/accounts"),
    ("PATCH", "/v1/ledger/accounts/{code}", "/v1/ledger/accounts/receivables"),
    ("GET", "/v1/ledger/periods", "/v1/ledger/periods"),
    ("POST", "/v1/ledger/periods/{period}/close", "/v1/ledger/periods/2026-11/close"),
    ("GET", "/v1/audit/records", "/v1/audit/records"),
    ("GET", "/v1/audit/verify", "/v1/audit/verify"),
    ("GET", "/v1/audit/public-key", "/v1/audit/public-key"),
    ("POST", "/v1/audit/checkpoints", "/v1/audit/checkpoints"),
]
AUTHENTICATED_REQUESTS = [(method, path) for method, _, path in AUTHENTICATED_ROUTES]
PUBLIC_PATHS = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
# Called by carriers, authenticated by the provider's signature instead of a key (tests/carriers).
PUBLIC_PATHS.add("/v1/carriers/webhooks/{provider}/{token}")
# Called by a service desk, authenticated by its HMAC signature instead of a key (tests/disputes).
PUBLIC_PATHS.add("/v1/disputes/webhook/{token}")

BAD_HEADERS = {
    "missing header": {},
    "wrong scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
    "scheme without token": {"Authorization": "Bearer"},
    "malformed token": {"Authorization": "Bearer not-a-key"},
    "unknown key": {"Authorization": f"Bearer ot_{'0' * 16}_{'A' * 43}"},
}


def assert_unauthenticated(response, case: str = "") -> None:
    assert response.status_code == 401, (case, response.text)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthenticated"
    assert set(response.json()["error"]) >= {"code", "message", "fields"}


def test_every_route_but_the_public_ones_is_listed_here(sqlite_app: Ordertrail):
    listed = {(method, template) for method, template, _ in AUTHENTICATED_ROUTES}
    served = {(m, p) for m, p in served_routes(create_app(sqlite_app)) if p not in PUBLIC_PATHS}
    assert served == listed


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED_REQUESTS)
def test_a_request_without_a_valid_key_is_refused_with_401(
    client: TestClient, method: str, path: str
):
    for name, headers in BAD_HEADERS.items():
        response = client.request(method, path, headers=headers, json={})
        assert_unauthenticated(response, name)


def test_a_key_of_another_deployment_with_the_same_id_but_another_secret_is_refused(
    client: TestClient, app: Ordertrail
):
    _, token = make_principal(app)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_unauthenticated(client.get("/v1/orders", headers={"Authorization": f"Bearer {forged}"}))


def test_a_revoked_key_is_refused_at_once(client: TestClient, app: Ordertrail):
    principal, token = make_principal(app)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/orders", headers=headers).status_code == 200
    assert app.keys.revoke(key_id=principal.key_id, revoked_at=NOW)
    assert_unauthenticated(client.get("/v1/orders", headers=headers))


def test_the_scheme_name_is_case_insensitive(client: TestClient, app: Ordertrail):
    _, token = make_principal(app)
    response = client.get("/v1/orders", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def test_an_unauthenticated_event_is_not_stored_anywhere(client: TestClient, app: Ordertrail):
    response = client.post("/v1/events", json=placed())
    assert response.status_code == 401
    assert row_count(app, "events") == 0
    assert row_count(app, "quarantine") == 0
