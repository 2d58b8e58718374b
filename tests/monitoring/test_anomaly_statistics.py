"""The completion-rate statistics on known numbers, and properties the detector must keep."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordertrail.domain.monitoring.anomaly import (
    AnomalySettings,
    HourlyCompletion,
    InvalidAnomalySettings,
    assess,
    ewma_sigma,
    ewma_step,
    latest_verdict,
    two_proportion_z,
)

T = datetime(2026, 11, 2, tzinfo=UTC)


def hours(pairs: list[tuple[int, int]], *, baseline: tuple[int, int]) -> list[HourlyCompletion]:
    return [
        HourlyCompletion(
            hour_start=T + timedelta(hours=i),
            due=due,
            on_time=on_time,
            baseline_due=baseline[0],
            baseline_on_time=baseline[1],
        )
        for i, (due, on_time) in enumerate(pairs)
    ]


def test_the_z_statistic_of_45_in_100_against_55_in_100_is_minus_root_two():
    # p1 = .45, p0 = .55, pooled .5: se = sqrt(.25 * (1/100 + 1/100)) = .0707; z = -.1 / .0707.
    assert two_proportion_z(x1=45, n1=100, x0=55, n0=100) == pytest.approx(-math.sqrt(2))


def test_the_z_statistic_of_a_big_drop_against_a_larger_baseline():
    # p1 = .4, p0 = .9, pooled 490/600; se = sqrt(p(1-p)(1/100 + 1/500)) = 0.042387.
    assert two_proportion_z(x1=40, n1=100, x0=450, n0=500) == pytest.approx(-11.7961, abs=1e-3)


def test_equal_or_degenerate_proportions_give_zero():
    assert two_proportion_z(x1=1, n1=3, x0=2, n0=6) == 0.0
    assert two_proportion_z(x1=10, n1=10, x0=40, n0=40) == 0.0
    assert two_proportion_z(x1=0, n1=10, x0=0, n0=40) == 0.0
    with pytest.raises(ValueError, match="trial"):
        two_proportion_z(x1=0, n1=0, x0=1, n0=1)


def test_the_ewma_and_its_exact_limit_on_known_numbers():
    assert ewma_step(previous=0.0, value=2.0, lam=0.5) == 1.0
    assert ewma_step(previous=1.0, value=2.0, lam=0.5) == 1.5
    # sqrt(lam / (2 - lam) * (1 - (1 - lam)^(2t))): t=1 -> sqrt(1/3 * 3/4) = 0.5.
    assert ewma_sigma(t=1, lam=0.5) == pytest.approx(0.5)
    assert ewma_sigma(t=200, lam=0.5) == pytest.approx(math.sqrt(1 / 3))


def test_a_sudden_drop_alarms_by_the_z_test_and_a_small_lasting_one_by_the_ewma():
    settings = AnomalySettings(min_volume=30, baseline_min_volume=60)
    sudden = assess(
        series=hours([(100, 92)] * 5 + [(100, 50)], baseline=(400, 368)), settings=settings
    )
    assert [a.alarm for a in sudden] == [False] * 5 + [True]
    assert sudden[-1].z_alarm
    # 92 % -> 86 %: each hour's z is about -1.8 (never past -4), yet the EWMA crosses its band.
    slow = assess(series=hours([(100, 86)] * 12, baseline=(400, 368)), settings=settings)
    assert not any(a.z_alarm for a in slow)
    assert any(a.ewma_alarm for a in slow)
    first = next(i for i, a in enumerate(slow) if a.ewma_alarm)
    assert 2 <= first <= 8


def test_an_hour_below_the_minimum_volume_is_not_assessed_and_keeps_the_ewma():
    settings = AnomalySettings(min_volume=30, baseline_min_volume=60)
    result = assess(
        series=hours([(100, 80), (10, 0), (100, 80)], baseline=(400, 368)), settings=settings
    )
    assert [a.assessed for a in result] == [True, False, True]
    assert not result[1].alarm
    assert latest_verdict(result) is result[2]
    assert latest_verdict(result[1:2]) is None


def test_settings_outside_the_method_are_refused():
    with pytest.raises(InvalidAnomalySettings):
        AnomalySettings(ewma_lambda=0)
    with pytest.raises(InvalidAnomalySettings):
        AnomalySettings(min_volume=0)


@given(
    due=st.lists(st.integers(0, 29), min_size=1, max_size=48),
    rate=st.floats(0, 1),
    baseline_due=st.integers(60, 5_000),
)
def test_no_hour_below_the_minimum_volume_ever_alarms(due, rate, baseline_due):
    settings = AnomalySettings(min_volume=30, baseline_min_volume=60)
    series = [
        HourlyCompletion(
            hour_start=T + timedelta(hours=i),
            due=n,
            on_time=0,  # the worst possible hour
            baseline_due=baseline_due,
            baseline_on_time=round(rate * baseline_due),
        )
        for i, n in enumerate(due)
    ]
    assert not any(a.alarm for a in assess(series=series, settings=settings))


@given(
    on_time=st.integers(0, 50),
    scale=st.integers(1, 40),
    weeks=st.integers(1, 8),
    length=st.integers(1, 72),
)
def test_a_constant_rate_never_alarms(on_time, scale, weeks, length):
    # The same rate every hour and in the baseline: due 50k, on time x*k in every sample.
    settings = AnomalySettings(min_volume=1, baseline_min_volume=1)
    due = 50 * scale
    series = [
        HourlyCompletion(
            hour_start=T + timedelta(hours=i),
            due=due,
            on_time=on_time * scale,
            baseline_due=due * weeks,
            baseline_on_time=on_time * scale * weeks,
        )
        for i in range(length)
    ]
    assert not any(a.alarm for a in assess(series=series, settings=settings))
