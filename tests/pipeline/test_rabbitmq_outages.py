"""Outages on a real RabbitMQ: the broker stopped and restarted mid-stream; the relay killed -9.

Like test_rabbitmq_faults.py (whose fixtures and helpers these share), they need RabbitMQ at
$ORDERTRAIL_TEST_AMQP_URL and skip without it, except under CI=true, where they fail. Stopping
the broker needs `rabbitmqctl` and the right to use it (root or the rabbitmq user, as on the CI
machine). The broker is started again in a `finally`, whatever the test's outcome. Every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.tables import outbox
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.workers.relay import run_relay
from ordertrail.entrypoints.workers.worker import run_worker
from ordertrail.services.messaging import LANES
from tests.e2e.conftest import child_environment, ordertrail_command
from tests.pipeline import test_rabbitmq_faults
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.support import add_outbox, effects, inbox_count, message
from tests.pipeline.support import unpublished as unpublished_rows
from tests.pipeline.test_rabbitmq_faults import (
    DRAIN_PATIENCE_S,
    RABBITMQCTL_TIMEOUT_S,
    _pipeline,
    _unavailable,
    leftover,
    until,
)

pytestmark = pytest.mark.slow
rabbit_url = test_rabbitmq_faults.rabbit_url  # the fixture, shared

ROOT = Path(__file__).resolve().parents[2]
# Long enough for the clients to notice and start reconnecting, short enough for a test.
OUTAGE_S = 3.0
PROCESS_TIMEOUT_S = 60.0
# A kill must land while the relay still has batches to send; this many rows make sure it does.
RELAY_ROWS = 600
RELAY_BATCH_SIZE = 50
# Reconnect sooner than aio-pika's default 5 s, to keep the test short.
RECONNECT = "&reconnect_interval=1"


def rabbitmqctl(*arguments: str) -> None:
    done = subprocess.run(
        ["rabbitmqctl", *arguments],
        capture_output=True,
        text=True,
        timeout=RABBITMQCTL_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def broker_control() -> Iterator[list[str]]:
    """Yield a list the test appends "stopped" to; the broker is running again afterwards."""
    if shutil.which("rabbitmqctl") is None:
        _unavailable("rabbitmqctl is not installed")
    state: list[str] = []
    try:
        yield state
    finally:
        # Whatever happened, leave the broker up for everything after this test.
        if state:
            rabbitmqctl("start_app")


def test_the_broker_stopped_mid_stream_and_restarted_loses_nothing_and_doubles_nothing(
    rabbit_url: str, sqlite_engine: Engine, clock: FixedClock, broker_control: list[str]
) -> None:
    recorder = RecordingHandler(clock=clock)
    relay_app = _pipeline(sqlite_engine, clock, url=rabbit_url + RECONNECT)
    worker_app = _pipeline(sqlite_engine, clock, recorder, url=rabbit_url + RECONNECT)
    sent = [
        message(order_id=f"SO-{n % 40:02d}", lane="bulk" if n % 4 == 0 else "critical")
        for n in range(200)
    ]
    outage_at, outage_batches = 80, 5

    async def ingest() -> None:
        for start in range(0, len(sent), 10):
            if start == outage_at:
                await asyncio.to_thread(rabbitmqctl, "stop_app")
                broker_control.append("stopped")
            await asyncio.to_thread(add_outbox, sqlite_engine, sent[start : start + 10])
            if outage_at <= start < outage_at + 10 * outage_batches:
                # Events keep arriving while the broker is down; they wait in the outbox.
                await asyncio.sleep(OUTAGE_S / outage_batches)
            else:
                await asyncio.sleep(0.02)
            if start == outage_at + 10 * (outage_batches - 1):
                await asyncio.to_thread(rabbitmqctl, "start_app")
                broker_control.clear()

    async def all_effects_recorded() -> bool:
        done = await asyncio.to_thread(effects, sqlite_engine)
        left = await asyncio.to_thread(unpublished_rows, sqlite_engine)
        return len(set(done)) == len(sent) and left == 0

    async def scenario() -> dict[str, int]:
        stop = asyncio.Event()
        loops = [
            asyncio.create_task(run_relay(app=relay_app, stop=stop, max_seconds=90)),
            asyncio.create_task(run_worker(app=worker_app, lanes=LANES, stop=stop, max_seconds=90)),
        ]
        try:
            await ingest()
            await until(all_effects_recorded, what="every message's effect after the restart")
        finally:
            stop.set()
            await asyncio.gather(*loops)
            await worker_app.pipeline.broker.close()
            await relay_app.pipeline.broker.close()
        return await drained(worker_app, url=rabbit_url)

    assert asyncio.run(scenario()) == dict.fromkeys(LANES, 0)  # the backlog drained
    assert unpublished_rows(sqlite_engine) == 0
    recorded = Counter(effects(sqlite_engine))
    assert recorded == Counter(m.message_id for m in sent)  # each exactly once
    assert inbox_count(sqlite_engine) == len(sent)


async def drained(app: Ordertrail, *, url: str) -> dict[str, int]:
    """Consume until the lanes hold nothing (redeliveries included); return what is left.

    A queue's count leaves out what a connected worker holds unacknowledged, so each pass closes
    its connection before counting: then anything unsettled is back in the queue and counted.
    """
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    while True:
        await run_worker(app=app, lanes=LANES, stop=asyncio.Event(), once=True)
        await app.pipeline.broker.close()
        left = await leftover(url)
        if left == dict.fromkeys(LANES, 0) or time.monotonic() > deadline:
            return left


def _published(engine: Engine) -> int:
    query = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_not(None))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_a_relay_killed_with_sigkill_mid_batch_loses_nothing(
    rabbit_url: str, sqlite_engine: Engine, clock: FixedClock
) -> None:
    database = sqlite_engine.url.render_as_string(hide_password=False)
    sent = [
        message(order_id=f"SO-{n % 97:02d}", lane="bulk" if n % 3 == 0 else "critical")
        for n in range(RELAY_ROWS)
    ]
    add_outbox(sqlite_engine, sent)
    env = child_environment(
        ORDERTRAIL_BROKER_URL=rabbit_url,
        ORDERTRAIL_RELAY_BATCH_SIZE=str(RELAY_BATCH_SIZE),
        ORDERTRAIL_RELAY_POLL_S="0.05",
    )

    def relay(*options: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*ordertrail_command(), "relay", "--database", database, *options],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    doomed = relay()
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        # Kill it as soon as its first batch is marked: it is publishing the next one by then.
        while _published(sqlite_engine) == 0:
            if doomed.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the relay never published: {doomed.communicate()[0]}")
            time.sleep(0.005)
        os.kill(doomed.pid, signal.SIGKILL)
    finally:
        if doomed.poll() is None:
            doomed.kill()
        doomed.wait(timeout=PROCESS_TIMEOUT_S)
    assert doomed.returncode == -signal.SIGKILL
    marked_at_kill = _published(sqlite_engine)
    assert 0 < marked_at_kill < RELAY_ROWS  # killed with work left: mid-stream, mid-batch

    # Its successor takes the lock the kernel released with the dead process, and resends.
    successor = relay("--once")
    output, _ = successor.communicate(timeout=PROCESS_TIMEOUT_S)
    assert successor.returncode == 0, output
    assert unpublished_rows(sqlite_engine) == 0

    recorder = RecordingHandler(clock=clock)
    worker_app = _pipeline(sqlite_engine, clock, recorder, url=rabbit_url)

    async def drain() -> dict[str, int]:
        async def all_handled() -> bool:
            return len(set(await asyncio.to_thread(effects, sqlite_engine))) == RELAY_ROWS

        stop = asyncio.Event()
        loop = asyncio.create_task(run_worker(app=worker_app, lanes=LANES, stop=stop))
        try:
            await until(all_handled, what="every outbox row's effect")
        finally:
            stop.set()
            await loop
            await worker_app.pipeline.broker.close()
        return await drained(worker_app, url=rabbit_url)

    assert asyncio.run(drain()) == dict.fromkeys(LANES, 0)
    recorded = Counter(effects(sqlite_engine))
    assert recorded == Counter(m.message_id for m in sent)  # every row, exactly once in effect
    assert inbox_count(sqlite_engine) == RELAY_ROWS
