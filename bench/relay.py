"""Relay benchmark: the outbox relay to RabbitMQ against a bare aio-pika loop, and end-to-end lag.

Run from the repository root (PostgreSQL and RabbitMQ must be up):

    .venv/bin/python bench/relay.py              # about 40 s on 2 cores
    .venv/bin/python bench/relay.py --quick      # a smoke run of a few seconds

1. Throughput. The seeded workload is ingested through the real service into a fresh PostgreSQL
   database, which leaves one outbox row per event. Then, alternating in the same run, (a) the
   relay (`relay_round` over `SqlOutboxStore` and `RabbitBroker`, as `ordertrail relay` runs it)
   publishes every row with publisher confirms and marks it published, and (b) a bare aio-pika
   loop publishes the same messages (same bodies, headers and properties) with confirms to the
   same kind of durable quorum queues, in windows of the relay's batch size. Messages/s of each.
2. Latency. `ordertrail relay` and `ordertrail worker` run as processes on a fresh database while
   this process ingests events through `Ordertrail.ingest` at a fixed offered rate. For every
   event: commit time (ingest returned) → effect time (the milestone-log consumer's `handled_at`,
   written in the transaction that records the effect). p50 / p99 / max.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
from pamqp.commands import Basic
from rich.console import Console
from sqlalchemy import Engine, select, text, update

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.contenders import PRINCIPAL
from bench.ingest import PG_ADMIN_URL, Databases, machine, percentile
from bench.workload import generate
from ordertrail.adapters.brokers.rabbitmq import RabbitBroker, RabbitSettings
from ordertrail.adapters.clock import FixedClock, SystemClock, new_uuid
from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.outbox_store import SqlOutboxStore
from ordertrail.adapters.db.tables import milestone_log, outbox
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.entrypoints.cli.common import settle_heap
from ordertrail.services.messaging import LANES, Message
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from ordertrail.services.relay import RelayConfig, relay_round

AMQP_URL = os.environ.get("ORDERTRAIL_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MESSAGES = 20_000
QUICK_MESSAGES = 2_000
DEFAULT_ROUNDS = 3
BATCH_SIZE = 500
DEFAULT_RATE = 1_000
DEFAULT_SECONDS = 2.0
# A rate the consumers keep up with on this machine, to show the pipeline's own lag.
DEFAULT_STEADY_RATE = 40
DEFAULT_STEADY_SECONDS = 10.0
QUICK_SECONDS = 1.0
# The latency run's load: the events are generated beforehand, and every INGEST_TICK_S the bench
# ingests, in one call of the real ingest service, every event whose due time (i / rate) has come,
# at most INGEST_BATCH_MAX of them. An ingest call slower than a tick makes the next batch larger
# instead of lowering the offered rate (at 1,000/s: about 10 per call when calls keep up).
INGEST_TICK_S = 0.01
INGEST_BATCH_MAX = 250
# Orders whose events the `target_rate_interleaved` run mixes (see interleave_orders).
INTERLEAVE_WINDOW = 200
WARMUP_EVENTS = 300
DRAIN_PATIENCE_S = 120.0
# Targets of the pipeline issue.
TARGET_VS_BARE = 0.7
TARGET_RELAY_MSG_PER_S = 2_000
TARGET_P99_MS = 500.0


# ---- throughput ---------------------------------------------------------------------------------


def ingest_workload(app: Ordertrail, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), BATCH_SIZE):
        app.ingest(raw_events=events[start : start + BATCH_SIZE], principal=PRINCIPAL)


def outbox_messages(engine: Engine, count: int) -> list[Message]:
    store = SqlOutboxStore(engine)
    return [m for lane in LANES for _, m in store.unpublished(lane=lane, limit=count)]


def reset_outbox(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(update(outbox).values(published_at=None))


async def relay_run(engine: Engine, *, count: int, batch_size: int) -> float:
    """Relay every outbox row to a fresh topology; return the seconds it took."""
    broker = RabbitBroker(
        RabbitSettings.from_url(f"{AMQP_URL}?prefix=bench_relay_{uuid.uuid4().hex[:8]}"),
        engine=engine,
        clock=SystemClock(),
    )
    await broker._ready()  # connect and declare outside the timing, as the bare loop does
    outbox_store = SqlOutboxStore(engine)
    config = RelayConfig(batch_size=batch_size)
    published = 0
    started = time.perf_counter()
    while published < count:
        counts = await relay_round(
            outbox=outbox_store, publisher=broker, clock=SystemClock(), config=config
        )
        if not any(counts.values()):
            raise RuntimeError(f"the relay stopped at {published} of {count}")
        published += sum(counts.values())
    seconds = time.perf_counter() - started
    await broker.delete_topology()
    await broker.close()
    return seconds


def _bare_message(m: Message) -> aio_pika.Message:
    """The same properties the adapter sends, built by hand."""
    return aio_pika.Message(
        body=m.body.encode(),
        headers={
            **m.headers,
            "ordertrail-tenant-id": m.tenant_id,
            "ordertrail-order-id": m.order_id,
            "ordertrail-lane": m.lane,
            "ordertrail-created-at": m.created_at.isoformat(),
        },
        message_id=m.message_id,
        correlation_id=m.order_id,
        type=m.event_type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


async def bare_run(messages: list[Message], *, batch_size: int) -> float:
    """Publish `messages` with confirms, a window of `batch_size` at a time; return seconds."""
    prefix = f"bench_bare_{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange(
        f"{prefix}.events", aio_pika.ExchangeType.DIRECT, durable=True
    )
    for lane in LANES:
        queue = await channel.declare_queue(
            f"{prefix}.{lane}", durable=True, arguments={"x-queue-type": "quorum"}
        )
        await queue.bind(exchange, routing_key=lane)
    started = time.perf_counter()
    for start in range(0, len(messages), batch_size):
        window = messages[start : start + batch_size]
        confirms = await asyncio.gather(
            *(
                exchange.publish(_bare_message(m), routing_key=m.lane, mandatory=True)
                for m in window
            )
        )
        if not all(isinstance(c, Basic.Ack) for c in confirms):
            raise RuntimeError("the bare loop got a negative confirm")
    seconds = time.perf_counter() - started
    for lane in LANES:
        await channel.queue_delete(f"{prefix}.{lane}")
    await channel.exchange_delete(f"{prefix}.events")
    await connection.close()
    return seconds


@dataclass(frozen=True, slots=True)
class Throughput:
    messages: int
    relay_s: list[float]
    bare_s: list[float]

    def figures(self) -> dict[str, Any]:
        relay = self.messages / statistics.median(self.relay_s)
        bare = self.messages / statistics.median(self.bare_s)
        return {
            "messages": self.messages,
            "rounds": len(self.relay_s),
            "relay_msg_per_s": round(relay, 1),
            "bare_msg_per_s": round(bare, 1),
            "ratio": round(relay / bare, 3),
            "relay_msg_per_s_each": [round(self.messages / s, 1) for s in self.relay_s],
            "bare_msg_per_s_each": [round(self.messages / s, 1) for s in self.bare_s],
        }


def measure_throughput(
    *, url: str, events: list[dict[str, Any]], rounds: int, batch_size: int, console: Console
) -> Throughput:
    engine = make_engine(url)
    upgrade(engine)
    app = bootstrap(
        settings=Settings(database_url=url),
        engine=engine,
        clock=FixedClock(datetime.now(UTC)),
        new_id=new_uuid,
        migrate=False,
    )
    settle_heap()
    ingest_workload(app, events)
    with engine.connect() as connection:
        connection.execute(text("ANALYZE outbox"))
        connection.commit()
    messages = outbox_messages(engine, len(events))
    console.print(f"throughput: {len(messages)} outbox rows, batches of {batch_size}")
    relay_s: list[float] = []
    bare_s: list[float] = []
    for number in range(rounds):
        bare_s.append(asyncio.run(bare_run(messages, batch_size=batch_size)))
        reset_outbox(engine)
        relay_s.append(asyncio.run(relay_run(engine, count=len(messages), batch_size=batch_size)))
        console.print(
            f"  round {number + 1}: bare {len(messages) / bare_s[-1]:,.0f} msg/s, "
            f"relay {len(messages) / relay_s[-1]:,.0f} msg/s"
        )
    app.close()
    return Throughput(messages=len(messages), relay_s=relay_s, bare_s=bare_s)


# ---- latency ------------------------------------------------------------------------------------


def pipeline_process(name: str, *, url: str, broker_url: str) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).parent / "ordertrail"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERTRAIL_")}
    env |= {
        "ORDERTRAIL_DATABASE_URL": url,
        "ORDERTRAIL_BROKER_URL": broker_url,
        # Latency-minded polling: an idle relay or worker looks again after 50 ms.
        "ORDERTRAIL_RELAY_POLL_S": "0.05",
        "ORDERTRAIL_WORKER_POLL_S": "0.05",
    }
    return subprocess.Popen(
        [str(script), name], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def handled_at(engine: Engine) -> dict[str, float]:
    query = select(milestone_log.c.message_id, milestone_log.c.handled_at).where(
        milestone_log.c.consumer == MILESTONE_LOG
    )
    with engine.connect() as connection:
        return {message_id: at.timestamp() for message_id, at in connection.execute(query)}


def wait_for_effects(engine: Engine, ids: set[str]) -> dict[str, float]:
    deadline = time.monotonic() + DRAIN_PATIENCE_S
    while True:
        done = handled_at(engine)
        if ids <= done.keys():
            return done
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(ids & done.keys())} of {len(ids)} effects arrived")
        time.sleep(0.1)


def paced_ingest(app: Ordertrail, events: list[dict[str, Any]], *, rate: float) -> dict[str, float]:
    """Ingest `events` on a schedule of `rate` per second; return each message id's commit time.

    Event i is due at start + i / rate. Each tick ingests every due event not yet sent in one
    call (bounded); a call longer than a tick delays the next ticks, which then catch up with
    larger batches, so the offered rate holds. An event's commit time is when its call returned.
    """
    committed: dict[str, float] = {}
    started = time.perf_counter()
    sent = 0
    tick = 0
    while sent < len(events):
        pause = started + tick * INGEST_TICK_S - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        tick += 1
        due = min(len(events), int((time.perf_counter() - started) * rate) + 1)
        if due <= sent:
            continue
        batch = events[sent : min(due, sent + INGEST_BATCH_MAX)]
        app.ingest(raw_events=batch, principal=PRINCIPAL)
        at = time.time()
        for event in batch:
            committed[f"{PRINCIPAL.tenant_id}/{event['event_id']}"] = at
        sent += len(batch)
    return committed


def interleave_orders(events: list[dict[str, Any]], *, window: int) -> list[dict[str, Any]]:
    """The same events with `window` orders' lifecycles interleaved, each order's kept in order.

    The seeded workload lists an order's events together (placed, confirmed, allocated,
    dispatched, ...), so five or so consecutive messages share an order. A lane hands a consumer
    at most one message per order per batch, so such a stream caps batches at about five; live
    traffic at 1,000 events/s comes from many orders at once. Round-robin over `window` orders.
    """
    by_order: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_order.setdefault(str(event.get("order_id")), []).append(event)
    groups = list(by_order.values())
    mixed: list[dict[str, Any]] = []
    for start in range(0, len(groups), window):
        chunk = groups[start : start + window]
        for step in range(max(len(g) for g in chunk)):
            mixed.extend(g[step] for g in chunk if step < len(g))
    return mixed


@dataclass(frozen=True, slots=True)
class Latency:
    rate: float
    offered_s: float
    achieved_rate: float
    latencies_ms: list[float]
    # From the first effect of the run to its last: how fast the consumers actually went.
    effects_s: float

    def figures(self) -> dict[str, Any]:
        return {
            "offered_rate_per_s": self.rate,
            "achieved_ingest_rate_per_s": round(self.achieved_rate, 1),
            "seconds": round(self.offered_s, 2),
            "messages": len(self.latencies_ms),
            "consumer_effects_per_s": round(len(self.latencies_ms) / self.effects_s, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1),
            "max_ms": round(max(self.latencies_ms), 1),
        }


def measure_latency(
    *, url: str, events: list[dict[str, Any]], warmup: list[dict[str, Any]], rate: float
) -> Latency:
    engine = make_engine(url)
    upgrade(engine)
    broker_url = f"{AMQP_URL}?prefix=bench_e2e_{uuid.uuid4().hex[:8]}"
    app = bootstrap(
        settings=Settings(database_url=url, broker_url=broker_url),
        engine=engine,
        clock=SystemClock(),
        migrate=False,
    )
    settle_heap()
    processes = [
        pipeline_process(name, url=url, broker_url=broker_url) for name in ("relay", "worker")
    ]
    try:
        # The warm-up also waits out the processes' start and first connections.
        warm = paced_ingest(app, warmup, rate=rate)
        wait_for_effects(engine, set(warm))
        started = time.perf_counter()
        committed = paced_ingest(app, events, rate=rate)
        offered_s = time.perf_counter() - started
        done = wait_for_effects(engine, set(committed))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    latencies_ms = [(done[m] - at) * 1000 for m, at in committed.items()]
    effect_times = [done[m] for m in committed]
    cleanup = RabbitBroker(RabbitSettings.from_url(broker_url), engine=engine, clock=SystemClock())

    async def clean() -> None:
        await cleanup.delete_topology()
        await cleanup.close()

    asyncio.run(clean())
    app.close()
    return Latency(
        rate=rate,
        offered_s=offered_s,
        achieved_rate=len(committed) / offered_s,
        latencies_ms=latencies_ms,
        effects_s=max(max(effect_times) - min(effect_times), 1e-3),
    )


# ---- report -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=None, help="outbox rows to relay")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="offered events/s")
    parser.add_argument("--seconds", type=float, default=None, help="length of the latency run")
    parser.add_argument("--steady-rate", type=float, default=DEFAULT_STEADY_RATE)
    parser.add_argument("--steady-seconds", type=float, default=DEFAULT_STEADY_SECONDS)
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    args = parser.parse_args(argv)
    count = args.messages or (QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    console = Console(highlight=False)
    started = datetime.now(UTC)
    databases = Databases(workdir=Path("."), pg_admin_url=args.pg_admin_url)
    events = generate(events_count=count, seed=args.seed).events
    with databases.postgres() as url:
        throughput = measure_throughput(
            url=url, events=events, rounds=args.rounds, batch_size=args.batch_size, console=console
        )
    latencies: dict[str, Latency] = {}
    for name, rate, run_s, window in (
        ("target_rate", args.rate, seconds, 1),
        ("target_rate_interleaved", args.rate, seconds, INTERLEAVE_WINDOW),
        ("steady_rate", args.steady_rate, QUICK_SECONDS if args.quick else args.steady_seconds, 1),
    ):
        count_events = int(rate * run_s)
        stream = generate(events_count=count_events + WARMUP_EVENTS, seed=args.seed + 1).events
        if window > 1:
            stream = [
                *stream[:WARMUP_EVENTS],
                *interleave_orders(stream[WARMUP_EVENTS:], window=window),
            ]
        console.print(f"latency: {count_events} events at {rate:,.0f}/s offered")
        with databases.postgres() as url:
            latencies[name] = measure_latency(
                url=url, events=stream[WARMUP_EVENTS:], warmup=stream[:WARMUP_EVENTS], rate=rate
            )
    t = throughput.figures()
    console.print(
        f"relay {t['relay_msg_per_s']:,.0f} msg/s, bare aio-pika {t['bare_msg_per_s']:,.0f} msg/s, "
        f"ratio {t['ratio']:.3f} (medians of {t['rounds']} rounds)"
    )
    for lat in (latency.figures() for latency in latencies.values()):
        console.print(
            f"commit → effect at {lat['offered_rate_per_s']:,.0f}/s offered "
            f"({lat['achieved_ingest_rate_per_s']:,.0f}/s ingested, consumers "
            f"{lat['consumer_effects_per_s']:,.0f}/s): p50 {lat['p50_ms']} ms, "
            f"p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms"
        )
    lat = latencies["target_rate"].figures()
    targets = {
        "relay_vs_bare": {"target": TARGET_VS_BARE, "actual": t["ratio"]},
        "relay_msg_per_s": {"target": TARGET_RELAY_MSG_PER_S, "actual": t["relay_msg_per_s"]},
        "p99_ms_at_rate": {"target": TARGET_P99_MS, "actual": lat["p99_ms"]},
    }
    for name, entry in targets.items():
        met = (
            entry["actual"] <= entry["target"]
            if name == "p99_ms_at_rate"
            else (entry["actual"] >= entry["target"])
        )
        entry["met"] = met
        console.print(
            f"  {name:18} {entry['actual']} (target {entry['target']}): "
            f"{'met' if met else 'MISSED'}"
        )
    summary = {
        "benchmark": "relay",
        "started_at": started.isoformat(),
        "command": " ".join(["python bench/relay.py", *sys.argv[1:]]),
        "throughput": t,
        "latency": {name: latency.figures() for name, latency in latencies.items()},
        "targets": targets,
        "machine": machine(pg_admin_url=args.pg_admin_url),
        "rabbitmq_url": AMQP_URL.split("@")[-1],
        "packages": {"aio-pika": aio_pika.__version__},
    }
    sys.stdout.flush()
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
