"""The recognition re-evaluation job: every hour, re-judge the orders whose revenue the gate
still holds back, so rules that become true with time ("30 days after delivery without a
dispute") and fallbacks that come due are recognized without a new milestone
(docs/revenue/controls.md)."""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services.recognition_rerun import ReevaluateResult, reevaluate_pending

logger = logging.getLogger("ordertrail.controls")

REEVALUATE_INTERVAL_S = 3_600.0


def reevaluate_now(app: Ordertrail) -> ReevaluateResult:
    return reevaluate_pending(uow_factory=app.uow_factory, clock=app.clock)  # type: ignore[arg-type]


async def run_reevaluation(
    *,
    app: Ordertrail,
    stop: asyncio.Event,
    interval_s: float = REEVALUATE_INTERVAL_S,
    max_seconds: float | None = None,
) -> None:
    """Re-evaluate pending orders until stopped; errors are logged and retried with backoff."""
    deadline = deadline_for(max_seconds)
    failures = 0
    while not stop.is_set():
        if await pause(stop, seconds=interval_s, deadline=deadline):
            break
        try:
            result = await asyncio.to_thread(reevaluate_now, app)
        except Exception:
            failures += 1
            logger.exception("recognition re-evaluation failed (%d in a row); retrying", failures)
            if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                break
            continue
        failures = 0
        if result.orders or result.failed:
            logger.info("re-evaluated %d orders (%d failed)", result.orders, result.failed)
