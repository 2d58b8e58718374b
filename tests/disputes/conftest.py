"""The dispute tests run on in-memory storage, SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.migrate import upgrade
from tests.conftest import truncate_postgres
from tests.disputes.support import DisputeBooks


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def books(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DisputeBooks]:
    if request.param == "memory":
        yield DisputeBooks()
        return
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path / "disputes.db"))
        upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        truncate_postgres(engine)
    yield DisputeBooks(engine)
    engine.dispose()
