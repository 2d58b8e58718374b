"""Long-running loops: the relay and the lane workers, as their own processes or inside `serve`.

Each loop is bounded: it stops when its `stop` event is set, when `max_seconds` have passed, or,
with `once`, as soon as it finds nothing left to do. Errors are logged and retried with a capped
backoff; under `once` they end the run instead, so a command line sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

ERROR_BACKOFF_S_MAX = 30.0


def deadline_for(max_seconds: float | None) -> float | None:
    return None if max_seconds is None else time.monotonic() + max_seconds


def error_backoff_s(failures: int) -> float:
    """Seconds to wait after `failures` consecutive failed rounds."""
    return float(min(ERROR_BACKOFF_S_MAX, 0.5 * 2 ** (failures - 1)))


async def pause(stop: asyncio.Event, *, seconds: float, deadline: float | None) -> bool:
    """Wait `seconds` (less if the deadline is nearer); say whether the loop should end."""
    if deadline is not None:
        seconds = min(seconds, deadline - time.monotonic())
    if seconds > 0 and not stop.is_set():
        # Waking on `stop` rather than sleeping blind lets a shutdown end the wait at once.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)
    return stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
