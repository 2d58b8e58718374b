"""The approval expiry job: every minute, mark open requests past their expiry as expired.

An expired request can no longer be approved even before this job runs (approve checks the
time itself); the job makes the status say so and audits `approval.expired`.
"""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause

logger = logging.getLogger("ordertrail.approvals")

EXPIRY_INTERVAL_S = 60.0


def expire_now(app: Ordertrail) -> int:
    return len(app.approvals.expire_due(now=app.clock.now()))


async def run_expiry(
    *, app: Ordertrail, stop: asyncio.Event, max_seconds: float | None = None
) -> None:
    """Expire due requests until stopped; errors are logged and retried with backoff."""
    deadline = deadline_for(max_seconds)
    failures = 0
    while not stop.is_set():
        try:
            expired = await asyncio.to_thread(expire_now, app)
        except Exception:
            failures += 1
            logger.exception("approval expiry failed (%d in a row); retrying", failures)
            if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                break
            continue
        failures = 0
        if expired:
            logger.info("%d approval request(s) expired", expired)
        if await pause(stop, seconds=EXPIRY_INTERVAL_S, deadline=deadline):
            break
