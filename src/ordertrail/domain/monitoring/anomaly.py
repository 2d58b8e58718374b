"""Completion-rate anomalies: is this hour's on-time rate below what this hour of the week gets?

The completion rate of a carrier in an hour is the share of shipments due in that hour (their
estimated delivery time falls in it) that were delivered by then. It has a strong weekly season
(Monday mornings are not Saturday nights), so an hour is compared with the *same hour of the week*
over the recent weeks, pooled, rather than with the hour before.

Two tests look at each hour, both one-sided (only drops alarm):

* **Two-proportion z-test** (a large, sudden drop). With x1 on time out of n1 due now and x0 out of
  n0 in the baseline, p1 = x1/n1, p0 = x0/n0 and the pooled p = (x1 + x0)/(n1 + n0)::

      z = (p1 - p0) / sqrt(p (1 - p) (1/n1 + 1/n0))

  The hour alarms when z <= -z_critical.
* **EWMA control band on z** (a small drop that lasts). Under no change each hour's z is roughly
  standard normal, so its exponentially weighted moving average, started at the target 0::

      e_t = lam * z_t + (1 - lam) * e_(t-1),      e_0 = 0

  has standard deviation sqrt(lam / (2 - lam) * (1 - (1 - lam)^(2t))) after t hours, and the hour
  alarms when e_t <= -width * that deviation (the exact, time-varying Shewhart-EWMA limit).

An hour with fewer than `min_volume` shipments due (or a baseline under `baseline_min_volume`) is
not assessed at all: it neither alarms nor moves the EWMA, because a rate over a handful of parcels
says nothing. Pure functions: the counts come in, the verdicts go out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class InvalidAnomalySettings(ValueError):
    """Detector settings outside the range where the method means anything."""


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    # Shipments due in the hour before it is assessed at all.
    min_volume: int = 30
    # Shipments due in the same hour of the week over the baseline weeks, pooled.
    baseline_min_volume: int = 60
    baseline_weeks: int = 4
    # One-sided: z <= -4 has probability 3e-5 per hour under a normal z; the binomial's heavier
    # lower tail near 93 % makes it more. 4.0 rather than 3.5 halved the measured false alarms
    # and slowed detection by at most an hour (bench/anomaly.py, docs/operators/monitoring.md).
    z_critical: float = 4.0
    ewma_lambda: float = 0.2
    ewma_width: float = 3.5
    # Hours of history the EWMA is computed over, each time from the target (stateless).
    window_hours: int = 48

    def __post_init__(self) -> None:
        if self.min_volume < 1 or self.baseline_min_volume < 1:
            raise InvalidAnomalySettings("minimum volumes must be at least 1")
        if not 1 <= self.baseline_weeks <= 52:
            raise InvalidAnomalySettings("baseline_weeks must be between 1 and 52")
        if not 0 < self.ewma_lambda <= 1:
            raise InvalidAnomalySettings("ewma_lambda must be in (0, 1]")
        if self.z_critical <= 0 or self.ewma_width <= 0:
            raise InvalidAnomalySettings("z_critical and ewma_width must be positive")
        if not 1 <= self.window_hours <= 24 * 14:
            raise InvalidAnomalySettings("window_hours must be between 1 and 336")


@dataclass(frozen=True, slots=True)
class HourlyCompletion:
    """One carrier-hour: shipments due and on time, and the same hour of week in the baseline."""

    hour_start: datetime
    due: int
    on_time: int
    baseline_due: int
    baseline_on_time: int

    def __post_init__(self) -> None:
        if not (0 <= self.on_time <= self.due and 0 <= self.baseline_on_time <= self.baseline_due):
            raise ValueError("on-time counts must be between 0 and the due counts")


@dataclass(frozen=True, slots=True)
class Assessment:
    hour_start: datetime
    due: int
    on_time: int
    assessed: bool
    rate: float | None = None
    baseline_rate: float | None = None
    z: float = 0.0
    ewma: float = 0.0
    ewma_limit: float = 0.0
    z_alarm: bool = False
    ewma_alarm: bool = False

    @property
    def alarm(self) -> bool:
        return self.z_alarm or self.ewma_alarm


def two_proportion_z(*, x1: int, n1: int, x0: int, n0: int) -> float:
    """Return z for p1 = x1/n1 against p0 = x0/n0 under the pooled null (formula above).

    Equal proportions give exactly 0 (decided on integers, x1 * n0 == x0 * n1, not on floats);
    so does a pooled proportion of 0 or 1, where both samples agree completely.
    """
    if n1 <= 0 or n0 <= 0:
        raise ValueError("both samples need at least one trial")
    successes, trials = x1 + x0, n1 + n0
    if x1 * n0 == x0 * n1 or successes in (0, trials):
        return 0.0
    pooled = successes / trials
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    return (x1 / n1 - x0 / n0) / math.sqrt(variance)


def ewma_step(*, previous: float, value: float, lam: float) -> float:
    """e_t = lam * value + (1 - lam) * previous."""
    return lam * value + (1 - lam) * previous


def ewma_sigma(*, t: int, lam: float) -> float:
    """Standard deviation of the EWMA of t unit-variance values started at its target."""
    return math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * t)))


def assess(
    *, series: Sequence[HourlyCompletion], settings: AnomalySettings
) -> tuple[Assessment, ...]:
    """Assess each hour of `series` (oldest first), carrying the EWMA across assessed hours."""
    level, t = 0.0, 0
    out: list[Assessment] = []
    for hour in series:
        if hour.due < settings.min_volume or hour.baseline_due < settings.baseline_min_volume:
            out.append(
                Assessment(
                    hour_start=hour.hour_start, due=hour.due, on_time=hour.on_time, assessed=False
                )
            )
            continue
        z = two_proportion_z(
            x1=hour.on_time, n1=hour.due, x0=hour.baseline_on_time, n0=hour.baseline_due
        )
        t += 1
        level = ewma_step(previous=level, value=z, lam=settings.ewma_lambda)
        limit = settings.ewma_width * ewma_sigma(t=t, lam=settings.ewma_lambda)
        out.append(
            Assessment(
                hour_start=hour.hour_start,
                due=hour.due,
                on_time=hour.on_time,
                assessed=True,
                rate=hour.on_time / hour.due,
                baseline_rate=hour.baseline_on_time / hour.baseline_due,
                z=z,
                ewma=level,
                ewma_limit=limit,
                z_alarm=z <= -settings.z_critical,
                ewma_alarm=level <= -limit,
            )
        )
    return tuple(out)


def latest_verdict(assessments: Sequence[Assessment]) -> Assessment | None:
    """The most recent assessed hour: what decides whether an alert is raised or resolved."""
    return next((a for a in reversed(assessments) if a.assessed), None)
