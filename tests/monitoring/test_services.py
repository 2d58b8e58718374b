"""Service helpers without a database: cutoffs from rules and paths, the anomaly window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ordertrail.domain.monitoring.anomaly import AnomalySettings
from ordertrail.domain.monitoring.escalation import EscalationLevel
from ordertrail.domain.monitoring.rules import StagnationRule, SubjectType
from ordertrail.services.alert_ports import CompletionCount
from ordertrail.services.alerts import path_cutoffs, stagnation_cutoffs
from ordertrail.services.anomaly import build_series, window_end

NOW = datetime(2026, 11, 28, 12, 34, tzinfo=UTC)
H = timedelta(hours=1)


def test_stagnation_cutoffs_are_now_minus_each_threshold_and_none_when_disabled():
    off = StagnationRule(
        subject_type=SubjectType.SHIPMENT, status="in_transit", threshold_minutes=60, enabled=False
    )
    order_rule = StagnationRule(
        subject_type=SubjectType.ORDER, status="pending", threshold_minutes=90
    )
    cutoffs = stagnation_cutoffs(
        subject_type=SubjectType.SHIPMENT,
        overrides={"acme": [off, order_rule], "globex": [order_rule]},
        now=NOW,
    )
    assert cutoffs.default["in_transit"] == NOW - 72 * H
    assert cutoffs.default["exception"] == NOW - 24 * H
    assert cutoffs.by_tenant == {"acme": {"in_transit": None}}
    assert not cutoffs.replace_whole


def test_path_cutoffs_replace_the_default_path_per_tenant():
    own = [EscalationLevel(level=1, delay_minutes=30, target_role="ops")]
    cutoffs = path_cutoffs(paths={"acme": own}, now=NOW)
    assert cutoffs.default == {"1": NOW, "2": NOW - 4 * H, "3": NOW - 24 * H}
    assert cutoffs.by_tenant == {"acme": {"1": NOW - timedelta(minutes=30)}}
    assert cutoffs.replace_whole


def test_the_window_ends_at_the_last_hour_that_has_settled():
    assert window_end(now=NOW, settle_minutes=60) == datetime(2026, 11, 28, 11, tzinfo=UTC)
    assert window_end(now=NOW, settle_minutes=30) == datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_each_window_hour_pools_the_same_hour_of_the_previous_weeks():
    settings = AnomalySettings(window_hours=2, baseline_weeks=2)
    end = datetime(2026, 11, 28, 12, tzinfo=UTC)
    week = timedelta(weeks=1)

    def count(at: datetime, due: int, on_time: int, carrier: str = "ups") -> CompletionCount:
        return CompletionCount(
            tenant_id="acme", carrier=carrier, hour_start=at, due=due, on_time=on_time
        )

    counts = [
        count(end - H, 50, 40),
        count(end - H - week, 60, 55),
        count(end - H - 2 * week, 70, 66),
        count(end - H - 3 * week, 999, 0),  # beyond the baseline weeks
        count(end - 2 * H - week, 10, 9),
        # A carrier with history but nothing in the window is not assessed at all.
        count(end - H - week, 60, 55, carrier="dhl"),
    ]
    [ups] = build_series(counts=counts, end=end, settings=settings)
    assert (ups.tenant_id, ups.carrier) == ("acme", "ups")
    first, last = ups.series
    assert (first.hour_start, first.due, first.baseline_due, first.baseline_on_time) == (
        end - 2 * H,
        0,
        10,
        9,
    )
    assert (last.due, last.on_time, last.baseline_due, last.baseline_on_time) == (50, 40, 130, 121)
