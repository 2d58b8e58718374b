"""The relay loop: take the relay lock (or stand by), then publish the outbox round by round."""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services.messaging import RelayLock
from ordertrail.services.relay import relay_round

logger = logging.getLogger("ordertrail.relay")

# How often a standby relay tries the lock again.
STANDBY_RETRY_S = 5.0


class RelayBusy(Exception):
    """Another relay holds the lock."""


async def _lead(
    lock: RelayLock, *, stop: asyncio.Event, once: bool, deadline: float | None
) -> bool:
    """Take the relay lock, standing by while another relay holds it; say whether we lead."""
    while not await asyncio.to_thread(lock.acquire):
        if once:
            raise RelayBusy("another relay is active on this database")
        logger.info("another relay holds the lock; standing by")
        if await pause(stop, seconds=STANDBY_RETRY_S, deadline=deadline):
            return False
    return True


async def run_relay(
    *,
    app: Ordertrail,
    stop: asyncio.Event,
    once: bool = False,
    max_seconds: float | None = None,
) -> int:
    """Relay until stopped; return how many messages were published.

    With `once`, publish until the outbox is empty and return; raise RelayBusy if another relay
    is active. Without it, wait as a standby until the active relay goes away. The lock is
    checked before every round: a relay whose database session (and so its PostgreSQL advisory
    lock) was lost goes back to standby instead of publishing beside the new leader.
    """
    deadline = deadline_for(max_seconds)
    pipeline = app.pipeline
    lock = pipeline.relay_lock()
    published = failures = 0
    try:
        while not stop.is_set():
            try:
                if not await asyncio.to_thread(lock.still_held) and not await _lead(
                    lock, stop=stop, once=once, deadline=deadline
                ):
                    break
                counts = await relay_round(
                    outbox=pipeline.outbox,
                    publisher=pipeline.broker,
                    clock=app.clock,
                    config=pipeline.relay,
                )
            except Exception:
                if once:
                    raise
                failures += 1
                logger.exception("relay round failed (%d in a row); retrying", failures)
                if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                    break
                continue
            failures = 0
            published += sum(counts.values())
            if any(counts.values()):
                if deadline is not None and await pause(stop, seconds=0, deadline=deadline):
                    break
                continue
            if once or await pause(stop, seconds=app.settings.relay_poll_s, deadline=deadline):
                break
    finally:
        await asyncio.to_thread(lock.release)
    return published
