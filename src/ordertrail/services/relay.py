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

from ordertrail.services.messaging import LANES, OutboxStore, Publisher, PublishFailed
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


async def relay_lane(
    *, outbox: OutboxStore, publisher: Publisher, clock: Clock, lane: str, config: RelayConfig
) -> int:
    """Publish one batch of `lane`'s unpublished rows; return how many were confirmed."""
    rows = await asyncio.to_thread(outbox.unpublished, lane=lane, limit=config.batch_size)
    if 0 < len(rows) < config.batch_size and config.linger_s > 0:
        await asyncio.sleep(config.linger_s)
        rows = await asyncio.to_thread(outbox.unpublished, lane=lane, limit=config.batch_size)
    if not rows:
        return 0
    try:
        await publisher.publish(messages=[message for _, message in rows])
    except PublishFailed as failure:
        # Keep what the broker did confirm, so the next round does not resend all of it.
        confirmed = [outbox_id for outbox_id, _ in rows[: failure.confirmed]]
        if confirmed:
            await asyncio.to_thread(outbox.mark_published, ids=confirmed, published_at=clock.now())
        raise
    ids = [outbox_id for outbox_id, _ in rows]
    await asyncio.to_thread(outbox.mark_published, ids=ids, published_at=clock.now())
    return len(ids)


async def relay_round(
    *, outbox: OutboxStore, publisher: Publisher, clock: Clock, config: RelayConfig
) -> dict[str, int]:
    """Publish one batch of every lane, critical first; return the count published per lane."""
    return {
        lane: await relay_lane(
            outbox=outbox, publisher=publisher, clock=clock, lane=lane, config=config
        )
        for lane in LANES
    }
