"""In-memory fakes of every storage port (see database.py for the semantics they share)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ordertrail.adapters.memory.database import (
    MemoryDatabase,
    MemoryOrderRepository,
    MemoryUnitOfWork,
)
from ordertrail.adapters.memory.queries import MemoryOrderQueries
from ordertrail.adapters.memory.stores import MemoryEventLog, MemoryImportLog, MemoryKeyStore
from ordertrail.services.ports import OrderRepository, OutboxMessage

__all__ = [
    "MemoryDatabase",
    "MemoryEventLog",
    "MemoryImportLog",
    "MemoryKeyStore",
    "MemoryOrderQueries",
    "MemoryOrderRepository",
    "MemoryStorage",
    "MemoryUnitOfWork",
]


class MemoryStorage:
    """Every storage port over one shared in-memory database, wired like `bootstrap()` does."""

    def __init__(self) -> None:
        self.database = MemoryDatabase()
        self.queries = MemoryOrderQueries(self.database)
        self.event_log = MemoryEventLog(self.database)
        self.keys = MemoryKeyStore(self.database)
        self.import_log = MemoryImportLog(self.database)

    def uow_factory(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.database)

    def outbox(self, *, tenant_id: str | None = None) -> list[OutboxMessage]:
        """The committed outbox messages in commit order (no port reads it yet)."""
        with self.database.lock:
            return [
                r.message
                for r in self.database.outbox
                if tenant_id is None or r.message.tenant_id == tenant_id
            ]


if TYPE_CHECKING:
    # The type checker proves the fakes implement the ports they stand in for.
    from ordertrail.services.ports import (
        EventLog,
        ImportLog,
        KeyStore,
        OrderQueries,
        UnitOfWork,
    )

    _repository: type[OrderRepository] = MemoryOrderRepository
    _unit_of_work: type[UnitOfWork] = MemoryUnitOfWork
    _queries: type[OrderQueries] = MemoryOrderQueries
    _event_log: type[EventLog] = MemoryEventLog
    _keys: type[KeyStore] = MemoryKeyStore
    _imports: type[ImportLog] = MemoryImportLog
