"""Shared fixtures: databases (SQLite file and a fresh PostgreSQL database per run), apps, keys.

PostgreSQL tests need the server at $ORDERTRAIL_TEST_PG_URL (default: postgres on 127.0.0.1:5432).
When it is unreachable they skip, except under CI=true, where they fail: CI must prove both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from ordertrail.adapters.clock import FixedClock
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.tables import metadata
from ordertrail.bootstrap import Ordertrail, Settings, bootstrap
from ordertrail.services.keys import Principal, create_key

PG_ADMIN_URL = os.environ.get(
    "ORDERTRAIL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# "Now" for tests: late in the month, so events at T0 + days are in the past.
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    problem = _pg_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"ordertrail_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_postgres(engine: Engine) -> None:
    tables = ", ".join(table.name for table in metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database engine: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path / "ordertrail.db"))
        upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_postgres(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(tmp_path / "ordertrail.db"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def _sequential_ids() -> Callable[[], str]:
    counter = iter(range(1, 10**9))
    return lambda: f"q{next(counter):08d}"


@pytest.fixture
def app(engine: Engine, clock: FixedClock) -> Ordertrail:
    """The wired application on the parametrized database, with a fixed clock."""
    return bootstrap(
        settings=Settings(database_url=str(engine.url)),
        engine=engine,
        clock=clock,
        new_id=_sequential_ids(),
        migrate=False,
    )


@pytest.fixture
def sqlite_app(sqlite_engine: Engine, clock: FixedClock) -> Ordertrail:
    return bootstrap(
        settings=Settings(database_url=str(sqlite_engine.url)),
        engine=sqlite_engine,
        clock=clock,
        new_id=_sequential_ids(),
        migrate=False,
    )


def make_principal(
    app: Ordertrail, *, tenant_id: str = "acme", roles: tuple[str, ...] = ("integration",)
) -> tuple[Principal, str]:
    """Create a real key and return its principal and bearer token."""
    record, token = create_key(
        store=app.keys, tenant_id=tenant_id, roles=list(roles), name="test", now=T0
    )
    return Principal(key_id=record.key_id, tenant_id=tenant_id, roles=record.roles), token
