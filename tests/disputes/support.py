"""Helpers for dispute tests: the controls Books with the dispute and approval use cases."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from sqlalchemy import Engine, select

from ordertrail.adapters.db.tables_audit import audit_records
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.bootstrap import default_approval_kinds
from ordertrail.domain.ledger import JournalEntry
from ordertrail.services.approvals import Approvals, Party
from ordertrail.services.disputes import Disputes
from tests.conftest import NOW
from tests.controls.support import Controls
from tests.revenue.books import line, message
from tests.revenue.support import TENANT, catalog_rows

ORDER = [line("1", "WIDGET", 1500, 2), line("2", "SUPPORT", 12000, 1)]
SHIPPED = [line("1", "WIDGET", 1500, 2, shipped=2), line("2", "SUPPORT", 12000, 1)]
CONTROLLER = ("controller",)
ACCOUNTANT = ("revenue_accountant",)


@dataclass(frozen=True, slots=True)
class SqlStorage:
    """Stands in for MemoryStorage: units of work on a migrated SQL database."""

    engine: Engine

    def uow_factory(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)


class DisputeBooks(Controls):
    """Controls books (movable clock) with disputes and approvals wired, in memory or on SQL."""

    def __init__(self, engine: Engine | None = None) -> None:
        super().__init__()
        self.engine = engine
        if engine is not None:
            self.storage = SqlStorage(engine)  # type: ignore[assignment]
            with self.uow() as uow:
                for row in catalog_rows():
                    uow.catalog.add(tenant_id=TENANT, body=row, created_at=NOW, created_by="t")
                uow.commit()
        ids = count(1)
        self.kinds_registry = default_approval_kinds()
        self.disputes = Disputes(
            uow_factory=self.storage.uow_factory,
            registry=self.kinds_registry,
            new_id=lambda: f"{next(ids):04d}",
        )
        self.approvals = Approvals(
            uow_factory=self.storage.uow_factory,
            registry=self.kinds_registry,
            new_id=lambda: f"req-{next(ids):04d}",
        )

    def confirmed_and_billed(self, amount_minor: int = 15000) -> None:
        self.handle(
            message("order.confirmed", ORDER),
            message("invoice.issued", ORDER, minutes=1, payload={"amount_minor": amount_minor}),
        )

    def entries(self) -> list[JournalEntry]:
        with self.uow() as uow:
            return list(uow.ledger.entries(tenant_id=TENANT))

    def audit_kinds(self) -> list[str]:
        if self.engine is None:
            return super().audit_kinds()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(audit_records.c.kind)
                .where(audit_records.c.tenant_id == TENANT)
                .order_by(audit_records.c.seq)
            )
            return list(rows.scalars())

    def open_holds(self) -> int:
        with self.cuow() as uow:
            return len(uow.controls.holds(tenant_id=TENANT, order_id="SO-1", open_only=True))


def party(actor: str, owner: str | None = None) -> Party:
    return Party(actor=actor, owner=owner)
