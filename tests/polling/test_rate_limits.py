"""Token buckets: no quota window ever holds more requests than its limit, whatever the timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.adapters.carriers.rate_limits import (
    CredentialLimiter,
    LimiterKey,
    LimiterRegistry,
    TokenBucket,
    documented_quota,
)
from ordertrail.services.polling_budget import CredentialQuota, QuotaWindow

T0 = datetime(2026, 11, 28, 23, 59, 0, tzinfo=UTC)


def _max_in_any_window(times: list[datetime], window_s: int) -> int:
    """The most requests any half-open window [t, t + W) holds (starting at a request suffices)."""
    span = timedelta(seconds=window_s)
    best = 0
    end = 0
    for start, at in enumerate(times):
        end = max(end, start)
        while end < len(times) and times[end] < at + span:
            end += 1
        best = max(best, end - start)
    return best


windows_strategy = st.lists(
    st.tuples(st.integers(1, 30), st.integers(1, 12)),
    min_size=1,
    max_size=3,
    unique_by=lambda w: w[0],
)


@settings(max_examples=150, deadline=None)
@given(
    windows=windows_strategy,
    gaps_us=st.lists(st.integers(0, 3_000_000), min_size=1, max_size=300),
    burst_share=st.floats(0.0, 1.0),
)
def test_no_window_ever_holds_more_than_its_limit(windows, gaps_us, burst_share):
    quota = CredentialQuota(
        provider="p",
        credential="c",
        windows=tuple(QuotaWindow(f"{w}s", w, limit) for w, limit in windows),
    )
    bursts = {f"{w}s": max(1, round(limit * burst_share)) for w, limit in windows}
    limiter = CredentialLimiter(quota=quota, now=T0, bursts=bursts)
    now, sent = T0, []
    for gap in gaps_us:
        now += timedelta(microseconds=gap)
        if limiter.try_acquire(now=now) == 0:
            sent.append(now)
    for window_s, limit in windows:
        assert _max_in_any_window(sent, window_s) <= limit


@settings(max_examples=60, deadline=None)
@given(windows=windows_strategy)
def test_a_client_that_sleeps_as_told_gets_the_full_rate_and_never_more(windows):
    quota = CredentialQuota(
        provider="p", credential="c", windows=tuple(QuotaWindow(f"{w}s", w, n) for w, n in windows)
    )
    limiter = CredentialLimiter(quota=quota, now=T0, margin_s=0)
    now, sent = T0, []
    horizon = T0 + timedelta(seconds=120)
    while now < horizon:
        wait_s = limiter.try_acquire(now=now)
        if wait_s == 0:
            sent.append(now)
        else:
            now += timedelta(seconds=wait_s)
    for window_s, limit in windows:
        assert _max_in_any_window(sent, window_s) <= limit
    # Paced evenly, the tightest window's average rate is reached within one request.
    tightest_per_s = min(limit / window_s for window_s, limit in windows)
    assert len(sent) >= int(tightest_per_s * 120) - 1


def test_a_full_burst_bucket_still_admits_no_more_than_the_limit_per_window():
    bucket = TokenBucket(window=QuotaWindow("10s", 10, 5), burst=5, now=T0)
    taken = []
    for step in range(0, 40_000_000, 100_000):  # every 0.1 s for 40 s
        at = T0 + timedelta(microseconds=step)
        us = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        if bucket.wait_us(us) == 0:
            bucket.take(us)
            taken.append(at)
    assert taken[:5] == [T0 + timedelta(seconds=0.1 * i) for i in range(5)]
    assert _max_in_any_window(taken, 10) == 5


def test_a_pause_holds_every_token_until_the_carrier_said():
    limiter = CredentialLimiter(
        quota=documented_quota(provider="fedex", plan="default", credential="c"), now=T0
    )
    limiter.pause_until(until=T0 + timedelta(seconds=30))
    assert limiter.try_acquire(now=T0) == pytest.approx(30.0)
    assert limiter.try_acquire(now=T0 + timedelta(seconds=30)) == 0


def test_remaining_counts_down_and_resets_at_midnight_utc():
    limiter = CredentialLimiter(
        quota=documented_quota(provider="dhl", plan="starter", credential="c"), now=T0
    )
    assert limiter.try_acquire(now=T0) == 0
    assert limiter.remaining(now=T0) == {"second": 0, "day": 249}
    # T0 is 23:59 UTC: one minute later DHL's daily quota has reset.
    assert limiter.remaining(now=T0 + timedelta(minutes=1)) == {"second": 1, "day": 250}


def test_documented_limits_are_configuration_with_several_windows():
    fedex = documented_quota(provider="fedex", plan="default", credential="c")
    assert [(w.window_s, w.requests) for w in fedex.windows] == [(10, 1400), (86_400, 100_000)]
    assert (
        documented_quota(provider="17track", plan="default", credential="c").numbers_per_request
        == 40
    )
    with pytest.raises(ValueError, match="no plan"):
        documented_quota(provider="dhl", plan="gold", credential="c")


def test_each_provider_credential_has_its_own_limiter():
    quota = documented_quota(provider="dhl", plan="starter", credential="a")
    other = documented_quota(provider="dhl", plan="starter", credential="b")
    registry = LimiterRegistry(
        quotas={LimiterKey("dhl", "a"): quota, LimiterKey("dhl", "b"): other}, now=T0
    )
    first, second = registry.limiter_for("dhl", "a"), registry.limiter_for("dhl", "b")
    assert first is not None
    assert second is not None
    assert first.try_acquire(now=T0) == 0
    assert second.try_acquire(now=T0) == 0
    assert first.try_acquire(now=T0) > 0
    assert registry.limiter_for("ups", "a") is None


def test_the_jitter_margin_keeps_paced_requests_apart_by_more_than_the_window():
    quota = CredentialQuota("dhl", "c", (QuotaWindow("second", 1, 1),))
    limiter = CredentialLimiter(quota=quota, now=T0, margin_s=0.25)
    assert limiter.try_acquire(now=T0) == 0
    # One a second, paced as if the second were 1.25 s long: network jitter between the two
    # requests can no longer put them into one carrier second.
    assert limiter.try_acquire(now=T0 + timedelta(seconds=1)) == pytest.approx(0.25)
    assert limiter.try_acquire(now=T0 + timedelta(seconds=1.25)) == 0
