"""The revenue consumer: milestone messages become ASC 606 facts, entries and contract versions.

Revenue never reads the order tables: everything comes from the message (its `order` field
carries customer, currency, shipping terms, package id and every line's cumulative counts).
Which event types do what is a table (ACTIONS); docs/revenue/pipeline.md explains each row.
A fact the catalogs cannot price raises, so the message is retried and then dead-lettered with
the error; replayed after the catalog is fixed, it succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import orjson

from ordertrail.domain.ledger import PeriodCalendar, accounting_date
from ordertrail.domain.revenue import (
    Catalogs,
    ContractState,
    Fact,
    IssueCreditNote,
    IssueInvoice,
    LineChange,
    LineFacts,
    LineQuantities,
    ModificationDecision,
    ModifyContract,
    OrderFacts,
    PricingTerms,
    RecordFulfilment,
    ReturnRight,
    apply_fact,
    open_contract,
)
from ordertrail.domain.revenue.contracts import contract_id_for
from ordertrail.services.amendments import hold_amendment
from ordertrail.services.messaging import LANES, ConsumerUnitOfWork, Message
from ordertrail.services.ports import Clock
from ordertrail.services.recognition_gate import audit_entries, gate_lines
from ordertrail.services.revenue_ports import (
    RevenueSettings,
    RevenueUnitOfWork,
    StoredContract,
    VersionRecord,
)
from ordertrail.services.revenue_rows import full_document_of, status_of

CONSUMER = "revenue"
logger = logging.getLogger("ordertrail.revenue")
COMBINED_REASON = "orders combined into one contract (ASC 606-10-25-9)"


@dataclass(slots=True)
class Context:
    """What one message's handling needs, looked up once."""

    uow: RevenueUnitOfWork
    tenant_id: str
    body: dict[str, Any]
    settings: RevenueSettings
    calendar: PeriodCalendar
    now: datetime
    _catalogs: Catalogs | None = None

    @property
    def event_id(self) -> str:
        event_id: str = self.body["event_id"]
        return event_id

    @property
    def order_id(self) -> str:
        order_id: str = self.body["order_id"]
        return order_id

    @property
    def occurred_on(self) -> date:
        instant = datetime.fromisoformat(self.body["occurred_at"])
        return accounting_date(instant, tz=ZoneInfo(self.settings.time_zone))

    @property
    def catalogs(self) -> Catalogs:
        if self._catalogs is None:
            self._catalogs = self.uow.catalog.catalogs(tenant_id=self.tenant_id)
        return self._catalogs

    @property
    def order(self) -> dict[str, Any]:
        order: dict[str, Any] = self.body["order"]
        return order


def order_facts_of(ctx: Context) -> OrderFacts:
    """The order as a contract's source document, from the message: active units per line."""
    order = ctx.order
    return OrderFacts(
        order_id=ctx.order_id,
        customer_id=order["customer_id"],
        currency=order["currency"],
        shipping_terms=order["shipping_terms"],
        placed_on=ctx.occurred_on,
        package_id=order.get("package_id"),
        lines=tuple(
            LineFacts(
                line_id=line["line_id"],
                sku=line["sku"],
                quantity=line["ordered"] - line.get("cancelled", 0),
                unit_price_minor=line["unit_price_minor"],
            )
            for line in order["lines"]
            if line["ordered"] - line.get("cancelled", 0) > 0
        ),
    )


def pricing_for(settings: RevenueSettings, lines: tuple[LineFacts, ...]) -> PricingTerms:
    """The tenant's expected return rates, applied to the lines of the SKUs they name."""
    by_sku = {r.sku: r for r in settings.returns}
    return PricingTerms(
        returns=tuple(
            ReturnRight(
                line_id=line.line_id,
                expected_return_rate_bp=by_sku[line.sku].expected_return_rate_bp,
                unit_cost_minor=by_sku[line.sku].unit_cost_minor,
            )
            for line in lines
            if line.sku in by_sku
        )
    )


def contract_line_id(state: ContractState, order_id: str, line_id: str) -> str | None:
    """The contract's id of an order line: prefixed by order when orders were combined."""
    for candidate in (f"{order_id}:{line_id}", line_id):
        if state.line(candidate) is not None:
            return candidate
    return None


# ---- persisting what a fact did -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Why:
    """What a new version records beside itself: the decision, the modification and the
    contract document before it."""

    decision: ModificationDecision | None = None
    modification: ModifyContract | None = None
    before: str | None = None


