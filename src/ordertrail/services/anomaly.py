"""Completion-rate anomalies from the database's counts, raised as `completion_rate_drop` alerts.

Each run looks at the last `window_hours` complete hours (an hour counts as complete
`settle_minutes` after it ends, so late delivery scans are in), and the same hours of the week in
each of the `baseline_weeks` weeks before. The statistics live in `domain/monitoring/anomaly.py`;
this module only gathers the counts and turns the latest verdict per carrier into an alert that
stays open while the carrier keeps alarming and resolves itself when an assessed hour is normal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from ordertrail.domain.monitoring.alerts import SYSTEM_ACTOR, AlertKind
from ordertrail.domain.monitoring.anomaly import (
    AnomalySettings,
    Assessment,
    HourlyCompletion,
    assess,
    latest_verdict,
)
from ordertrail.domain.monitoring.rules import Severity
from ordertrail.services.alert_ports import AlertStore, CompletionCount, CompletionQueries, NewAlert
from ordertrail.services.alerts import EvaluationReport, RaisedCallback, report_raised

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
GROUPS_MAX = 200_000


@dataclass(frozen=True, slots=True)
class CarrierHours:
    tenant_id: str
    carrier: str
    series: tuple[HourlyCompletion, ...]


def window_end(*, now: datetime, settle_minutes: int) -> datetime:
    """The end of the latest complete hour: the hour boundary at or before now - settle."""
    settled = now - timedelta(minutes=settle_minutes)
    return settled.replace(minute=0, second=0, microsecond=0)


def build_series(
    *, counts: list[CompletionCount], end: datetime, settings: AnomalySettings
) -> list[CarrierHours]:
    """Per tenant and carrier, the window's hours (oldest first) with their pooled baselines."""
    by_key: dict[tuple[str, str], dict[datetime, tuple[int, int]]] = defaultdict(dict)
    for count in counts:
        by_key[(count.tenant_id, count.carrier)][count.hour_start] = (count.due, count.on_time)
    start = end - settings.window_hours * HOUR
    hours = [start + i * HOUR for i in range(settings.window_hours)]
    out = []
    for (tenant_id, carrier), table in sorted(by_key.items()):
        if not any(hour in table for hour in hours):
            continue
        series = []
        for hour in hours:
            due, on_time = table.get(hour, (0, 0))
            past = [
                table.get(hour - k * WEEK, (0, 0)) for k in range(1, settings.baseline_weeks + 1)
            ]
            series.append(
                HourlyCompletion(
                    hour_start=hour,
                    due=due,
                    on_time=on_time,
                    baseline_due=sum(d for d, _ in past),
                    baseline_on_time=sum(o for _, o in past),
                )
            )
        out.append(CarrierHours(tenant_id=tenant_id, carrier=carrier, series=tuple(series)))
    return out


def _alert(*, tenant_id: str, carrier: str, verdict: Assessment, now: datetime) -> NewAlert:
    signals = [name for name, on in (("z", verdict.z_alarm), ("ewma", verdict.ewma_alarm)) if on]
    rate, baseline = verdict.rate or 0.0, verdict.baseline_rate or 0.0
    return NewAlert(
        tenant_id=tenant_id,
        kind=AlertKind.COMPLETION_RATE_DROP,
        subject=carrier,
        # A drop the z-test sees in one hour is big; one only the EWMA sees is slow and smaller.
        severity=Severity.CRITICAL if verdict.z_alarm else Severity.WARNING,
        summary=(
            f"{carrier} on-time rate {rate:.1%} for the hour from "
            f"{verdict.hour_start:%Y-%m-%d %H:%M} UTC against {baseline:.1%} in the same hour "
            "of recent weeks"
        ),
        details={
            "carrier": carrier,
            "hour_start": verdict.hour_start.isoformat(),
            "due": verdict.due,
            "on_time": verdict.on_time,
            "rate": round(rate, 4),
            "baseline_rate": round(baseline, 4),
            "z": round(verdict.z, 3),
            "ewma": round(verdict.ewma, 3),
            "ewma_limit": round(verdict.ewma_limit, 3),
            "signals": signals,
        },
        opened_at=now,
    )


def evaluate_anomalies(
    *,
    queries: CompletionQueries,
    store: AlertStore,
    settings: AnomalySettings,
    settle_minutes: int,
    now: datetime,
    on_raised: RaisedCallback | None = None,
) -> EvaluationReport:
    """Raise a drop alert per carrier whose latest assessed hour alarms; resolve recovered ones."""
    end = window_end(now=now, settle_minutes=settle_minutes)
    start = end - settings.window_hours * HOUR
    ranges = [(start - k * WEEK, end - k * WEEK) for k in range(settings.baseline_weeks + 1)]
    counts = queries.counts(ranges=ranges, limit=GROUPS_MAX)
    new: list[NewAlert] = []
    resolved = 0
    for carrier_hours in build_series(counts=counts, end=end, settings=settings):
        verdict = latest_verdict(assess(series=carrier_hours.series, settings=settings))
        if verdict is None:
            continue
        if verdict.alarm:
            new.append(
                _alert(
                    tenant_id=carrier_hours.tenant_id,
                    carrier=carrier_hours.carrier,
                    verdict=verdict,
                    now=now,
                )
            )
        elif store.resolve_subject(
            tenant_id=carrier_hours.tenant_id,
            kind=AlertKind.COMPLETION_RATE_DROP,
            subject=carrier_hours.carrier,
            actor=SYSTEM_ACTOR,
            at=now,
        ):
            resolved += 1
    inserted = store.insert(items=new)
    report_raised(inserted, on_raised=on_raised)
    return EvaluationReport(raised=len(inserted), resolved=resolved)
