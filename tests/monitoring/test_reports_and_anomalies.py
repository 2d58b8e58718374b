"""The root-cause Pareto and the completion-rate detector over the real databases."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.monitoring.alerts import AlertKind, AlertState
from ordertrail.domain.monitoring.anomaly import AnomalySettings
from ordertrail.entrypoints.api import create_app
from ordertrail.services.root_causes_report import InvalidRange
from tests.conftest import NOW, T0, make_principal
from tests.monitoring.support import add_shipments

H = timedelta(hours=1)
WEEK = timedelta(weeks=1)


def problems(app: Ordertrail) -> None:
    """ups: 4 carrier (3 lost, 1 damaged), 2 customer; fedex: 1 carrier, 3 data; one in December."""
    rows: list[dict[str, Any]] = []
    for i, (carrier, cause, reason) in enumerate(
        [("ups", "carrier", "lost")] * 3
        + [("ups", "carrier", "damaged"), ("ups", "customer", "refused")]
        + [("ups", "customer", "recipient_unavailable"), ("fedex", "carrier", "delayed")]
        + [("fedex", "data", "address_problem")] * 3
    ):
        rows.append(
            {
                "shipment_id": f"S{i}",
                "carrier": carrier,
                "status": "exception",
                "reason": reason,
                "root_cause": cause,
                "created_at": T0 + i * H,
            }
        )
    rows.append({"shipment_id": "OK", "carrier": "ups", "status": "delivered", "created_at": T0})
    rows.append(
        {
            "shipment_id": "LATER",
            "carrier": "ups",
            "status": "exception",
            "root_cause": "system",
            "created_at": T0 + 40 * 24 * H,
        }
    )
    add_shipments(app.engine, rows)


def test_the_pareto_ranks_causes_overall_and_per_carrier_over_the_range(app):
    problems(app)
    report = app.monitoring.root_cause_report(
        tenant_id="acme", start=T0, end=T0 + 30 * 24 * H
    ).as_dict()
    assert report["total"] == 10
    assert [(r["root_cause"], r["count"], r["cumulative_percent"]) for r in report["overall"]] == [
        ("carrier", 5, 50.0),
        ("data", 3, 80.0),
        ("customer", 2, 100.0),
    ]
    assert report["overall"][0]["reasons"] == {"damaged": 1, "delayed": 1, "lost": 3}
    assert [(r["root_cause"], r["percent"]) for r in report["carriers"]["ups"]] == [
        ("carrier", 66.67),
        ("customer", 33.33),
    ]
    assert [r["root_cause"] for r in report["carriers"]["fedex"]] == ["data", "carrier"]
    only_fedex = app.monitoring.root_cause_report(
        tenant_id="acme", start=T0, end=T0 + 30 * 24 * H, carrier="fedex"
    )
    assert list(only_fedex.by_carrier) == ["fedex"]
    assert app.monitoring.root_cause_report(tenant_id="globex", start=T0, end=NOW).overall == ()
    with pytest.raises(InvalidRange):
        app.monitoring.root_cause_report(tenant_id="acme", start=NOW, end=T0)


def test_the_pareto_over_http_as_json_and_as_csv(app):
    problems(app)
    _, token = make_principal(app, roles=("fulfilment",))
    headers = {"Authorization": f"Bearer {token}"}
    params = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}
    with TestClient(create_app(app)) as client:
        as_json = client.get("/v1/reports/root-causes", params=params, headers=headers)
        by_param = client.get(
            "/v1/reports/root-causes", params={**params, "format": "csv"}, headers=headers
        )
        by_accept = client.get(
            "/v1/reports/root-causes", params=params, headers={**headers, "Accept": "text/csv"}
        )
        naive = client.get(
            "/v1/reports/root-causes",
            params={"from": "2026-11-01T00:00:00", "to": "2026-12-01T00:00:00Z"},
            headers=headers,
        )
        inverted = client.get(
            "/v1/reports/root-causes",
            params={"from": params["to"], "to": params["from"]},
            headers=headers,
        )
    assert as_json.status_code == 200
    assert as_json.json()["overall"][0]["root_cause"] == "carrier"
    assert by_param.text == by_accept.text
    assert by_param.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(by_param.text)))
    assert [(r["scope"], r["root_cause"], r["cumulative_percent"]) for r in rows[:3]] == [
        ("all", "carrier", "50.00"),
        ("all", "data", "80.00"),
        ("all", "customer", "100.00"),
    ]
    assert {r["scope"] for r in rows} == {"all", "fedex", "ups"}
    assert (naive.status_code, naive.json()["error"]["code"]) == (422, "naive_timestamp")
    assert (inverted.status_code, inverted.json()["error"]["code"]) == (422, "invalid_range")


def completion_hours(
    *,
    carrier: str,
    window_end: Any,
    hours: int,
    weeks: int,
    due: int,
    on_time: list[int],
    prefix: str = "",
) -> list[dict[str, Any]]:
    """Shipments due in each of the window's hours (and the same hours in past weeks).

    `on_time[i]` is how many of hour i's (oldest first) shipments arrive by their estimate in
    the current week; past weeks have 95 % on time.
    """
    rows: list[dict[str, Any]] = []
    for week in range(weeks + 1):
        for h in range(hours):
            hour = window_end - (hours - h) * H - week * WEEK
            good = on_time[h] if week == 0 else round(due * 0.95)
            for n in range(due):
                estimate = hour + timedelta(minutes=30)
                rows.append(
                    {
                        "shipment_id": f"{prefix}{carrier}-{week}-{h}-{n}",
                        "carrier": carrier,
                        "status": "delivered",
                        "created_at": hour - 48 * H,
                        "estimated_delivery_at": estimate,
                        # Late ones arrive 20 minutes after their estimate.
                        "delivered_at": estimate + timedelta(minutes=-60 if n < good else 20),
                    }
                )
    return rows


def test_a_completion_rate_drop_raises_one_alert_that_resolves_when_the_rate_recovers(app, clock):
    app.monitoring.anomaly = AnomalySettings(window_hours=4, baseline_weeks=2)
    app.monitoring.anomaly_settle_minutes = 60
    end = (NOW - H).replace(minute=0)
    add_shipments(
        app.engine,
        completion_hours(
            carrier="ups", window_end=end, hours=4, weeks=2, due=40, on_time=[38, 38, 38, 12]
        )
        + completion_hours(
            carrier="dhl", window_end=end, hours=4, weeks=2, due=40, on_time=[38] * 4
        )
        # Too few parcels to judge, however bad.
        + completion_hours(
            carrier="usps", window_end=end, hours=4, weeks=2, due=5, on_time=[0] * 4
        ),
    )
    report = app.monitoring.evaluate()
    assert report.raised == 1
    [alert] = app.monitoring.alerts(tenant_id="acme", kind=AlertKind.COMPLETION_RATE_DROP).items
    assert (alert["subject"], alert["severity"]) == ("ups", "critical")
    assert alert["details"]["due"] == 40
    assert alert["details"]["on_time"] == 12
    assert alert["details"]["z"] < -4
    assert "z" in alert["details"]["signals"]
    # Seen again: the same alert. The EWMA remembers the drop for an hour after the rate is
    # back; two normal hours bring it inside its band and the alert resolves itself.
    assert app.monitoring.evaluate().raised == 0
    add_shipments(
        app.engine,
        completion_hours(
            carrier="ups",
            window_end=end + 2 * H,
            hours=2,
            weeks=2,
            due=40,
            on_time=[38, 38],
            prefix="n",
        ),
    )
    clock.advance(H)
    assert app.monitoring.evaluate().resolved == 0
    clock.advance(H)
    assert app.monitoring.evaluate().resolved == 1
    assert (
        app.monitoring.alerts(
            tenant_id="acme", states=(AlertState.OPEN,), kind=AlertKind.COMPLETION_RATE_DROP
        ).items
        == []
    )


def test_the_completion_counts_are_read_once_per_settled_hour(sqlite_app, clock):
    calls: list[int] = []
    real = sqlite_app.monitoring.completion

    class Counting:
        def counts(self, **kw: Any) -> Any:
            calls.append(1)
            return real.counts(**kw)

    sqlite_app.monitoring.completion = Counting()
    sqlite_app.monitoring.evaluate()
    clock.advance(timedelta(minutes=59))  # 12:59: the 11:00 hour has not settled yet
    sqlite_app.monitoring.evaluate()
    assert len(calls) == 1
    clock.advance(timedelta(minutes=1))
    sqlite_app.monitoring.evaluate()
    assert len(calls) == 2
