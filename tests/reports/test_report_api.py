"""The reports and the journal over HTTP on SQLite and PostgreSQL, over the agreed tables."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.api import create_app
from tests.conftest import make_principal
from tests.contract.test_report_queries_contract import fill_sql
from tests.reports.rows import acme_entries


@pytest.fixture
def client(app: Ordertrail) -> Iterator[TestClient]:
    fill_sql(app.engine)
    with TestClient(create_app(app)) as test_client:
        yield test_client


def headers(app: Ordertrail, *roles: str, tenant_id: str = "acme") -> dict[str, str]:
    _, token = make_principal(app, tenant_id=tenant_id, roles=roles or ("revenue_accountant",))
    return {"Authorization": f"Bearer {token}"}


def test_the_waterfall_answers_json_with_minor_units_and_currencies(app, client):
    response = client.get(
        "/v1/reports/waterfall",
        params={"from": "2026-12", "periods": 2, "group_by": "obligation"},
        headers=headers(app),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["periods"] == ["2026-12", "2027-01"]
    assert [(r["obligation_id"], r["currency"], r["amounts_minor"]) for r in body["rows"]] == [
        ("1/sub", "EUR", [5000, 5000]),
        ("1/support", "USD", [10000, 10000]),
        ("2/unit", "USD", [0, 0]),
    ]


@pytest.mark.parametrize(
    ("path", "params", "filename"),
    [
        ("/v1/reports/waterfall", {"from": "2026-12"}, "waterfall-acme-2026-12.csv"),
        (
            "/v1/reports/deferred-rollforward",
            {"from": "2026-11", "to": "2026-12"},
            "deferred-rollforward-acme-2026-11-2026-12.csv",
        ),
        ("/v1/reports/rpo", {"as_of": "2026-11"}, "rpo-acme-2026-11.csv"),
        ("/v1/reports/trial-balance", {"period": "2026-11"}, "trial-balance-acme-2026-11.csv"),
        ("/v1/journal", {"kind": "invoice"}, "journal-acme.csv"),
    ],
)
def test_every_report_downloads_as_csv_by_parameter_or_by_accept(
    app, client, path, params, filename
):
    by_parameter = client.get(path, params={**params, "format": "csv"}, headers=headers(app))
    assert by_parameter.status_code == 200, by_parameter.text
    assert by_parameter.headers["content-type"] == "text/csv; charset=utf-8"
    assert by_parameter.headers["content-disposition"] == f'attachment; filename="{filename}"'
    by_accept = client.get(path, params=params, headers={**headers(app), "Accept": "text/csv"})
    assert by_accept.text == by_parameter.text
    assert by_parameter.text.count("\r\n") >= 2


def test_the_rollforward_and_the_trial_balance_agree_over_http(app, client):
    auth = headers(app, "auditor")
    rollforward = client.get(
        "/v1/reports/deferred-rollforward", params={"from": "2026-11", "to": "2026-11"},
        headers=auth,
    ).json()  # fmt: skip
    usd = next(li for li in rollforward["lines"] if li["currency"] == "USD")
    assert (usd["opening_minor"], usd["recognized_minor"], usd["closing_minor"]) == (
        170000,
        60000,
        114000,
    )
    tb = client.get("/v1/reports/trial-balance", params={"as_of": "2026-11"}, headers=auth).json()
    liabilities = next(
        li
        for li in tb["lines"]
        if (li["account"], li["currency"]) == ("contract_liabilities", "USD")
    )
    assert liabilities["credit_minor"] == usd["closing_liabilities_minor"] == 114000
    assert all(t["difference_minor"] == 0 for t in tb["totals"])


def test_the_journal_pages_with_a_cursor_and_shows_one_entry_with_its_reversal(app, client):
    auth = headers(app, "controller")
    first = client.get("/v1/journal", params={"limit": 5}, headers=auth).json()
    second = client.get(
        "/v1/journal", params={"limit": 5, "cursor": first["next_cursor"]}, headers=auth
    ).json()
    assert len(first["items"]) + len(second["items"]) == len(acme_entries())
    assert second["next_cursor"] is None
    wrong = next(e for e in acme_entries() if e.cause_event_id == "ctr-B:recognition:2026-12-03")
    entry = client.get(f"/v1/journal/{wrong.entry_id}", headers=auth).json()
    assert entry["kind"] == "recognition"
    assert [p["debit_minor"] for p in entry["postings"]] == [5000, 0]
    assert len(entry["reversed_by"]) == 1


def test_another_tenants_entry_is_not_found_and_its_reports_are_its_own(app, client):
    wrong = acme_entries()[0]
    globex = headers(app, "admin", tenant_id="globex")
    missing = client.get(f"/v1/journal/{wrong.entry_id}", headers=globex)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "entry_not_found")
    tb = client.get("/v1/reports/trial-balance", params={"as_of": "2026-12"}, headers=globex)
    assert [t["debit_minor"] for t in tb.json()["totals"]] == [999]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/reports/waterfall", {"from": "2026-13"}, "invalid_period"),
        ("/v1/reports/waterfall", {"from": "Nov 2026"}, "invalid_request"),
        ("/v1/reports/deferred-rollforward", {"from": "2026-12", "to": "2026-01"}, "invalid_range"),
        ("/v1/reports/trial-balance", {"period": "2026-11", "as_of": "2026-11"}, "invalid_range"),
        ("/v1/reports/rpo", {"group_by": "sku"}, "invalid_request"),
        ("/v1/journal", {"cursor": "not-ours"}, "invalid_cursor"),
        ("/v1/journal", {"format": "xml"}, "invalid_request"),
    ],
)
def test_bad_parameters_answer_422_with_a_documented_code(app, client, path, params, code):
    response = client.get(path, params=params, headers=headers(app))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


def test_integration_keys_may_not_read_the_books(app, client):
    response = client.get("/v1/reports/trial-balance", headers=headers(app, "integration"))
    assert response.status_code == 403
    assert client.get("/v1/journal", headers=headers(app, "fulfilment")).status_code == 403


def test_a_report_too_large_to_answer_whole_is_refused_not_truncated(app, client, monkeypatch):
    monkeypatch.setattr("ordertrail.adapters.db.report_queries.TOTALS_MAX", 3)
    response = client.get(
        "/v1/reports/trial-balance", params={"as_of": "2026-12"}, headers=headers(app)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "report_too_large"
