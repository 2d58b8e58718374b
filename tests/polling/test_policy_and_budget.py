"""Cadence tiers and the quota budget's arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordertrail.adapters.carriers.rate_limits import documented_quota
from ordertrail.services.poll_policy import Backoff, Cadence, tier_of
from ordertrail.services.polling_budget import (
    CredentialQuota,
    QuotaWindow,
    budget,
    shipments_supported,
    trackers_by_tier,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "tier"),
    [
        ("out_for_delivery", "urgent"),
        ("delivery_attempted", "urgent"),
        ("available_for_pickup", "urgent"),
        ("in_transit", "moving"),
        ("picked_up", "moving"),
        ("exception", "moving"),
        ("unknown", "moving"),
        ("label_created", "waiting"),
        ("pre_transit", "waiting"),
        ("delivered", "done"),
        ("returned", "done"),
        ("cancelled", "done"),
        ("a_status_added_later", "moving"),
        (None, "moving"),
    ],
)
def test_each_status_has_a_polling_tier(status, tier):
    assert tier_of(status) == tier


def test_out_for_delivery_is_polled_often_in_transit_moderately_pre_transit_rarely_terminal_never():
    cadence = Cadence()
    gaps = {
        status: cadence.next_poll_at(status=status, now=T0)
        for status in ("out_for_delivery", "in_transit", "pre_transit", "delivered")
    }
    assert gaps["out_for_delivery"] - T0 == timedelta(minutes=30)
    assert gaps["in_transit"] - T0 == timedelta(hours=4)
    assert gaps["pre_transit"] - T0 == timedelta(hours=12)
    assert gaps["delivered"] is None


def test_the_cadence_is_configurable_within_bounds():
    cadence = Cadence(intervals_s={"urgent": 600, "moving": 3600, "waiting": 86_400})
    assert cadence.polls_per_day("urgent") == 144
    with pytest.raises(ValueError, match="each tier"):
        Cadence(intervals_s={"urgent": 600})
    with pytest.raises(ValueError, match="between"):
        Cadence(intervals_s={"urgent": 1, "moving": 3600, "waiting": 86_400})


def test_backoff_doubles_with_jitter_and_is_capped():
    backoff = Backoff(initial_s=60, max_s=600)
    assert backoff.delay_s(attempts=1, random=lambda: 0.0) == 30
    assert backoff.delay_s(attempts=3, random=lambda: 1.0) == 240
    assert backoff.delay_s(attempts=20, random=lambda: 1.0) == 600


def test_after_a_throttle_the_retry_time_is_never_brought_forward():
    backoff = Backoff(initial_s=1, throttle_jitter_s=30)
    retry_at = T0 + timedelta(minutes=10)
    at = backoff.after_throttle(now=T0, retry_at=retry_at, attempts=1, random=lambda: 0.5)
    assert at == retry_at + timedelta(seconds=15)


def test_budget_counts_requests_per_window_from_cadence_and_active_shipments():
    dhl = documented_quota(provider="dhl", plan="starter", credential="main")
    counts = {("dhl", "main"): {"in_transit": 100, "out_for_delivery": 10, "pre_transit": 20}}
    second, day = budget(quotas=[dhl], counts=counts, cadence=Cadence())
    # 100 x 6 + 10 x 48 + 20 x 2 = 1,120 polls a day.
    assert (day.needed, day.headroom, day.fits) == (1120, -870, False)
    assert (second.needed, second.fits) == (1, True)
    # Slowing any single tier leaves the others above 250 a day: more quota is needed.
    assert day.slow_tier is None


def test_budget_names_the_least_urgent_tier_whose_slowdown_fits():
    dhl = documented_quota(provider="dhl", plan="starter", credential="main")
    counts = {("dhl", "main"): {"pre_transit": 200, "in_transit": 10, "delivered": 5000}}
    day = budget(quotas=[dhl], counts=counts, cadence=Cadence())[1]
    assert (day.needed, day.fits) == (460, False)
    # 250 - 60 (moving) leaves 190 a day for 200 waiting parcels: one poll per 90,948 s each.
    assert (day.slow_tier, day.slow_interval_s) == ("waiting", 90_948)


def test_terminal_shipments_cost_nothing():
    assert trackers_by_tier({"delivered": 10, "returned": 3, "in_transit": 2}) == {
        "urgent": 0,
        "moving": 2,
        "waiting": 0,
    }


def test_shipments_supported_is_set_by_the_tightest_window():
    dhl = documented_quota(provider="dhl", plan="starter", credential="main")
    # Reference mix: 0.2 x 2 + 0.7 x 6 + 0.1 x 48 = 9.4 polls per shipment per day.
    assert shipments_supported(quota=dhl, cadence=Cadence()) == 26
    batched = CredentialQuota(
        "17track", "c", (QuotaWindow("second", 1, 3),), numbers_per_request=40
    )
    assert shipments_supported(quota=batched, cadence=Cadence()) == 3 * 40 * 86_400 * 10 // 94
