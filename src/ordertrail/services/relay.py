"""The relay: moves outbox rows to the broker in bounded, confirmed batches, lane by lane.

A row is marked published only after the broker confirmed it, so a crash or a refused publish
leaves it to the next round: delivery is at least once, and consumers deduplicate. Within a lane
rows go out in outbox id order; on PostgreSQL two transactions can commit in the opposite order
of their ids, which only ever happens for different orders (ingest locks an order's row, so two
writes to one order are serialized), so each order's messages still leave in the order they were
written. The critical lane is relayed first in every round so a bulk flood cannot hold it back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ordertrail.services.messaging import LANES, Message, OutboxStore, Publisher, PublishFailed
from ordertrail.services.ports import Clock

BATCH_SIZE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class RelayConfig:
    batch_size: int = 500
    # How long to wait for a partial batch to fill before publishing it anyway.
    linger_s: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= BATCH_SIZE_MAX:
            raise ValueError(f"the relay batch size must be between 1 and {BATCH_SIZE_MAX}")
        if not 0 <= self.linger_s <= 10:
            raise ValueError("the relay linger must be between 0 and 10 seconds")


async def _unpublished(
    *, outbox: OutboxStore, lane: str, config: RelayConfig
) -> list[tuple[int, Message]]:
    """One batch of `lane`'s unpublished rows, after lingering for a partial batch to fill."""
    rows = await asyncio.to_thread(outbox.unpublished, lane=lane, limit=config.batch_size)
    if 0 < len(rows) < config.batch_size and config.linger_s > 0:
        await asyncio.sleep(config.linger_s)
        rows = await asyncio.to_thread(outbox.unpublished, lane=lane, limit=config.batch_size)
    return rows


async def _publish(
    rows: list[tuple[int, Message]], *, outbox: OutboxStore, publisher: Publisher, clock: Clock
) -> list[int]:
    """Publish `rows`; return their ids to mark. A PublishFailed marks the confirmed part first."""
    if not rows:
        return []
    try:
        await publisher.publish(messages=[message for _, message in rows])
    except PublishFailed as failure:
        # Keep what the broker did confirm, so the next round does not resend all of it.
        confirmed = [outbox_id for outbox_id, _ in rows[: failure.confirmed]]
        if confirmed:
            await asyncio.to_thread(outbox.mark_published, ids=confirmed, published_at=clock.now())
        raise
    return [outbox_id for outbox_id, _ in rows]


async def relay_lane(
    *, outbox: OutboxStore, publisher: Publisher, clock: Clock, lane: str, config: RelayConfig
) -> int:
    """Publish one batch of `lane`'s unpublished rows; return how many were confirmed."""
    rows = await _unpublished(outbox=outbox, lane=lane, config=config)
    ids = await _publish(rows, outbox=outbox, publisher=publisher, clock=clock)
    if ids:
        await asyncio.to_thread(outbox.mark_published, ids=ids, published_at=clock.now())
    return len(ids)


async def relay_round(
    *, outbox: OutboxStore, publisher: Publisher, clock: Clock, config: RelayConfig
) -> dict[str, int]:
    """Publish one batch of every lane, critical first; return the count published per lane.

    The lanes are published one after the other, critical first, but the database work overlaps
    the broker's: the next lane's rows are read while this lane's batch waits for its confirms,
    and a confirmed batch is marked while the next one is published. Every mark has committed
    before the round returns, so the next round's scan never sees a confirmed row again.
    """
    counts: dict[str, int] = {}
    marks: list[asyncio.Task[None]] = []
    upcoming = asyncio.ensure_future(_unpublished(outbox=outbox, lane=LANES[0], config=config))
    try:
        for position, lane in enumerate(LANES):
            rows = await upcoming
            if position + 1 < len(LANES):
                upcoming = asyncio.ensure_future(
                    _unpublished(outbox=outbox, lane=LANES[position + 1], config=config)
                )
            ids = await _publish(rows, outbox=outbox, publisher=publisher, clock=clock)
            if ids:
                marks.append(
                    asyncio.ensure_future(
                        asyncio.to_thread(outbox.mark_published, ids=ids, published_at=clock.now())
                    )
                )
            counts[lane] = len(ids)
    finally:
        # Never leave a read or a mark running behind the round, even when it failed.
        pending = [*marks, upcoming]
        results = await asyncio.gather(*pending, return_exceptions=True)
        errors = [r for r in results[: len(marks)] if isinstance(r, BaseException)]
    if errors:
        raise errors[0]
    return counts
