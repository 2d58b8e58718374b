"""POST /v1/revenue/preview: the documented examples over HTTP, refusals as data, roles."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.revenue import errors
from ordertrail.domain.revenue.posting import PositionOutOfBalance
from ordertrail.domain.revenue.preview import preview
from ordertrail.entrypoints.api import create_app
from ordertrail.entrypoints.api.routes_revenue import REFUSAL_CODES
from tests.api.conftest import row_count
from tests.conftest import make_principal

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "revenue" / "preview.md"
INTEGRATOR_DOC = ROOT / "docs" / "integrators" / "README.md"
# The examples are read from the documentation itself, so the doc and the endpoint cannot drift.
EXAMPLE = re.compile(r"<!-- example: ([a-z-]+) -->\s*```json\n(.*?)\n```", re.DOTALL)
URL = "/v1/revenue/preview"


def examples() -> dict[str, dict[str, Any]]:
    return {name: json.loads(body) for name, body in EXAMPLE.findall(DOC.read_text("utf-8"))}


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(examples()[name])


@pytest.fixture
def client(sqlite_app: Ordertrail) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_app)) as test_client:
        yield test_client


def bearer(app: Ordertrail, role: str) -> dict[str, str]:
    _, token = make_principal(app, roles=(role,))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def accountant(sqlite_app: Ordertrail) -> dict[str, str]:
    return bearer(sqlite_app, "revenue_accountant")


def post(client: TestClient, headers: dict[str, str], body: Any) -> Any:
    return client.post(URL, json=body, headers=headers)


def test_the_documentation_has_examples_to_run():
    assert len(examples()) >= 5


@pytest.mark.parametrize("name", sorted(examples()))
def test_a_documented_example_allocates_exactly_its_transaction_price(
    client: TestClient, accountant: dict[str, str], name: str
):
    response = post(client, accountant, examples()[name])
    assert response.status_code == 200, response.text
    result = response.json()
    for contract in (result["contract"], *result["separate_contracts"]):
        price = contract["transaction_price"]
        expected = (
            Decimal(price["fixed"])
            - Decimal(price["discounts"])
            + Decimal(price["variable_included"])
            - Decimal(price["concessions"])
        )
        # Terminated obligations keep what a modification left them, so they count too.
        allocated = sum(Decimal(o["allocated"]) for o in contract["obligations"])
        assert allocated == expected, contract["contract_id"]
        for o in contract["obligations"]:
            parts = ("recognized", "refund_liability", "returned", "unrecognized")
            assert Decimal(o["allocated"]) == sum(Decimal(o[p]) for p in parts)


@pytest.mark.parametrize("name", sorted(examples()))
def test_the_endpoint_answers_exactly_what_the_domain_preview_gives(
    client: TestClient, accountant: dict[str, str], name: str
):
    response = post(client, accountant, examples()[name])
    assert response.json() == preview(request=examples()[name])


def test_the_bundle_example_answers_the_documented_schedule(
    client: TestClient, accountant: dict[str, str]
):
    contract = post(client, accountant, examples()["bundle"]).json()["contract"]
    assert contract["currency"] == "USD"
    assert [o["allocated"] for o in contract["obligations"]] == ["8250.00", "916.67", "1833.33"]
    by_period = {row["period"]: row["revenue"] for row in contract["revenue_by_period"]}
    assert by_period["2024-02"] == "9319.45"
    assert by_period["2025-01"] == "152.77"


def test_a_preview_stores_nothing(
    client: TestClient, accountant: dict[str, str], sqlite_app: Ordertrail
):
    assert post(client, accountant, examples()["returns"]).status_code == 200
    assert row_count(sqlite_app, "events") == 0
    assert row_count(sqlite_app, "quarantine") == 0


def field_errors(response: Any) -> dict[str, str]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    return {f["loc"]: f["code"] for f in error["fields"]}


def test_invalid_fields_are_refused_with_a_code_per_field(
    client: TestClient, accountant: dict[str, str]
):
    body = example("bundle")
    del body["currency"]
    body["lines"][0]["quantity"] = "1"
    body["lines"][0]["unit_prize"] = "11000.00"
    body["facts"][0]["on"] = "2024-13-01"
    fields = field_errors(post(client, accountant, body))
    assert fields["body.currency"] == "missing"
    assert fields["body.lines.0.quantity"] == "int_type"
    assert fields["body.lines.0.unit_prize"] == "extra_forbidden"
    assert any(loc.startswith("body.facts.0") for loc in fields)


def test_a_body_that_is_not_json_is_refused_as_invalid(
    client: TestClient, accountant: dict[str, str]
):
    response = client.post(
        URL, content=b"{not json", headers={**accountant, "Content-Type": "application/json"}
    )
    assert "json_invalid" in field_errors(response).values()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        # The doc: "With a price of 105 the residual would be 5, outside the range".
        (lambda b: b["lines"][3].update(unit_price="5"), "residual_not_appropriate"),
        (lambda b: b.update(inception="2025-01-01"), "invalid_contract"),
        (lambda b: b["lines"][0].update(unit_price="35.5"), "invalid_amount"),
        (lambda b: b.update(currency="XYZ"), "unknown_currency"),
    ],
)
def test_a_contract_the_revenue_rules_refuse_answers_422_with_the_rules_code(
    client: TestClient, accountant: dict[str, str], change: Any, code: str
):
    body = example("discount-residual")
    body["facts"] = [{"type": "invoice", "on": "2024-01-01", "amount": "100"}]
    change(body)
    response = post(client, accountant, body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_every_revenue_refusal_has_a_documented_code_and_a_broken_invariant_has_none():
    refusals = set(errors.RevenueError.__subclasses__()) - {PositionOutOfBalance}
    assert refusals <= set(REFUSAL_CODES)
    assert errors.RevenueError not in REFUSAL_CODES
    assert PositionOutOfBalance not in REFUSAL_CODES
    documented = set(re.findall(r"`([a-z_]+)`", INTEGRATOR_DOC.read_text(encoding="utf-8")))
    assert set(REFUSAL_CODES.values()) <= documented


@pytest.mark.parametrize("role", ["viewer", "auditor", "controller", "admin"])
def test_every_human_role_may_preview(client: TestClient, sqlite_app: Ordertrail, role: str):
    response = post(client, bearer(sqlite_app, role), examples()["bundle"])
    assert response.status_code == 200, response.text


def test_an_integration_key_may_not_preview(client: TestClient, sqlite_app: Ordertrail):
    response = post(client, bearer(sqlite_app, "integration"), examples()["bundle"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "revenue:preview" in response.json()["error"]["message"]


def test_a_preview_without_a_key_is_unauthenticated(client: TestClient):
    response = post(client, {}, examples()["bundle"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
