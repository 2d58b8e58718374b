"""Real `ordertrail worker` processes: kill -9 between the effect's commit and the ack, SIGTERM.

The worker loads the test recorder through ORDERTRAIL_HANDLERS, as a deployment would load a
consumer of its own. The recorder kills its own process with SIGKILL right after its effect
commits, before the delivery is acknowledged: the worst moment. A worker started again on the
same database must find the message again (it was never acknowledged) and produce no second
effect (the inbox row committed with the first).
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ordertrail.adapters.clock import SystemClock
from ordertrail.adapters.db.outbox_store import relay_lock_for
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.milestone_log import CONSUMER as MILESTONE_LOG
from tests.e2e.conftest import child_environment, ordertrail_command
from tests.pipeline.handlers import CRASH_MARKER_ENV
from tests.pipeline.support import (
    add_outbox,
    effects,
    inbox_count,
    message,
    pipeline_app,
    queued,
    run,
    unpublished,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LEASE_S = 1.0
PROCESS_TIMEOUT_S = 30


@pytest.fixture
def papp(engine: Engine) -> Ordertrail:
    """On the system clock, which the worker processes use too."""
    return pipeline_app(engine, SystemClock())


def worker_environment(*, crash_marker: Path | None) -> dict[str, str]:
    crash = {} if crash_marker is None else {CRASH_MARKER_ENV: str(crash_marker)}
    return child_environment(
        PYTHONPATH=str(ROOT),
        ORDERTRAIL_HANDLERS="tests.pipeline.handlers:crash_recorder",
        ORDERTRAIL_WORKER_LEASE_S=str(LEASE_S),
        ORDERTRAIL_WORKER_POLL_S="0.05",
        **crash,
    )


def worker(database: str, env: dict[str, str], *options: str) -> subprocess.Popen[str]:
    return command("worker", database, env, *options)


def command(name: str, database: str, env: dict[str, str], *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ordertrail_command(), name, "--database", database, *options],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_worker_killed_between_commit_and_ack_produces_exactly_one_effect(papp, tmp_path: Path):
    database = papp.engine.url.render_as_string(hide_password=False)
    sent = message(order_id="SO-CRASH")
    add_outbox(papp.engine, [sent])
    run(papp.pipeline.broker.publish(messages=[sent]))
    marker = tmp_path / "crashed"
    env = worker_environment(crash_marker=marker)

    first = worker(database, env, "--lane", "critical", "--max-seconds", "20")
    output, _ = first.communicate(timeout=PROCESS_TIMEOUT_S)
    assert first.returncode == -signal.SIGKILL, output
    assert marker.read_text() == sent.message_id
    # The effect and its inbox row committed; the delivery was never acknowledged.
    assert effects(papp.engine) == [sent.message_id]
    assert inbox_count(papp.engine) == 1
    assert queued(papp.engine) == [sent.message_id]

    time.sleep(LEASE_S)  # the dead worker's lease runs out
    second = worker(database, env, "--lane", "critical", "--once")
    output, _ = second.communicate(timeout=PROCESS_TIMEOUT_S)
    assert second.returncode == 0, output
    assert "critical: handled 1" in output
    assert effects(papp.engine) == [sent.message_id]
    assert effects(papp.engine, consumer=MILESTONE_LOG) == [sent.message_id]
    assert inbox_count(papp.engine) == 1
    assert queued(papp.engine) == []


def stop_with_sigterm(process: subprocess.Popen[str], *, once_it: Callable[[], bool]) -> str:
    """Wait until the process has shown it is working, SIGTERM it, return its output."""
    try:
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while not once_it() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert once_it()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=PROCESS_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    return output


def test_a_worker_stops_cleanly_on_sigterm(papp):
    database = papp.engine.url.render_as_string(hide_password=False)
    process = worker(database, worker_environment(crash_marker=None))
    sent = message()
    run(papp.pipeline.broker.publish(messages=[sent]))
    output = stop_with_sigterm(process, once_it=lambda: effects(papp.engine) == [sent.message_id])
    assert "critical: handled 1" in output


def test_a_relay_stops_cleanly_on_sigterm_and_releases_its_lock(papp):
    database = papp.engine.url.render_as_string(hide_password=False)
    add_outbox(papp.engine, [message()])
    process = command("relay", database, worker_environment(crash_marker=None))
    output = stop_with_sigterm(process, once_it=lambda: unpublished(papp.engine) == 0)
    assert "published 1 message(s)" in output
    lock = relay_lock_for(papp.engine)
    assert lock.acquire()
    lock.release()