def _record_versions(ctx: Context, state: ContractState, since: int, why: Why) -> None:
    for version in state.versions:
        if version.version > since:
            last = version.version == state.versions[-1].version
            ctx.uow.revenue.record_version(
                tenant_id=ctx.tenant_id,
                record=VersionRecord(
                    contract_id=state.contract_id,
                    version=version,
                    decision=why.decision if last else None,
                    currency=state.currency,
                    recorded_at=ctx.now,
                    modification=why.modification if last else None,
                    before=why.before if last else None,
                ),
            )


def save_contract(
    ctx: Context,
    stored: StoredContract,
    state: ContractState,
    *,
    expected: int | None,
    why: Why | None = None,
) -> StoredContract:
    before = 0 if expected is None else stored.state.versions[-1].version
    updated = replace(
        stored, state=state, status=status_of(state, cancelled=stored.status == "cancelled")
    )
    row_version = ctx.uow.revenue.save(
        tenant_id=ctx.tenant_id, contract=updated, expected_row_version=expected, now=ctx.now
    )
    _record_versions(ctx, state, before, why or Why())
    return replace(updated, row_version=row_version)


def apply_to(ctx: Context, stored: StoredContract, fact: Fact) -> StoredContract:
    """Apply one fact to a stored contract and persist state, entries and versions."""
    applied = apply_fact(
        state=stored.state, fact=fact, calendar=ctx.calendar, catalogs=ctx.catalogs
    )
    if applied.state == stored.state:
        return stored
    customer = applied.state.terms.customer_id
    if applied.new_contract is not None:
        new = StoredContract(
            state=applied.new_contract, orders=stored.orders, status="open", row_version=0
        )
        save_contract(ctx, new, applied.new_contract, expected=None)
    ctx.uow.ledger.append(
        tenant_id=ctx.tenant_id, entries=applied.entries, customer_id=customer, recorded_at=ctx.now
    )
    audit_entries(
        ctx.uow, tenant_id=ctx.tenant_id, body=ctx.body, entries=applied.entries, now=ctx.now
    )
    why = Why(decision=applied.decision)
    if isinstance(fact, ModifyContract):
        why = Why(decision=applied.decision, modification=fact, before=full_document_of(stored))
    return save_contract(ctx, stored, applied.state, expected=stored.row_version, why=why)


# ---- contracts from orders ------------------------------------------------------------------


def _open_new(ctx: Context, orders: tuple[OrderFacts, ...]) -> StoredContract:
    lines = tuple(line for order in orders for line in order.lines)
    state = open_contract(
        orders=orders,
        catalogs=ctx.catalogs,
        cause_event_id=ctx.event_id,
        pricing=pricing_for(ctx.settings, lines),
        policy=ctx.settings.allocation,
    )
    stored = StoredContract(state=state, orders=orders, status="open", row_version=0)
    saved = save_contract(ctx, stored, state, expected=None)
    ctx.uow.revenue.map_orders(
        tenant_id=ctx.tenant_id,
        contract_id=state.contract_id,
        order_ids=[o.order_id for o in orders],
    )
    return saved


def _untouched(stored: StoredContract) -> bool:
    state = stored.state
    return not state.applied_event_ids and state.billed_minor == 0 and len(state.versions) == 1


def _combine(ctx: Context, target: StoredContract, order: OrderFacts) -> StoredContract:
    orders = (*target.orders, order)
    if _untouched(target) and contract_id_for(orders) == target.state.contract_id:
        # Nothing happened yet: the combined contract is priced afresh as one (re-inception),
        # kept as a new version of the same contract.
        fresh = open_contract(
            orders=orders,
            catalogs=ctx.catalogs,
            cause_event_id=ctx.event_id,
            pricing=pricing_for(ctx.settings, tuple(line for o in orders for line in o.lines)),
            policy=ctx.settings.allocation,
        )
        version = replace(
            fresh.versions[0],
            version=target.state.versions[-1].version + 1,
            effective_on=order.placed_on,
            reason=COMBINED_REASON,
        )
        state = replace(fresh, versions=(*target.state.versions, version))
        saved = save_contract(
            ctx, replace(target, orders=orders), state, expected=target.row_version
        )
    else:
        # Something already moved: the new order's lines join as a modification, treated by
        # the modification rules (usually a separate contract when priced at SSP).
        mod = ModifyContract(
            event_id=ctx.event_id,
            occurred_on=ctx.occurred_on,
            lines=tuple(
                LineChange(
                    line_id=line.line_id,
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                )
                for line in target.state.terms.lines
            )
            + tuple(
                LineChange(
                    line_id=f"{order.order_id}:{line.line_id}",
                    sku=line.sku,
                    quantity=line.quantity,
                    unit_price_minor=line.unit_price_minor,
                )
                for line in order.lines
            ),
            reason=COMBINED_REASON,
        )
        saved = apply_to(ctx, replace(target, orders=orders), mod)
    ctx.uow.revenue.map_orders(
        tenant_id=ctx.tenant_id, contract_id=saved.state.contract_id, order_ids=[order.order_id]
    )
    return saved


