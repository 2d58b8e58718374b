"""A state machine over holds, disputes, overrides and recognition, on the in-memory storage.

Hypothesis interleaves fulfilment milestones arriving (dispatch, delivery, acceptance) with holds
placed and released, disputes opened and resolved, and hold-release overrides requested,
approved by another person, attempted by their requester, and left to expire. After every step:

- nothing is recognized on an order while the same order-level hold stays open;
- no request is approved by its requester (by key or by owner);
- the tenant's audit chain verifies (AUDIT's `verify`, journal cross-check included);
- the ledger balances: the trial balance is zero and deferred revenue never negative.

Disputes are modelled as holds with source "dispute" (upheld: the delivered units come back as
a return, then the hold is released; rejected: the hold is released), because no disputes
service existed when this was written.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import count
from typing import Any, cast

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from ordertrail.adapters.memory.audit import MemoryAuditStore
from ordertrail.bootstrap import default_approval_kinds
from ordertrail.domain.controls.holds import HoldNeedsApproval
from ordertrail.services import holds
from ordertrail.services.approval_ports import ApprovalFilter, ApprovalRequest
from ordertrail.services.approvals import (
    ApprovalClosed,
    ApprovalFailed,
    Approvals,
    Party,
    SelfApproval,
)
from ordertrail.services.audit import verify
from ordertrail.services.controls_ports import ControlsUnitOfWork
from tests.conftest import NOW
from tests.revenue.books import Books, line, message
from tests.revenue.support import TENANT

ORDERS = ("SO-1", "SO-2")
LINES = {"1": 3, "2": 2}  # line id -> units ordered (WIDGET: goods, recognized on transfer)
ANA = Party(actor="key:ana-accountant", owner="ana")
ANA_AS_CONTROLLER = Party(actor="key:ana-controller", owner="Ana")
CARL = Party(actor="key:carl", owner="carl")
CONTROLLER = ("controller",)


@dataclass
class Line:
    ordered: int
    shipped: int = 0
    delivered: int = 0
    accepted: int = 0
    returned: int = 0


@dataclass
class Order:
    lines: dict[str, Line] = field(
        default_factory=lambda: {i: Line(ordered=n) for i, n in LINES.items()}
    )

    def payload(self) -> list[dict[str, Any]]:
        return [
            line(
                i,
                "WIDGET",
                1500,
                ln.ordered,
                shipped=ln.shipped,
                delivered=ln.delivered,
                accepted=ln.accepted,
                returned=ln.returned,
            )
            for i, ln in self.lines.items()
        ]


@dataclass(frozen=True)
class OpenHold:
    hold_id: str
    order_id: str
    dispute: bool


class ControlsMachine(RuleBasedStateMachine):
    holds_ = Bundle("holds")
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.books = Books()
        ids = count(1)
        self.approvals = Approvals(
            uow_factory=self.books.storage.uow_factory,
            registry=default_approval_kinds(),
            new_id=lambda: f"req-{next(ids)}",
        )
        self.orders = {order_id: Order() for order_id in ORDERS}
        self.minute = 0
        self.now = NOW
        self.open_holds: dict[str, OpenHold] = {}
        self.disputes = count(1)
        for order_id, order in self.orders.items():
            self._send("order.confirmed", order_id, order)
        self.previous: dict[str, int] = self.recognized()
        self.previous_held: set[str] = set()

    # -- helpers --

    def _send(self, event_type: str, order_id: str, order: Order) -> None:
        self.minute += 1
        self.books.handle(
            message(event_type, order.payload(), order_id=order_id, minutes=self.minute)
        )

    def _tick(self, minutes: int = 5) -> None:
        self.now += timedelta(minutes=minutes)

    def _place(self, order_id: str, *, reason: str, source: str, ref: str | None) -> OpenHold:
        with self.books.storage.uow_factory() as uow:
            hold = holds.place_hold(
                uow=cast(ControlsUnitOfWork, uow),
                tenant_id=TENANT,
                order_id=order_id,
                reason_code=reason,
                source=source,
                source_ref=ref,
                actor=CARL.actor,
                now=self.now,
            )
            uow.commit()
        placed = OpenHold(hold_id=hold.hold_id, order_id=order_id, dispute=source == "dispute")
        self.open_holds[hold.hold_id] = placed
        return placed

    def _release(self, hold: OpenHold) -> None:
        with self.books.storage.uow_factory() as uow:
            holds.release_hold(
                uow=cast(ControlsUnitOfWork, uow),
                tenant_id=TENANT,
                hold_id=hold.hold_id,
                actor=CARL.actor,
                now=self.now,
                approval_id="dispute-resolution" if hold.dispute else None,
            )
            uow.commit()
        del self.open_holds[hold.hold_id]

    def recognized(self) -> dict[str, int]:
        """Revenue recognized per order (credits to revenue accounts, net)."""
        with self.books.uow() as uow:
            journal = uow.ledger.entries(tenant_id=TENANT)
        totals: dict[str, int] = defaultdict(int)
        for entry in journal:
            for posting in entry.postings:
                if posting.account.startswith("revenue_"):
                    totals[entry.contract_id] -= posting.amount_minor
        return {order_id: totals[f"ctr-{order_id}"] for order_id in ORDERS}

    # -- recognition: milestones arriving --

    @rule(order_id=st.sampled_from(ORDERS), line_id=st.sampled_from(sorted(LINES)))
    def dispatch(self, order_id: str, line_id: str) -> None:
        order = self.orders[order_id]
        ln = order.lines[line_id]
        if ln.shipped < ln.ordered:
            ln.shipped += 1
            self._send("shipment.dispatched", order_id, order)

    @rule(order_id=st.sampled_from(ORDERS), line_id=st.sampled_from(sorted(LINES)))
    def deliver(self, order_id: str, line_id: str) -> None:
        order = self.orders[order_id]
        ln = order.lines[line_id]
        if ln.delivered < ln.shipped:
            ln.delivered += 1
            self._send("shipment.delivered", order_id, order)

    @rule(order_id=st.sampled_from(ORDERS), line_id=st.sampled_from(sorted(LINES)))
    def accept(self, order_id: str, line_id: str) -> None:
        order = self.orders[order_id]
        ln = order.lines[line_id]
        if ln.accepted < ln.delivered - ln.returned:
            ln.accepted += 1
            self._send("delivery.accepted", order_id, order)

    # -- holds --

    @rule(
        target=holds_,
        order_id=st.sampled_from(ORDERS),
        reason=st.sampled_from(["manual_review", "legal"]),
    )
    def place_hold(self, order_id: str, reason: str) -> OpenHold:
        self._tick()
        return self._place(order_id, reason=reason, source="manual", ref=None)

    @rule(hold=holds_)
    def release_hold(self, hold: OpenHold) -> None:
        """A controller releases directly; a hold that needs dual approval refuses."""
        if hold.hold_id not in self.open_holds or hold.dispute:
            return
        self._tick()
        try:
            self._release(hold)
        except HoldNeedsApproval:
            assert hold.hold_id in self.open_holds

    # -- disputes (holds with source "dispute") --

    @rule(target=holds_, order_id=st.sampled_from(ORDERS))
    def open_dispute(self, order_id: str) -> OpenHold:
        self._tick()
        return self._place(
            order_id, reason="customer_dispute", source="dispute", ref=f"D-{next(self.disputes)}"
        )

    @rule(hold=holds_, upheld=st.booleans())
    def resolve_dispute(self, hold: OpenHold, upheld: bool) -> None:
        if not hold.dispute or hold.hold_id not in self.open_holds:
            return
        self._tick()
        if upheld:
            # The disputed goods come back: every delivered, not yet returned unit is returned.
            order = self.orders[hold.order_id]
            moved = False
            for ln in order.lines.values():
                if ln.delivered > ln.returned:
                    ln.returned = ln.delivered
                    ln.accepted = min(ln.accepted, ln.delivered - ln.returned)
                    moved = True
            if moved:
                self._send("return.received", hold.order_id, order)
        self._release(hold)

    # -- overrides: hold.release requests --

    @rule(target=requests, hold=holds_)
    def request_release(self, hold: OpenHold) -> str:
        self._tick()
        return self.approvals.request(
            tenant_id=TENANT,
            kind="hold.release",
            subject=f"hold:{hold.hold_id}",
            payload={"hold_id": hold.hold_id},
            reason="proof of delivery received",
            requester=ANA,
            now=self.now,
        ).request_id

    @rule(request_id=requests)
    def requester_tries_to_approve(self, request_id: str) -> None:
        before = self.approvals.get(tenant_id=TENANT, request_id=request_id)
        with pytest.raises((SelfApproval, ApprovalClosed)):
            self.approvals.approve(
                tenant_id=TENANT,
                request_id=request_id,
                approver=ANA_AS_CONTROLLER,
                approver_roles=CONTROLLER,
                now=self.now,
            )
        assert self.approvals.get(tenant_id=TENANT, request_id=request_id) == before

    @rule(request_id=consumes(requests))
    def another_controller_approves(self, request_id: str) -> None:
        request = self.approvals.get(tenant_id=TENANT, request_id=request_id)
        hold_id = str(request.payload["hold_id"])
        self._tick()
        expected_open = request.status == "requested" and self.now < request.expires_at
        if not expected_open:
            with pytest.raises(ApprovalClosed):
                self._approve_as_carl(request_id)
            return
        if hold_id not in self.open_holds:
            # Released meanwhile: the executor refuses, the request fails, nothing is applied.
            with pytest.raises(ApprovalFailed, match="was released"):
                self._approve_as_carl(request_id)
            failed = self.approvals.get(tenant_id=TENANT, request_id=request_id)
            assert failed.status == "failed"
            return
        decided = self._approve_as_carl(request_id)
        assert decided.status == "approved"
        self.open_holds.pop(hold_id)

    def _approve_as_carl(self, request_id: str) -> ApprovalRequest:
        return self.approvals.approve(
            tenant_id=TENANT,
            request_id=request_id,
            approver=CARL,
            approver_roles=CONTROLLER,
            now=self.now,
        )

    @precondition(lambda self: self.minute > 0)
    @rule()
    def time_passes_and_requests_expire(self) -> None:
        self._tick(minutes=60 * 24 * 4)
        for expired in self.approvals.expire_due(now=self.now):
            assert expired.status == "expired"

    # -- invariants --

    @invariant()
    def nothing_recognizes_while_held(self) -> None:
        now = self.recognized()
        held = {h.order_id for h in self.open_holds.values()}
        for order_id in held & self.previous_held:
            assert now[order_id] <= self.previous[order_id], order_id
        self.previous = now
        self.previous_held = held

    @invariant()
    def no_approval_by_its_requester(self) -> None:
        with self.books.storage.uow_factory() as uow:
            decided = uow.approvals.page(tenant_id=TENANT, where=_APPROVED, after=None, limit=1_000)
        for request in decided:
            assert request.decided_by != request.requester
            assert (request.decided_by_owner or "").casefold() != (
                request.requester_owner or ""
            ).casefold()

    @invariant()
    def the_audit_chain_verifies(self) -> None:
        database = self.books.storage.database
        store = MemoryAuditStore(database.audit, database.revenue)
        result = verify(store=store, tenant_id=TENANT, public_key_raw=None)
        assert result.ok, result

    @invariant()
    def the_ledger_balances_and_deferred_revenue_is_never_negative(self) -> None:
        with self.books.uow() as uow:
            journal = uow.ledger.entries(tenant_id=TENANT)
        totals: dict[str, int] = defaultdict(int)
        deferred = 0
        for entry in journal:
            for posting in entry.postings:
                totals[posting.currency] += posting.amount_minor
                if posting.account == "contract_liabilities":
                    deferred -= posting.amount_minor
        assert all(total == 0 for total in totals.values())
        assert deferred >= 0


_APPROVED = ApprovalFilter(status="approved")

ControlsMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestControls = ControlsMachine.TestCase
