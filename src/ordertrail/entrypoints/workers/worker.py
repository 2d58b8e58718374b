"""The worker loop: one task per lane, each receiving, handling and settling its deliveries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services.consumer import ConsumeReport, consume_round

logger = logging.getLogger("ordertrail.worker")


async def _lane(
    *, app: Ordertrail, lane: str, stop: asyncio.Event, once: bool, deadline: float | None
) -> ConsumeReport:
    pipeline = app.pipeline
    total = ConsumeReport()
    failures = 0
    while not stop.is_set():
        try:
            report = await consume_round(
                receiver=pipeline.broker,
                registry=pipeline.registry,
                uow_factory=pipeline.uow_factory,
                clock=app.clock,
                policy=pipeline.retry,
                lane=lane,
                batch_size=app.settings.worker_batch_size,
            )
        except Exception:
            if once:
                raise
            failures += 1
            logger.exception("%s lane round failed (%d in a row); retrying", lane, failures)
            if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                break
            continue
        failures = 0
        total += report
        if report.received:
            if deadline is not None and await pause(stop, seconds=0, deadline=deadline):
                break
            continue
        if once or await pause(stop, seconds=app.settings.worker_poll_s, deadline=deadline):
            break
    return total


async def run_worker(
    *,
    app: Ordertrail,
    lanes: Sequence[str],
    stop: asyncio.Event,
    once: bool = False,
    max_seconds: float | None = None,
) -> dict[str, ConsumeReport]:
    """Consume `lanes` side by side until stopped; return what each lane did.

    Lanes never wait for each other: a backlog on one does not slow another. With `once`, each
    lane stops when nothing is available to it (messages waiting for a retry stay queued).
    """
    deadline = deadline_for(max_seconds)
    reports = await asyncio.gather(
        *(_lane(app=app, lane=lane, stop=stop, once=once, deadline=deadline) for lane in lanes)
    )
    return dict(zip(lanes, reports, strict=True))
