"""Preview a contract without storing anything: obligations, allocation, schedule by period.

`preview` runs the same engine the subledger runs: it opens the contract, applies the written
facts in date order, and closes every month from inception to the horizon, then reports what
that produced. Two calls with the same request return the same result.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ordertrail.domain.ledger import ALL_OPEN, JournalEntry, month_index, period_index, period_key
from ordertrail.domain.money import exponent_of
from ordertrail.domain.revenue.catalog import Catalogs
from ordertrail.domain.revenue.contracts import ContractTerms
from ordertrail.domain.revenue.engine import Applied, apply_fact
from ordertrail.domain.revenue.errors import InvalidContract
from ordertrail.domain.revenue.facts import ClosePeriod
from ordertrail.domain.revenue.inception import contract_from_terms
from ordertrail.domain.revenue.obligations import identify_obligations
from ordertrail.domain.revenue.preview_build import (
    Counters,
    PreviewFact,
    allocation_policy,
    contract_lines,
    domain_fact,
    inline_catalogs,
    pricing_terms,
)
from ordertrail.domain.revenue.preview_format import FactSpec, PreviewRequest
from ordertrail.domain.revenue.pricing import determine_transaction_price
from ordertrail.domain.revenue.state import ContractState, ObligationState, schedule_of

HORIZON_MONTHS_MAX = 1_200


def money(amount_minor: int, currency: str) -> str:
    """Format minor units as a decimal string in currency units ("1234.50")."""
    exponent = exponent_of(currency)
    return f"{Decimal(amount_minor).scaleb(-exponent):.{exponent}f}"


class Run:
    """The contracts of one preview and everything applying facts produced."""

    def __init__(self, first: ContractState, catalogs: Catalogs) -> None:
        self.contracts: dict[str, ContractState] = {first.contract_id: first}
        self.first_id = first.contract_id
        self.catalogs = catalogs
        self.entries: list[JournalEntry] = []
        self.decisions: list[dict[str, Any]] = []
        self.counters = Counters()

    def owner(self, spec: FactSpec) -> ContractState:
        """The contract a fact belongs to: the one holding its line or obligation."""
        line_id = getattr(spec, "line_id", None)
        obligation_id = getattr(spec, "obligation_id", None)
        for state in self.contracts.values():
            if line_id is not None and state.line(line_id) is not None:
                return state
            if obligation_id is not None and any(
                ob.obligation_id == obligation_id for ob in state.obligations
            ):
                return state
        return self.contracts[self.first_id]

    def apply(self, state: ContractState, fact: PreviewFact | ClosePeriod) -> None:
        applied: Applied = apply_fact(
            state=state, fact=fact, calendar=ALL_OPEN, catalogs=self.catalogs
        )
        self.contracts[state.contract_id] = applied.state
        self.entries.extend(applied.entries)
        if applied.new_contract is not None:
            self.contracts[applied.new_contract.contract_id] = applied.new_contract
        if applied.decision is not None:
            decision = applied.decision
            self.decisions.append(
                {
                    "cause": fact.event_id,
                    "treatment": decision.treatment,
                    "rules_chose": decision.rule_treatment,
                    "overridden": decision.overridden,
                    "reason": decision.reason,
                    "paragraph": decision.paragraph,
                    "new_contract_id": None
                    if applied.new_contract is None
                    else applied.new_contract.contract_id,
                }
            )

    def close(self, month: int) -> None:
        for state in list(self.contracts.values()):
            self.apply(state, ClosePeriod(period=period_key(month)))

    def services_run_past(self, month: int) -> bool:
        for state in self.contracts.values():
            for ob in state.obligations:
                schedule = schedule_of(ob)
                if ob.active and schedule is not None and schedule.last_period > month:
                    return True
        return False


def _open(request: PreviewRequest, catalogs: Catalogs) -> ContractState:
    lines = contract_lines(request)
    terms = ContractTerms(
        contract_id=request.contract_id,
        customer_id=request.customer_id,
        currency=request.currency,
        shipping_terms=request.shipping_terms,
        inception_on=request.inception,
        order_ids=(request.contract_id,),
        lines=lines,
    )
    obligations = identify_obligations(
        lines=lines,
        currency=request.currency,
        shipping_terms=request.shipping_terms,
        priced_on=request.inception,
        catalogs=catalogs,
    )
    return contract_from_terms(
        terms=terms,
        obligations=obligations,
        pricing=pricing_terms(request),
        policy=allocation_policy(request),
        cause_event_id=f"{request.contract_id}:inception",
    )


def preview(
    *, request: PreviewRequest | Mapping[str, Any], catalogs: Catalogs | None = None
) -> dict[str, Any]:
    """Preview a contract: obligations, allocation and schedule by period, storing nothing.

    `request` is a PreviewRequest or its JSON form; `catalogs` supply templates and SSPs for
    lines written without inline obligations.
    """
    req = request if isinstance(request, PreviewRequest) else PreviewRequest.model_validate(request)
    all_catalogs = inline_catalogs(req, catalogs)
    run = Run(_open(req, all_catalogs), all_catalogs)
    facts = sorted(enumerate(req.facts), key=lambda pair: (pair[1].on, pair[0]))
    first = month_index(req.inception)
    if facts and facts[0][1].on < req.inception:
        raise InvalidContract(f"a fact on {facts[0][1].on} precedes inception {req.inception}")
    last_fact = month_index(facts[-1][1].on) if facts else first
    horizon = None if req.through is None else period_index(req.through)
    if horizon is not None and (horizon < first or last_fact > horizon):
        raise InvalidContract(f"through {req.through} must cover inception and every fact")
    month, position = first, 0
    while True:
        while position < len(facts) and month_index(facts[position][1].on) == month:
            index, spec = facts[position]
            state = run.owner(spec)
            quantities = {ob.obligation_id: ob.obligation.quantity for ob in state.obligations}
            fact = domain_fact(
                spec,
                event_id=f"{req.contract_id}:fact-{index}",
                currency=req.currency,
                counters=run.counters,
                quantity_of=quantities,
            )
            run.apply(state, fact)
            position += 1
        run.close(month)
        done = month == horizon if horizon is not None else month >= last_fact
        if done and (horizon is not None or not run.services_run_past(month)):
            break
        month += 1
        if month - first > HORIZON_MONTHS_MAX:
            raise InvalidContract(f"the schedule runs past {HORIZON_MONTHS_MAX} months")
    return render(run, through=period_key(month))


def render(run: Run, *, through: str) -> dict[str, Any]:
    """The preview's JSON output; see docs/revenue/preview.md."""
    contracts = [view(state, run.entries) for state in run.contracts.values()]
    return {
        "through": through,
        "contract": contracts[0],
        "separate_contracts": contracts[1:],
        "modifications": run.decisions,
    }