def ensure_contract(ctx: Context) -> StoredContract:
    """The order's contract, opening it (or joining a combinable one) when there is none."""
    revenue = ctx.uow.revenue
    contract_id = revenue.contract_of_order(tenant_id=ctx.tenant_id, order_id=ctx.order_id)
    if contract_id is not None:
        found = revenue.load(tenant_id=ctx.tenant_id, contract_id=contract_id)
        if found is not None:
            return found
    order = order_facts_of(ctx)
    rule = ctx.settings.combination
    for candidate in revenue.open_contracts_of(
        tenant_id=ctx.tenant_id, customer_id=order.customer_id
    ):
        if any(rule.combines(existing, order) for existing in candidate.orders):
            return _combine(ctx, candidate, order)
    return _open_new(ctx, (order,))


def _contracts_of_order(ctx: Context) -> list[StoredContract]:
    """The order's contract and any separate contracts modifications split off it."""
    primary = ensure_contract(ctx)
    found = [primary]
    for version in primary.state.versions:
        if version.related_contract_id:
            related = ctx.uow.revenue.load(
                tenant_id=ctx.tenant_id, contract_id=version.related_contract_id
            )
            if related is not None:
                found.append(related)
    return found


# ---- the actions, one per event type --------------------------------------------------------


def on_confirmed(ctx: Context) -> None:
    ensure_contract(ctx)


def on_fulfilment(ctx: Context) -> None:
    lines = ctx.order["lines"]
    for stored in _contracts_of_order(ctx):
        counts = []
        for line in lines:
            line_id = contract_line_id(stored.state, ctx.order_id, line["line_id"])
            if line_id is None:
                continue
            counts.append(
                LineQuantities(
                    line_id=line_id,
                    shipped=line.get("shipped", 0),
                    delivered=line.get("delivered", 0),
                    accepted=line.get("accepted", 0),
                    returned=line.get("returned", 0),
                )
            )
        # The recognition gate (holds, rules, fallbacks) decides how many units count now.
        gated = gate_lines(
            ctx.uow,
            tenant_id=ctx.tenant_id,
            body=ctx.body,
            state=stored.state,
            lines=counts,
            now=ctx.now,
        )
        if counts and gated is not None:
            fact = RecordFulfilment(event_id=ctx.event_id, occurred_on=ctx.occurred_on, lines=gated)
            apply_to(ctx, stored, fact)


def on_invoice(ctx: Context) -> None:
    amount = int(ctx.body["payload"]["amount_minor"])
    if amount > 0:
        stored = ensure_contract(ctx)
        apply_to(ctx, stored, IssueInvoice(ctx.event_id, ctx.occurred_on, amount))


def on_credit_note(ctx: Context) -> None:
    payload = ctx.body["payload"]
    stored = ensure_contract(ctx)
    named = [
        contract_line_id(stored.state, ctx.order_id, line["line_id"])
        for line in payload.get("lines") or ()
    ]
    returned = any(line.get("returned", 0) > 0 for line in ctx.order["lines"])
    fact = IssueCreditNote(
        event_id=ctx.event_id,
        occurred_on=ctx.occurred_on,
        amount_minor=int(payload["amount_minor"]),
        # After a return the credit settles what the customer is owed; otherwise it is a
        # price concession on the named lines (ASC 606-10-32-42 to 32-44).
        kind="refund" if returned else "price_concession",
        line_ids=tuple(n for n in named if n is not None),
    )
    apply_to(ctx, stored, fact)


