"""Embedded mode: the relay, both lanes' workers and the alert job as tasks of the API's loop.

`ordertrail serve` starts them with the application's lifespan and stops them with it, so one
process with no other server moves every accepted event to its consumers.
"""

from __future__ import annotations

import asyncio
import logging

from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers.approvals import run_expiry
from ordertrail.entrypoints.workers.audit import run_checkpoints
from ordertrail.entrypoints.workers.controls import run_reevaluation
from ordertrail.entrypoints.workers.monitoring import run_monitoring
from ordertrail.entrypoints.workers.poller import embedded_poller
from ordertrail.entrypoints.workers.relay import run_relay
from ordertrail.entrypoints.workers.sync import run_sync
from ordertrail.entrypoints.workers.worker import run_worker
from ordertrail.services.messaging import LANES

logger = logging.getLogger("ordertrail.embedded")

STOP_TIMEOUT_S = 15.0


class EmbeddedPipeline:
    def __init__(self, app: Ordertrail) -> None:
        self._app = app
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[object]] = []

    async def start(self) -> None:
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(run_relay(app=self._app, stop=self._stop), name="relay"),
            asyncio.create_task(
                run_worker(app=self._app, lanes=LANES, stop=self._stop), name="workers"
            ),
            # The scheduled alert evaluation (stagnation, anomalies, escalation).
            asyncio.create_task(run_monitoring(app=self._app, stop=self._stop), name="monitoring"),
            # Batch sources' scheduled imports (docs/operators/sources.md).
            asyncio.create_task(run_sync(app=self._app, stop=self._stop), name="sync"),
            # Periodic audit checkpoints (docs/security/audit.md).
            asyncio.create_task(
                run_checkpoints(app=self._app, stop=self._stop), name="audit-checkpoints"
            ),
            # Dual-approval requests past their expiry (docs/revenue/approvals.md).
            asyncio.create_task(run_expiry(app=self._app, stop=self._stop), name="approvals"),
            # Recognition rules that become true with time (docs/revenue/controls.md).
            asyncio.create_task(
                run_reevaluation(app=self._app, stop=self._stop), name="recognition-reevaluation"
            ),
        ]
        # Carrier polling, when the polling file says `embedded = true`.
        poller = embedded_poller(app=self._app, stop=self._stop)
        if poller is not None:
            self._tasks.append(asyncio.create_task(poller, name="poller"))

    async def stop(self) -> None:
        """Let the loops finish their current batch, then return; cancel them past a timeout."""
        self._stop.set()
        if not self._tasks:
            return
        done, pending = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S)
        for task in pending:
            logger.warning(
                "%s did not stop within %s s; cancelling it", task.get_name(), STOP_TIMEOUT_S
            )
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                logger.error("%s ended with an error", task.get_name(), exc_info=task.exception())
        self._tasks = []
