"""The SQL unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from ordertrail.adapters.db.approval_store import SqlApprovalStore
from ordertrail.adapters.db.audit_store import SqlAuditLog
from ordertrail.adapters.db.catalog_store import SqlCatalogStore
from ordertrail.adapters.db.controls_store import SqlControlsStore
from ordertrail.adapters.db.dispute_store import SqlDisputeStore
from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.inbox import SqlInbox
from ordertrail.adapters.db.ledger_store import SqlLedgerStore
from ordertrail.adapters.db.milestone_log import SqlMilestoneLog
from ordertrail.adapters.db.order_store import SqlOrderRepository
from ordertrail.adapters.db.revenue_store import SqlRevenueStore
from ordertrail.services.approval_ports import ApprovalStore
from ordertrail.services.audit_ports import AuditLog
from ordertrail.services.controls_ports import ControlsStore
from ordertrail.services.dispute_ports import DisputeStore
from ordertrail.services.messaging import Inbox, MilestoneLog
from ordertrail.services.ports import OrderRepository
from ordertrail.services.revenue_ports import CatalogStore, LedgerStore, RevenueStore


class SqlUnitOfWork:
    # Typed as the ports so the unit of work satisfies UnitOfWork and ConsumerUnitOfWork.
    orders: OrderRepository
    inbox: Inbox
    milestone_log: MilestoneLog
    revenue: RevenueStore
    ledger: LedgerStore
    catalog: CatalogStore
    controls: ControlsStore
    audit: AuditLog
    approvals: ApprovalStore
    disputes: DisputeStore

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None
        self._after_commit: list[Callable[[], None]] = []

    def __enter__(self) -> Self:
        self._connection = self._engine.connect().execution_options(**{WRITE_OPTION: True})
        self._connection.begin()
        self._after_commit = []
        self.orders = SqlOrderRepository(self._connection)
        self.inbox = SqlInbox(self._connection)
        self.milestone_log = SqlMilestoneLog(self._connection)
        self.revenue = SqlRevenueStore(self._connection)
        self.ledger = SqlLedgerStore(self._connection)
        self.catalog = SqlCatalogStore(self._connection)
        self.controls = SqlControlsStore(self._connection)
        self.audit = SqlAuditLog(self._connection)
        self.approvals = SqlApprovalStore(self._connection)
        self.disputes = SqlDisputeStore(self._connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self._connection
        self._connection = None
        self._after_commit = []
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit outside the unit of work")
        self._connection.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        if self._connection is None:
            raise RuntimeError("after_commit outside the unit of work")
        self._after_commit.append(callback)