def _changes_to(
    ctx: Context, stored: StoredContract, quantity: Callable[[dict[str, Any]], int]
) -> tuple[LineChange, ...]:
    changes = []
    for line in ctx.order["lines"]:
        line_id = contract_line_id(stored.state, ctx.order_id, line["line_id"])
        changes.append(
            LineChange(
                line_id=line_id or line["line_id"],
                sku=line["sku"],
                quantity=quantity(line),
                unit_price_minor=line["unit_price_minor"],
            )
        )
    return tuple(changes)


def on_amended(ctx: Context) -> None:
    stored = ensure_contract(ctx)
    mod = ModifyContract(
        event_id=ctx.event_id,
        occurred_on=ctx.occurred_on,
        lines=_changes_to(ctx, stored, lambda line: line["ordered"] - line.get("cancelled", 0)),
        reason=str(ctx.body["payload"].get("reason", "order amended")),
    )
    # Above the tenant's impact threshold the amendment waits for approval (controls).
    if not hold_amendment(
        ctx.uow,
        tenant_id=ctx.tenant_id,
        body=ctx.body,
        state=stored.state,
        lines=mod.lines,
        now=ctx.now,
    ):
        apply_to(ctx, stored, mod)


def on_cancelled(ctx: Context) -> None:
    """Nothing transferred or billed: the contract is cancelled. Otherwise the unshipped rest is
    cut by a modification (the lines keep what was shipped)."""
    revenue = ctx.uow.revenue
    contract_id = revenue.contract_of_order(tenant_id=ctx.tenant_id, order_id=ctx.order_id)
    stored = (
        None
        if contract_id is None
        else revenue.load(tenant_id=ctx.tenant_id, contract_id=contract_id)
    )
    if stored is None:
        return
    state = stored.state
    moved = state.billed_minor != 0 or any(
        ob.transferred_units or ob.posted.revenue for ob in state.obligations
    )
    if not moved:
        cancelled = replace(stored, status="cancelled")
        revenue.save(
            tenant_id=ctx.tenant_id,
            contract=cancelled,
            expected_row_version=stored.row_version,
            now=ctx.now,
        )
        return
    mod = ModifyContract(
        event_id=ctx.event_id,
        occurred_on=ctx.occurred_on,
        lines=_changes_to(
            ctx,
            stored,
            lambda line: max(line.get("shipped", 0), line["ordered"] - line.get("cancelled", 0)),
        ),
        reason=f"order cancelled: {ctx.body['payload'].get('reason', '')}",
    )
    apply_to(ctx, stored, mod)


ACTIONS: dict[str, Callable[[Context], None]] = {
    "order.confirmed": on_confirmed,
    "shipment.dispatched": on_fulfilment,
    "shipment.delivered": on_fulfilment,
    "delivery.accepted": on_fulfilment,
    "return.received": on_fulfilment,
    "invoice.issued": on_invoice,
    "credit_note.issued": on_credit_note,
    "order.amended": on_amended,
    "order.cancelled": on_cancelled,
}


def context_for(
    *, uow: RevenueUnitOfWork, tenant_id: str, body: dict[str, Any], now: datetime
) -> Context:
    return Context(
        uow=uow,
        tenant_id=tenant_id,
        body=body,
        settings=uow.catalog.settings(tenant_id=tenant_id),
        calendar=uow.ledger.calendar(tenant_id=tenant_id),
        now=now,
    )


@dataclass(frozen=True, slots=True)
class RevenueHandler:
    """The revenue consumer, on the critical lane."""

    clock: Clock
    consumer: str = CONSUMER
    lanes: frozenset[str] = frozenset({LANES[0]})

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None:
        """Turn one milestone message into facts and apply them."""
        action = ACTIONS.get(message.event_type)
        if action is None:
            return
        body = orjson.loads(message.body)
        if not isinstance(body, dict) or "order" not in body:
            logger.warning("revenue skips %s: not a milestone message", message.message_id)
            return
        ctx = context_for(
            uow=cast(RevenueUnitOfWork, uow),
            tenant_id=message.tenant_id,
            body=body,
            now=self.clock.now(),
        )
        if not ctx.catalogs.templates.versions:
            # Revenue starts for a tenant with its first catalog row; before that no order of
            # it is a revenue fact (docs/revenue/pipeline.md).
            logger.info("revenue skips %s: tenant has no catalog", message.message_id)
            return
        action(ctx)
