"""Helpers for controls tests: the revenue Books with rules, holds and a movable clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from ordertrail.adapters.clock import FixedClock
from ordertrail.domain.controls.rules import rule_from
from ordertrail.services.controls_ports import ControlsUnitOfWork, Decision, StoredRule
from ordertrail.services.messaging import ConsumerUnitOfWork, Message
from ordertrail.services.revenue import RevenueHandler
from tests.conftest import NOW
from tests.revenue.books import Books
from tests.revenue.support import TENANT


class Controls(Books):
    """Books whose handler's clock the test moves, with helpers for rules and decisions."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(NOW)
        self.handler = RevenueHandler(clock=self.clock)

    def cuow(self) -> ControlsUnitOfWork:
        return cast(ControlsUnitOfWork, self.storage.uow_factory())

    def at(self, when: datetime) -> None:
        self.clock.at = when

    def handle_at(self, when: datetime, *messages: Message) -> None:
        self.at(when)
        for sent in messages:
            with self.uow() as uow:
                self.handler.handle(message=sent, uow=cast(ConsumerUnitOfWork, uow))
                uow.commit()

    def activate(self, definition: dict[str, Any], *, version: int = 1) -> None:
        with self.cuow() as uow:
            uow.controls.add_rule(
                tenant_id=TENANT,
                stored=StoredRule(
                    rule=rule_from(definition, version=version),
                    status="active",
                    proposed_by="key:a",
                    proposed_at=NOW,
                    approved_by="key:b",
                    approved_at=NOW,
                ),
            )
            uow.commit()

    def decisions(self, obligation_id: str = "1/unit") -> list[Decision]:
        with self.cuow() as uow:
            return uow.controls.decisions(
                tenant_id=TENANT, contract_id="ctr-SO-1", obligation_id=obligation_id
            )

    def revenue_minor(self) -> int:
        """Revenue recognized so far (credit balance of the revenue account, positive)."""
        with self.uow() as uow:
            return -sum(
                p.amount_minor
                for e in uow.ledger.entries(tenant_id=TENANT)
                for p in e.postings
                if p.account.startswith(("4", "revenue"))
            )

    def audit_kinds(self) -> list[str]:
        with self.storage.database.audit.lock:
            return [r.kind for r in self.storage.database.audit.records.get(TENANT, [])]