def view(state: ContractState, entries: list[JournalEntry]) -> dict[str, Any]:
    cur = state.currency
    own = [e for e in entries if e.contract_id == state.contract_id]
    revenue_accounts = {ob.obligation.revenue_account for ob in state.obligations}
    schedule: dict[tuple[str, str], int] = {}
    for entry in own:
        for p in entry.postings:
            if p.account in revenue_accounts and p.obligation_id is not None:
                key = (entry.period, p.obligation_id)
                schedule[key] = schedule.get(key, 0) - p.amount_minor
    by_period: dict[str, int] = {}
    for (period, _), amount in schedule.items():
        by_period[period] = by_period.get(period, 0) + amount
    price = determine_transaction_price(
        lines=state.terms.lines, terms=state.pricing, concessions_minor=state.concessions_minor
    )
    refunds = sum(ob.expected_refund_minor for ob in state.obligations if ob.active)
    return {
        "contract_id": state.contract_id,
        "currency": cur,
        "transaction_price": {
            "fixed": money(price.fixed_minor, cur),
            "discounts": money(price.discounts_minor, cur),
            "variable_included": money(price.variable_minor, cur),
            "concessions": money(price.concessions_minor, cur),
            "expected_refunds": money(refunds, cur),
        },
        "obligations": [_obligation(ob, cur) for ob in state.obligations],
        "schedule": [
            {"period": period, "obligation_id": oid, "revenue": money(amount, cur)}
            for (period, oid), amount in sorted(schedule.items())
            if amount
        ],
        "revenue_by_period": [
            {"period": period, "revenue": money(amount, cur)}
            for period, amount in sorted(by_period.items())
        ],
        "balances": {
            "billed": money(state.billed_minor, cur),
            "contract_liability": money(state.contract_liability_minor, cur),
            "contract_asset": money(state.contract_asset_minor, cur),
        },
        "versions": [
            {
                "version": v.version,
                "effective_on": v.effective_on.isoformat(),
                "treatment": v.treatment,
                "reason": v.reason,
                "transaction_price": money(v.transaction_price_minor, cur),
                "related_contract_id": v.related_contract_id,
            }
            for v in state.versions
        ],
        "entries": [_entry(e, cur) for e in own],
    }


def _obligation(ob: ObligationState, cur: str) -> dict[str, Any]:
    o = ob.obligation
    return {
        "obligation_id": ob.obligation_id,
        "line_id": o.line_id,
        "sku": o.sku,
        "component": o.component,
        "nature": o.nature,
        "timing": o.timing,
        "trigger": o.trigger,
        "method": o.method,
        "quantity": o.quantity,
        "ssp": None if o.ssp_total_minor is None else money(o.ssp_total_minor, cur),
        "allocation_basis": ob.allocation_basis,
        "allocated": money(ob.allocated_minor, cur),
        "expected_refund": money(ob.expected_refund_minor if ob.active else 0, cur),
        "recognized": money(ob.posted.revenue, cur),
        "refund_liability": money(ob.posted.refund_liability, cur),
        "returned": money(ob.returned_minor, cur),
        "unrecognized": money(ob.unrecognized_minor, cur),
        "service_start": None if o.service_start is None else o.service_start.isoformat(),
        "service_end": None if o.service_end is None else o.service_end.isoformat(),
        "status": "open" if ob.active else "terminated",
        "revenue_account": o.revenue_account,
    }


def _entry(entry: JournalEntry, cur: str) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "occurred_on": entry.occurred_on.isoformat(),
        "posted_on": entry.posted_on.isoformat(),
        "obligation_id": entry.obligation_id,
        "cause": entry.cause_event_id,
        "postings": [
            {
                "account": p.account,
                "debit": money(p.debit_minor, cur),
                "credit": money(p.credit_minor, cur),
            }
            for p in entry.postings
        ],
    }
