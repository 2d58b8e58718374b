"""The monitoring loop: run the alert evaluation job every `evaluate_interval_s` until stopped.

`serve` runs it beside the relay and workers; `ordertrail alerts evaluate --loop` runs it as a
process of its own. Several evaluators on one database are safe (an alert is raised once, by the
unique index on unresolved subjects) but pointless; run one.
"""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services.alerts import EvaluationReport

logger = logging.getLogger("ordertrail.monitoring")


async def run_monitoring(
    *, app: Ordertrail, stop: asyncio.Event, max_seconds: float | None = None
) -> EvaluationReport:
    """Evaluate, wait, repeat; return the sum of every run's report. Errors are retried."""
    deadline = deadline_for(max_seconds)
    total = EvaluationReport()
    failures = 0
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(app.monitoring.evaluate)
        except Exception:
            failures += 1
            logger.exception("alert evaluation failed (%d in a row); retrying", failures)
            if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                break
            continue
        failures = 0
        total += report
        if report.raised or report.resolved or report.escalated:
            logger.info(
                "alerts: %d raised, %d resolved, %d escalated, %d notified",
                report.raised,
                report.resolved,
                report.escalated,
                report.notified,
            )
        interval = app.settings.alerting.evaluate_interval_s
        if await pause(stop, seconds=interval, deadline=deadline):
            break
    return total
