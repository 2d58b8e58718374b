"""Pipeline fixtures: a recording consumer and the app wired with it on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.engine import make_engine
from ordertrail.bootstrap import Ordertrail
from tests.conftest import truncate_postgres
from tests.pipeline.handlers import RecordingHandler
from tests.pipeline.kafka_server import durable_kafka_server, kafka_server  # noqa: F401
from tests.pipeline.support import pipeline_app


@pytest.fixture
def recorder(clock: FixedClock) -> RecordingHandler:
    return RecordingHandler(clock=clock)


@pytest.fixture
def papp(engine: Engine, clock: FixedClock, recorder: RecordingHandler) -> Ordertrail:
    """The app with the recorder registered, three attempts, backoff from 10 s."""
    return pipeline_app(
        engine,
        clock,
        recorder,
        retry_attempts_max=3,
        retry_backoff_initial_s=10.0,
        worker_lease_s=30.0,
    )


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """For what only PostgreSQL can show (commits out of id order, SKIP LOCKED)."""
    engine = make_engine(postgres_url)
    truncate_postgres(engine)
    yield engine
    engine.dispose()
