"""Small builders for revenue tests: templates, catalogs, orders, and running facts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from ordertrail.domain.ledger import ALL_OPEN, JournalEntry, PeriodCalendar, balance_of
from ordertrail.domain.revenue.allocation import AllocationPolicy
from ordertrail.domain.revenue.catalog import (
    Catalogs,
    ObligationTemplate,
    SspRow,
    TemplateVersion,
    catalogs_of,
)
from ordertrail.domain.revenue.contracts import LineFacts, OrderFacts
from ordertrail.domain.revenue.engine import Applied, Fact, apply_fact
from ordertrail.domain.revenue.inception import open_contract
from ordertrail.domain.revenue.pricing import PricingTerms
from ordertrail.domain.revenue.state import ContractState

D0 = date(2024, 1, 1)


def goods(component: str = "unit", **kw: Any) -> ObligationTemplate:
    return ObligationTemplate(
        component=component,
        nature=kw.pop("nature", "goods"),
        timing="point_in_time",
        trigger=kw.pop("trigger", "control_transfer"),
        **kw,
    )


def service(component: str = "support", **kw: Any) -> ObligationTemplate:
    return ObligationTemplate(
        component=component,
        nature=kw.pop("nature", "service"),
        timing="over_time",
        method=kw.pop("method", "ratable_daily"),
        term_months=kw.pop("term_months", 12),
        **kw,
    )


def catalogs(
    *skus: tuple[str, tuple[ObligationTemplate, ...], dict[str, int | None]],
    currency: str = "USD",
    on: date = D0,
    extra_ssp: Iterable[SspRow] = (),
) -> Catalogs:
    """Catalogs from (sku, templates, {component: unit SSP}) rows; None SSP means residual."""
    versions = [TemplateVersion(sku=sku, effective_from=on, templates=t) for sku, t, _ in skus]
    rows = [
        SspRow(
            sku=sku,
            component=component,
            currency=currency,
            effective_from=on,
            unit_ssp_minor=ssp,
            residual_allowed=ssp is None,
        )
        for sku, _, ssps in skus
        for component, ssp in ssps.items()
    ]
    return catalogs_of(versions=versions, ssp_rows=[*rows, *extra_ssp])


def order(
    *lines: tuple[str, str, int, int],
    order_id: str = "SO-1",
    currency: str = "USD",
    shipping_terms: str = "fob_destination",
    placed_on: date = D0,
    customer_id: str = "C-1",
    package_id: str | None = None,
) -> OrderFacts:
    return OrderFacts(
        order_id=order_id,
        customer_id=customer_id,
        currency=currency,
        shipping_terms=shipping_terms,
        placed_on=placed_on,
        lines=tuple(LineFacts(*line) for line in lines),
        package_id=package_id,
    )


def contract(
    cats: Catalogs,
    *orders: OrderFacts,
    pricing: PricingTerms | None = None,
    policy: AllocationPolicy | None = None,
) -> ContractState:
    return open_contract(
        orders=orders, catalogs=cats, cause_event_id="inception", pricing=pricing, policy=policy
    )


def run(
    state: ContractState,
    *facts: Fact,
    cats: Catalogs | None = None,
    calendar: PeriodCalendar = ALL_OPEN,
) -> tuple[ContractState, list[JournalEntry]]:
    """Apply facts in order; return the final state and every entry."""
    entries: list[JournalEntry] = []
    for fact in facts:
        applied = apply_fact(state=state, fact=fact, calendar=calendar, catalogs=cats)
        state = applied.state
        entries.extend(applied.entries)
    return state, entries


def apply_one(
    state: ContractState,
    fact: Fact,
    *,
    cats: Catalogs | None = None,
    calendar: PeriodCalendar = ALL_OPEN,
) -> Applied:
    """Apply one fact and return everything it did, decision included."""
    return apply_fact(state=state, fact=fact, calendar=calendar, catalogs=cats)


def revenue(entries: Iterable[JournalEntry], obligation_id: str | None = None) -> int:
    """Revenue recognized (credit-positive) across revenue accounts."""
    total = 0
    for entry in entries:
        for p in entry.postings:
            if p.account.startswith("revenue") and (
                obligation_id is None or p.obligation_id == obligation_id
            ):
                total -= p.amount_minor
    return total


def credit_balance(entries: list[JournalEntry], account: str) -> int:
    return -balance_of(entries, account=account)


def debit_balance(entries: list[JournalEntry], account: str) -> int:
    return balance_of(entries, account=account)
