"""The audit checkpoint job: every `audit_checkpoint_s`, checkpoint each chain that moved.

A checkpoint fixes a chain's head and length (signed when a key is configured), so truncating
or rewriting the chain before it is detectable even by someone who can rewrite every row.
"""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers import deadline_for, error_backoff_s, pause
from ordertrail.services import audit
from ordertrail.services.audit_ports import Checkpoint

logger = logging.getLogger("ordertrail.audit")


def checkpoint_now(app: Ordertrail) -> list[Checkpoint]:
    return audit.checkpoint(
        store=app.audit, tenant_id=None, now=app.clock.now(), sign=app.audit_signer
    )


async def run_checkpoints(
    *, app: Ordertrail, stop: asyncio.Event, max_seconds: float | None = None
) -> None:
    """Checkpoint moved chains until stopped; errors are logged and retried with backoff."""
    deadline = deadline_for(max_seconds)
    failures = 0
    while not stop.is_set():
        if await pause(stop, seconds=app.settings.audit_checkpoint_s, deadline=deadline):
            break
        try:
            made = await asyncio.to_thread(checkpoint_now, app)
        except Exception:
            failures += 1
            logger.exception("audit checkpoint failed (%d in a row); retrying", failures)
            if await pause(stop, seconds=error_backoff_s(failures), deadline=deadline):
                break
            continue
        failures = 0
        for c in made:
            logger.info("audit checkpoint %s at seq %d", c.tenant_id, c.seq)
