"""Roles: walk the whole PERMISSIONS table over HTTP, every action against every role."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from ordertrail.services.access import PERMISSIONS, Action, Role
from tests.api.conftest import row_count, served_routes
from tests.builders import dispatched, placed, qty
from tests.conftest import make_principal


def new_order() -> dict[str, Any]:
    return placed(order_id="SO-NEW")


def one_product_contract() -> dict[str, Any]:
    """The smallest contract a revenue preview accepts: one product, priced at its SSP."""
    obligation = {
        "component": "unit",
        "nature": "goods",
        "timing": "point_in_time",
        "trigger": "control_transfer",
        "ssp": "10.00",
    }
    line = {"line_id": "1", "sku": "P", "quantity": 1, "unit_price": "10.00"}
    return {
        "currency": "USD",
        "inception": "2024-01-01",
        "lines": [{**line, "obligations": [obligation]}],
    }


# Each action -> the requests that need it, as (method, path, body, status when allowed).
# SO-1 exists and has one quarantined event (see `seeded`).
REQUESTS: dict[Action, list[tuple[str, str, Any, int]]] = {
    Action.EVENTS_WRITE: [
        ("POST", "/v1/events", new_order, 201),
        ("POST", "/v1/events/batch", lambda: [new_order()], 200),
    ],
    Action.ORDERS_READ: [
        ("GET", "/v1/orders", None, 200),
        ("GET", "/v1/orders/SO-1", None, 200),
        ("GET", "/v1/orders/SO-1/timeline", None, 200),
    ],
    Action.QUARANTINE_READ: [("GET", "/v1/quarantine", None, 200)],
    Action.QUARANTINE_REPLAY: [
        ("POST", "/v1/quarantine/replay?order_id=SO-1", None, 200),
        ("POST", "/v1/quarantine/q-unknown/replay", None, 404),
    ],
    Action.SCHEMAS_READ: [
        ("GET", "/v1/schemas", None, 200),
        ("GET", "/v1/schemas/order.placed/2", None, 200),
        ("GET", "/v1/asyncapi.json", None, 200),
    ],
    Action.DLQ_READ: [("GET", "/v1/dlq", None, 200), ("GET", "/v1/dlq/999", None, 404)],
    Action.DLQ_MANAGE: [
        ("POST", "/v1/dlq/999/replay", None, 404),
        ("POST", "/v1/dlq/999/purge", None, 404),
    ],
    Action.REVENUE_PREVIEW: [("POST", "/v1/revenue/preview", one_product_contract, 200)],
    Action.REPORTS_READ: [
        ("GET", "/v1/reports/waterfall", None, 200),
        ("GET", "/v1/reports/deferred-rollforward", None, 200),
        ("GET", "/v1/reports/rpo", None, 200),
        ("GET", "/v1/reports/trial-balance", None, 200),
        ("GET", "/v1/reports/hold-aging", None, 200),
        ("GET", "/v1/reports/fallbacks", None, 200),
    ],
    Action.HOLDS_READ: [("GET", "/v1/holds", None, 200)],
    Action.HOLDS_PLACE: [
        ("POST", "/v1/holds", lambda: {"order_id": "SO-1", "reason_code": "credit"}, 201)
    ],
    Action.HOLDS_RELEASE: [("POST", "/v1/holds/hold-unknown/release", None, 404)],
    Action.RULES_READ: [
        ("GET", "/v1/rules", None, 200),
        ("GET", "/v1/rules/r-unknown", None, 404),
        ("GET", "/v1/obligations/ctr-SO-1/1/unit/decisions", None, 200),
    ],
    Action.RULES_PROPOSE: [
        (
            "POST",
            "/v1/rules",
            lambda: {"rule": {"rule_id": "r", "criterion": "true"}, "reason": "walk"},
            202,
        )
    ],
    Action.JOURNAL_READ: [
        ("GET", "/v1/journal", None, 200),
        ("GET", "/v1/journal/e-unknown", None, 404),
    ],
    Action.METRICS_READ: [("GET", "/metrics", None, 200)],
    Action.SOURCES_READ: [
        ("GET", "/v1/sources", None, 200),
        ("GET", "/v1/sources/oms", None, 200),
    ],
    Action.SOURCES_MANAGE: [("PUT", "/v1/sources/oms", lambda: {"mode": "event"}, 200)],
    Action.AUDIT_READ: [
        ("GET", "/v1/audit/records", None, 200),
        ("GET", "/v1/audit/verify", None, 200),
        # No signing key is configured in the tests: the key endpoint says so.
        ("GET", "/v1/audit/public-key", None, 404),
    ],
    Action.AUDIT_CHECKPOINT: [("POST", "/v1/audit/checkpoints", None, 201)],
    Action.ALERTS_READ: [
        ("GET", "/v1/alerts", None, 200),
        ("GET", "/v1/alerts/rules", None, 200),
        ("GET", "/v1/alerts/escalations", None, 200),
        ("GET", "/v1/alerts/999", None, 404),
    ],
    Action.ALERTS_MANAGE: [
        ("POST", "/v1/alerts/999/acknowledge", None, 404),
        ("POST", "/v1/alerts/999/resolve", None, 404),
    ],
    Action.ALERTS_CONFIGURE: [
        ("PUT", "/v1/alerts/rules", lambda: {"rules": []}, 200),
        ("PUT", "/v1/alerts/escalations", lambda: {"levels": []}, 200),
    ],
    Action.ROOT_CAUSES_READ: [
        (
            "GET",
            "/v1/reports/root-causes?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z",
            None,
            200,
        )
    ],
    Action.REVENUE_CATALOG_READ: [
        ("GET", "/v1/revenue/catalog/templates", None, 200),
        ("GET", "/v1/revenue/catalog/ssp", None, 200),
        ("GET", "/v1/revenue/settings", None, 200),
    ],
    Action.REVENUE_CATALOG_WRITE: [
        ("POST", "/v1/revenue/catalog/templates", lambda: {"sku": "P"}, 422),
        ("POST", "/v1/revenue/catalog/ssp", lambda: {"sku": "P"}, 422),
    ],
    Action.REVENUE_SETTINGS_WRITE: [
        ("PUT", "/v1/revenue/settings", dict, 200),
        ("PUT", "/v1/amendments/thresholds/USD", lambda: {"absolute_minor": 100000}, 200),
    ],
    Action.REVENUE_FACTS_WRITE: [
        (
            "POST",
            "/v1/revenue/obligations/x/progress",
            lambda: {
                "contract_id": "c",
                "event_id": "p-1",
                "occurred_on": "2026-11-02",
                "done": 1,
                "total": 2,
            },
            404,
        ),
        (
            "POST",
            "/v1/revenue/obligations/x/satisfy",
            lambda: {
                "contract_id": "c",
                "event_id": "s-1",
                "occurred_on": "2026-11-02",
                "units": 1,
            },
            404,
        ),
    ],
    Action.LEDGER_READ: [
        ("GET", "/v1/ledger/accounts", None, 200),
        ("GET", "/v1/ledger/periods", None, 200),
    ],
    Action.LEDGER_ACCOUNTS_WRITE: [
        ("PATCH", "/v1/ledger/accounts/receivables", lambda: {"gl_code": "1201"}, 200)
    ],
    Action.PERIODS_CLOSE: [("POST", "/v1/ledger/periods/2026-10/close", None, 200)],
    Action.REVENUE_TREATMENT_REQUEST: [
        (
            "POST",
            "/v1/revenue/contracts/ctr-x/modifications/2/treatment",
            lambda: {"treatment": "prospective", "reason": "r"},
            404,
        )
    ],
    Action.APPROVALS_READ: [
        ("GET", "/v1/approvals", None, 200),
        ("GET", "/v1/approvals/kinds", None, 200),
        ("GET", "/v1/approvals/req-unknown", None, 404),
    ],
    # An unknown kind: refused after the role check, so nothing is stored by the walk.
    Action.APPROVALS_REQUEST: [
        (
            "POST",
            "/v1/approvals",
            lambda: {"kind": "no.such.kind", "subject": "order:SO-1", "reason": "r"},
            422,
        )
    ],
    Action.APPROVALS_DECIDE: [
        ("POST", "/v1/approvals/req-unknown/approve", None, 404),
        ("POST", "/v1/approvals/req-unknown/reject", None, 404),
    ],
    Action.CARRIERS_MANAGE: [
        ("PUT", "/v1/carriers/ups/secret", lambda: {"secret": "credential"}, 200),
        ("DELETE", "/v1/carriers/fedex/secret", None, 404),
    ],
    Action.DISPUTES_READ: [
        ("GET", "/v1/disputes", None, 200),
        ("GET", "/v1/disputes/reasons", None, 200),
        ("GET", "/v1/disputes/dsp-unknown", None, 404),
        ("GET", "/v1/disputes/dsp-unknown/evidence/evd-unknown", None, 404),
    ],
    Action.DISPUTES_OPEN: [
        (
            "POST",
            "/v1/disputes",
            lambda: {"order_id": "SO-1", "reason_code": "damaged", "description": "walk"},
            201,
        )
    ],
    Action.DISPUTES_EVIDENCE: [
        (
            "POST",
            "/v1/disputes/dsp-unknown/evidence",
            lambda: {"kind": "other", "filename": "a.txt", "content_base64": "YQ=="},
            404,
        )
    ],
    Action.DISPUTES_RESOLVE: [
        (
            "POST",
            "/v1/disputes/dsp-unknown/resolve",
            lambda: {"outcome": "rejected", "note": "walk"},
            404,
        )
    ],
    Action.DISPUTES_CONFIGURE: [
        ("PUT", "/v1/disputes/reasons/walk", lambda: {"description": "walk"}, 200)
    ],
    Action.DISPUTES_WEBHOOK_MANAGE: [
        ("PUT", "/v1/disputes/webhook/secret", lambda: {"secret": "desk"}, 200),
        ("DELETE", "/v1/disputes/webhook/secret", None, 204),
    ],
}
# Actions no HTTP endpoint performs, with the reason; a new endpoint for one must move it above.
WITHOUT_ENDPOINT = {
    Action.KEYS_MANAGE: "keys are created and revoked with the `ordertrail keys` CLI only",
}


@pytest.fixture
def seeded(app: Ordertrail) -> Ordertrail:
    admin, _ = make_principal(app, roles=("admin",))
    app.ingest(raw_events=[placed(), dispatched("S1", qty(l9=1), minutes=1)], principal=admin)
    return app


def test_every_action_in_the_permissions_table_is_walked_or_explained():
    assert set(REQUESTS) | set(WITHOUT_ENDPOINT) == set(PERMISSIONS)
    assert not set(REQUESTS) & set(WITHOUT_ENDPOINT)


def test_every_authenticated_route_needs_an_action_listed_here(sqlite_app):
    walked = {
        (method, path.split("?")[0]) for rows in REQUESTS.values() for method, path, *_ in rows
    }
    served = served_routes(create_app(sqlite_app))
    templated = {
        ("GET", "/v1/orders/{order_id}"): ("GET", "/v1/orders/SO-1"),
        ("GET", "/v1/orders/{order_id}/timeline"): ("GET", "/v1/orders/SO-1/timeline"),
        ("POST", "/v1/quarantine/{quarantine_id}/replay"): (
            "POST",
            "/v1/quarantine/q-unknown/replay",
        ),
        ("GET", "/v1/schemas/{event_type}/{version}"): ("GET", "/v1/schemas/order.placed/2"),
        ("GET", "/v1/dlq/{dead_letter_id}"): ("GET", "/v1/dlq/999"),
        ("POST", "/v1/dlq/{dead_letter_id}/replay"): ("POST", "/v1/dlq/999/replay"),
        ("POST", "/v1/dlq/{dead_letter_id}/purge"): ("POST", "/v1/dlq/999/purge"),
        ("GET", "/v1/journal/{entry_id}"): ("GET", "/v1/journal/e-unknown"),
        ("GET", "/v1/alerts/{alert_id}"): ("GET", "/v1/alerts/999"),
        ("GET", "/v1/sources/{source}"): ("GET", "/v1/sources/oms"),
        ("PUT", "/v1/sources/{source}"): ("PUT", "/v1/sources/oms"),
        ("POST", "/v1/alerts/{alert_id}/acknowledge"): ("POST", "/v1/alerts/999/acknowledge"),
        ("POST", "/v1/alerts/{alert_id}/resolve"): ("POST", "/v1/alerts/999/resolve"),
        ("POST", "/v1/revenue/obligations/{obligation_id}/progress"): (
            "POST",
            "/v1/revenue/obligations/x/progress",
        ),
        ("POST", "/v1/revenue/obligations/{obligation_id}/satisfy"): (
            "POST",
            "/v1/revenue/obligations/x/satisfy",
        ),
        ("PATCH", "/v1/ledger/accounts/{code}"): ("PATCH", "/v1/ledger/accounts/receivables"),
        ("POST", "/v1/ledger/periods/{period}/close"): ("POST", "/v1/ledger/periods/2026-10/close"),
        ("POST", "/v1/revenue/contracts/{contract_id}/modifications/{version}/treatment"): (
            "POST",
            "/v1/revenue/contracts/ctr-x/modifications/2/treatment",
        ),
        ("GET", "/v1/approvals/{request_id}"): ("GET", "/v1/approvals/req-unknown"),
        ("POST", "/v1/holds/{hold_id}/release"): ("POST", "/v1/holds/hold-unknown/release"),
        ("GET", "/v1/rules/{rule_id}"): ("GET", "/v1/rules/r-unknown"),
        ("PUT", "/v1/amendments/thresholds/{currency}"): (
            "PUT",
            "/v1/amendments/thresholds/USD",
        ),
        ("GET", "/v1/obligations/{contract_id}/{obligation_id}/decisions"): (
            "GET",
            "/v1/obligations/ctr-SO-1/1/unit/decisions",
        ),
        ("POST", "/v1/approvals/{request_id}/approve"): (
            "POST",
            "/v1/approvals/req-unknown/approve",
        ),
        ("POST", "/v1/approvals/{request_id}/reject"): ("POST", "/v1/approvals/req-unknown/reject"),
        ("PUT", "/v1/carriers/{provider}/secret"): ("PUT", "/v1/carriers/ups/secret"),
        ("DELETE", "/v1/carriers/{provider}/secret"): ("DELETE", "/v1/carriers/fedex/secret"),
        ("GET", "/v1/disputes/{dispute_id}"): ("GET", "/v1/disputes/dsp-unknown"),
        ("GET", "/v1/disputes/{dispute_id}/evidence/{evidence_id}"): (
            "GET",
            "/v1/disputes/dsp-unknown/evidence/evd-unknown",
        ),
        ("POST", "/v1/disputes/{dispute_id}/evidence"): (
            "POST",
            "/v1/disputes/dsp-unknown/evidence",
        ),
        ("POST", "/v1/disputes/{dispute_id}/resolve"): ("POST", "/v1/disputes/dsp-unknown/resolve"),
        ("PUT", "/v1/disputes/reasons/{code}"): ("PUT", "/v1/disputes/reasons/walk"),
    }
    public = {"/healthz", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    # Called by carriers and authenticated by the provider's signature, not a key.
    public.add("/v1/carriers/webhooks/{provider}/{token}")
    # Called by a service desk and authenticated by its HMAC signature, not a key.
    public.add("/v1/disputes/webhook/{token}")
    assert {templated.get(route, route) for route in served if route[1] not in public} == walked


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(REQUESTS))
def test_a_role_may_perform_an_action_exactly_when_the_table_says_so(
    seeded: Ordertrail, action: Action, role: Role
):
    _, token = make_principal(seeded, roles=(role.value,))
    allowed = role in PERMISSIONS[action]
    with TestClient(create_app(seeded)) as client:
        for method, path, body, allowed_status in REQUESTS[action]:
            response = client.request(
                method,
                path,
                headers={"Authorization": f"Bearer {token}"},
                json=None if body is None else body(),
            )
            if allowed:
                assert response.status_code == allowed_status, (path, response.text)
            else:
                assert response.status_code == 403, (path, response.text)
                assert response.json()["error"]["code"] == "forbidden"
                assert action.value in response.json()["error"]["message"]


def test_a_key_with_several_roles_may_do_what_any_of_them_may(client, app):
    _, token = make_principal(app, roles=("viewer", "integration"))
    response = client.post(
        "/v1/events", json=placed(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201


def test_a_forbidden_write_stores_nothing_not_even_in_quarantine(client, app):
    _, token = make_principal(app, roles=("viewer",))
    response = client.post(
        "/v1/events", json=placed(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert row_count(app, "events") == 0
    assert row_count(app, "quarantine") == 0
