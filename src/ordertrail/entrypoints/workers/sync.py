"""The scheduler of batch sources: every `sync_poll_s`, import the drop directories that are due."""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services.sources import SourceRun

logger = logging.getLogger("ordertrail.sync")


async def run_sync(
    *,
    app: Ordertrail,
    stop: asyncio.Event,
    once: bool = False,
    max_seconds: float | None = None,
) -> list[SourceRun]:
    """Run due batch sources until stopped; return every run made.

    With `once`, run what is due now and return. Errors are logged and retried with a capped
    backoff (under `once` they end the run, so a command line sees them).
    """
    deadline = deadline_for(max_seconds)
    runs: list[SourceRun] = []
    failures = 0
    while not stop.is_set():
        try:
            done = await asyncio.to_thread(app.run_due_sources)
        except Exception:
            if once:
                raise
            failures += 1
            logger.exception("sync round failed (%d in a row); retrying", failures)
            if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                break
            continue
        failures = 0
        for run in done:
            logger.info("synced %s/%s: %s", run.tenant_id, run.source, run.summary())
        runs += done
        if once or await pause(stop, seconds=app.settings.sync_poll_s, deadline=deadline):
            break
    return runs
