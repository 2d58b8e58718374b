"""Measure the completion-rate detector on seeded synthetic data with injected drops.

The data: one carrier's shipments due per hour follow a weekly shape (busy weekday afternoons,
quiet nights and Sundays) scaled to a peak volume, and each is on time with a probability that also
has a weekly shape (about 93 % on weekdays, a little lower at night and at weekends). Four weeks
of history, then the week under test. Every count is drawn (Bernoulli per shipment) from a seeded
generator, so a seed gives the same figures on every machine.

The detector is the service's own code (`services.anomaly.build_series`, the domain's `assess`
and `latest_verdict`) run hour by hour as the scheduled job would, each hour seeing only the hours
that have ended; an alert is raised on an alarming verdict and resolved on a normal one, as the
service does. Reported:

* **false alarms**: alerts raised per carrier-week on clean data (no drop at all);
* **detection delay**: hours from the start of a drop (the on-time rate falls by `drop` points and
  stays down) to the end of the first hour whose verdict raises the alert, and the share of drops
  detected within 48 h. In production the job also waits `anomaly_settle_minutes` (60) after an
  hour ends before it assesses it; add that hour to the delays.

Usage: .venv/bin/python -m bench.anomaly [--seed 7] [--trials 30] [--clean-weeks 30] [--quick]
       [--z-critical 3.5] [--ewma-width 3.5] [--min-volume 30]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ordertrail.domain.monitoring.anomaly import AnomalySettings, assess, latest_verdict
from ordertrail.services.alert_ports import CompletionCount
from ordertrail.services.anomaly import build_series

HOUR = timedelta(hours=1)
WEEK_HOURS = 168
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday, 00:00 UTC
VOLUMES = (40, 150, 500)  # shipments due in a peak hour
DROPS = (0.03, 0.05, 0.10, 0.20)  # on-time rate falls by this many points
HORIZON_HOURS = 48


def volume_shape(hour_of_week: int) -> float:
    """Share of the peak hour's volume due in this hour of the week."""
    day, hour = divmod(hour_of_week, 24)
    daily = 0.15 + 0.85 * max(0.0, math.sin(math.pi * (hour - 6) / 16)) if 6 <= hour <= 22 else 0.1
    return daily * (0.4 if day == 6 else 0.7 if day == 5 else 1.0)


def rate_shape(hour_of_week: int) -> float:
    """The normal on-time probability in this hour of the week."""
    day, hour = divmod(hour_of_week, 24)
    return 0.935 - (0.02 if hour < 7 or hour > 20 else 0.0) - (0.015 if day >= 5 else 0.0)


@dataclass(frozen=True, slots=True)
class Trial:
    detected_after_h: int | None  # hours from drop start to the end of the alerting hour
    alerts: int


def simulate(
    *, rng: random.Random, peak: int, weeks: int, drop: float, drop_at: int | None
) -> list[CompletionCount]:
    """Hourly counts for `weeks` weeks; from hour `drop_at` on, the rate is `drop` lower."""
    counts = []
    for h in range(weeks * WEEK_HOURS):
        how = h % WEEK_HOURS
        due = max(1, round(peak * volume_shape(how)))
        p = rate_shape(how) - (drop if drop_at is not None and h >= drop_at else 0.0)
        on_time = sum(rng.random() < p for _ in range(due))
        counts.append(
            CompletionCount(
                tenant_id="bench",
                carrier="c",
                hour_start=START + h * HOUR,
                due=due,
                on_time=on_time,
            )
        )
    return counts


def run_detector(
    *, counts: list[CompletionCount], settings: AnomalySettings, first: int, last: int
) -> list[int]:
    """Evaluate after each hour in [first, last); return the hours whose verdict raised an alert."""
    raised, open_alert = [], False
    for h in range(first, last):
        end = START + (h + 1) * HOUR
        lookback = (settings.baseline_weeks + 1) * WEEK_HOURS
        window = counts[max(0, h + 1 - lookback) : h + 1]
        [carrier] = build_series(counts=window, end=end, settings=settings) or [None]
        if carrier is None:
            continue
        verdict = latest_verdict(assess(series=carrier.series, settings=settings))
        if verdict is None:
            continue
        if verdict.alarm and not open_alert:
            raised.append(h)
        open_alert = verdict.alarm
    return raised


