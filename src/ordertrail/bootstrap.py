"""The composition root: settings are read here once, and every dependency is wired here.

Nothing connects to anything at import time. Tests call the same `bootstrap()` with an engine of
their own, a fixed clock or deterministic ids.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from ordertrail.adapters.clock import SystemClock, new_uuid
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.import_log import SqlImportLog
from ordertrail.adapters.db.key_store import SqlKeyStore
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.queries import SqlOrderQueries
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.services import ingest as ingest_service
from ordertrail.services import replay as replay_service
from ordertrail.services.keys import Principal
from ordertrail.services.ports import (
    Clock,
    EventLog,
    ImportLog,
    KeyStore,
    OrderQueries,
    UnitOfWork,
)
from ordertrail.services.replay import ReplayResult
from ordertrail.services.results import IngestResult

DEFAULT_DATABASE = Path("ordertrail.db")
REQUEST_BODY_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the embedded defaults a newcomer needs."""

    database_url: str
    request_body_max_bytes: int = REQUEST_BODY_MAX_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "database_url": env.get("ORDERTRAIL_DATABASE_URL")
            or sqlite_url(DEFAULT_DATABASE.resolve()),
            "request_body_max_bytes": int(
                env.get("ORDERTRAIL_REQUEST_BODY_MAX_BYTES", REQUEST_BODY_MAX_BYTES)
            ),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def database_url_for(value: str) -> str:
    """Accept a URL or a plain file path (an SQLite database) from the command line."""
    return value if "://" in value else sqlite_url(Path(value).resolve())


@dataclass(slots=True)
class Ordertrail:
    """The wired application that entry points use."""

    settings: Settings
    engine: Engine
    uow_factory: Callable[[], UnitOfWork]
    queries: OrderQueries
    keys: KeyStore
    event_log: EventLog
    import_log: ImportLog
    clock: Clock
    new_id: Callable[[], str]

    def ingest(self, *, raw_events: Sequence[Any], principal: Principal) -> list[IngestResult]:
        return ingest_service.ingest(
            uow_factory=self.uow_factory,
            raw_events=raw_events,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            now=self.clock.now(),
            new_id=self.new_id,
        )

    def quarantine_unparseable(
        self, *, body: str, principal: Principal, code: str, message: str
    ) -> str:
        return ingest_service.quarantine_unparseable(
            uow_factory=self.uow_factory,
            body=body,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            now=self.clock.now(),
            new_id=self.new_id,
            code=code,
            message=message,
        )

    def replay_quarantined(
        self,
        *,
        principal: Principal,
        quarantine_ids: list[str] | None = None,
        order_id: str | None = None,
    ) -> list[ReplayResult]:
        return replay_service.replay_quarantined(
            uow_factory=self.uow_factory,
            queries=self.queries,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            now=self.clock.now(),
            new_id=self.new_id,
            quarantine_ids=quarantine_ids,
            order_id=order_id,
        )

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # health checks report, they do not raise
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()


def bootstrap(
    *,
    settings: Settings,
    engine: Engine | None = None,
    clock: Clock | None = None,
    new_id: Callable[[], str] | None = None,
    migrate: bool = True,
) -> Ordertrail:
    """Wire the application. Applies migrations first unless `migrate` is False."""
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Ordertrail(
        settings=settings,
        engine=engine,
        uow_factory=lambda: SqlUnitOfWork(engine),
        queries=SqlOrderQueries(engine),
        keys=SqlKeyStore(engine),
        event_log=SqlEventLog(engine),
        import_log=SqlImportLog(engine),
        clock=clock or SystemClock(),
        new_id=new_id or new_uuid,
    )