def detection_trial(
    *, rng: random.Random, peak: int, drop: float, settings: AnomalySettings
) -> Trial:
    history = settings.baseline_weeks * WEEK_HOURS
    drop_at = history + rng.randrange(WEEK_HOURS - HORIZON_HOURS)
    counts = simulate(
        rng=rng, peak=peak, weeks=settings.baseline_weeks + 1, drop=drop, drop_at=drop_at
    )
    raised = run_detector(
        counts=counts, settings=settings, first=drop_at, last=drop_at + HORIZON_HOURS
    )
    return Trial(detected_after_h=raised[0] - drop_at + 1 if raised else None, alerts=len(raised))


def false_alarms(*, rng: random.Random, peak: int, weeks: int, settings: AnomalySettings) -> int:
    """Alerts raised over `weeks` clean carrier-weeks (each after its own baseline history)."""
    total = 0
    history = settings.baseline_weeks * WEEK_HOURS
    for _ in range(weeks):
        counts = simulate(
            rng=rng, peak=peak, weeks=settings.baseline_weeks + 1, drop=0.0, drop_at=None
        )
        total += len(
            run_detector(counts=counts, settings=settings, first=history, last=history + WEEK_HOURS)
        )
    return total


def main() -> None:
    defaults = AnomalySettings()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--trials", type=int, default=30, help="Drops per drop size and volume.")
    parser.add_argument("--clean-weeks", type=int, default=30, help="Clean weeks per volume.")
    parser.add_argument("--quick", action="store_true", help="5 trials, 5 clean weeks.")
    parser.add_argument("--z-critical", type=float, default=defaults.z_critical)
    parser.add_argument("--ewma-width", type=float, default=defaults.ewma_width)
    parser.add_argument("--min-volume", type=int, default=defaults.min_volume)
    args = parser.parse_args()
    trials, clean_weeks = (5, 5) if args.quick else (args.trials, args.clean_weeks)
    settings = AnomalySettings(
        z_critical=args.z_critical, ewma_width=args.ewma_width, min_volume=args.min_volume
    )
    rng = random.Random(args.seed)
    started = time.perf_counter()
    print(
        f"settings: min_volume={settings.min_volume}, baseline_weeks={settings.baseline_weeks}, "
        f"z_critical={settings.z_critical}, ewma_lambda={settings.ewma_lambda}, "
        f"ewma_width={settings.ewma_width}, window_hours={settings.window_hours}; seed {args.seed}"
    )
    print("\n| peak volume (due/h) | false alarms per carrier-week |")
    print("|---:|---:|")
    for peak in VOLUMES:
        alarms = false_alarms(rng=rng, peak=peak, weeks=clean_weeks, settings=settings)
        print(f"| {peak} | {alarms / clean_weeks:.3f} ({alarms} in {clean_weeks} weeks) |")
    print(
        "\n| peak volume (due/h) | drop (points) | detected within 48 h | "
        "median delay (h) | p90 delay (h) |"
    )
    print("|---:|---:|---:|---:|---:|")
    for peak in VOLUMES:
        for drop in DROPS:
            results = [
                detection_trial(rng=rng, peak=peak, drop=drop, settings=settings)
                for _ in range(trials)
            ]
            delays = sorted(r.detected_after_h for r in results if r.detected_after_h is not None)
            share = len(delays) / trials
            median = f"{statistics.median(delays):.0f}" if delays else "-"
            p90 = f"{delays[max(0, math.ceil(0.9 * len(delays)) - 1)]}" if delays else "-"
            print(f"| {peak} | {drop * 100:.0f} | {share:.0%} | {median} | {p90} |")
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
