"""Turn a parsed preview request into domain objects: catalogs, pricing, lines and facts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date

from ordertrail.domain.revenue.allocation import AllocationPolicy
from ordertrail.domain.revenue.catalog import (
    Catalogs,
    ObligationTemplate,
    SspRow,
    TemplateVersion,
    catalogs_of,
)
from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidContract
from ordertrail.domain.revenue.facts import (
    IssueCreditNote,
    IssueInvoice,
    LineChange,
    LineQuantities,
    ModifyContract,
    RecordFulfilment,
    RecordProgress,
    SatisfyObligation,
)
from ordertrail.domain.revenue.preview_format import (
    CostsFact,
    CreditNoteFact,
    FactSpec,
    InvoiceFact,
    LineFact,
    LineSpec,
    ModificationFact,
    ObligationSpec,
    PreviewRequest,
    SatisfiedFact,
    VariableSpec,
    basis_points,
    minor,
)
from ordertrail.domain.revenue.pricing import (
    Discount,
    DiscountEvidence,
    Outcome,
    PricingTerms,
    ReturnRight,
    VariableConsideration,
)

PreviewFact = (
    RecordFulfilment
    | SatisfyObligation
    | RecordProgress
    | IssueInvoice
    | IssueCreditNote
    | ModifyContract
)


def _template(spec: ObligationSpec) -> ObligationTemplate:
    return ObligationTemplate(
        component=spec.component,
        nature=spec.nature,
        timing=spec.timing,
        trigger=spec.trigger,
        method=spec.method,
        term_months=spec.term_months,
        service_starts=spec.service_starts,
        returnable=spec.returnable,
        integrated=spec.integrated,
        revenue_account=spec.revenue_account,
    )


def _ssp(spec: ObligationSpec, *, sku: str, currency: str, on: date, until: date | None) -> SspRow:
    def amount(value: str | None) -> int | None:
        return None if value is None else minor(value, currency)

    return SspRow(
        sku=sku,
        component=spec.component,
        currency=currency,
        effective_from=on,
        effective_to=until,
        unit_ssp_minor=amount(spec.ssp),
        basis=spec.ssp_basis,
        low_minor=amount(spec.ssp_low),
        high_minor=amount(spec.ssp_high),
        residual_allowed=spec.residual_allowed,
    )


def _written_lines(request: PreviewRequest) -> Iterator[tuple[date, LineSpec]]:
    for line in request.lines:
        yield request.inception, line
    for fact in request.facts:
        if isinstance(fact, ModificationFact):
            for line in fact.lines:
                yield fact.on, line


def inline_catalogs(request: PreviewRequest, given: Catalogs | None) -> Catalogs:
    """Catalogs from the obligations written inline, each SKU versioned by the date it was
    written for (inception, or a modification date); the given catalogs supply the rest."""
    written: dict[str, dict[date, tuple[ObligationSpec, ...]]] = {}
    for on, line in _written_lines(request):
        if line.obligations is None:
            continue
        specs = tuple(line.obligations)
        if written.setdefault(line.sku, {}).setdefault(on, specs) != specs:
            raise InvalidContract(f"sku {line.sku} is given two obligation lists on {on}")
    versions = list(given.templates.versions) if given else []
    rows = list(given.ssps.rows) if given else []
    for sku, by_date in written.items():
        dates = sorted(by_date)
        for on, until in zip(dates, [*dates[1:], None], strict=True):
            specs = by_date[on]
            templates = tuple(_template(spec) for spec in specs)
            versions.append(
                TemplateVersion(sku=sku, effective_from=on, effective_to=until, templates=templates)
            )
            rows.extend(
                _ssp(spec, sku=sku, currency=request.currency, on=on, until=until) for spec in specs
            )
    return catalogs_of(versions=versions, ssp_rows=rows)


def contract_lines(request: PreviewRequest) -> tuple[LineFacts, ...]:
    return tuple(
        LineFacts(
            line_id=line.line_id,
            sku=line.sku,
            quantity=line.quantity,
            unit_price_minor=minor(line.unit_price, request.currency),
        )
        for line in request.lines
    )


def _variable(spec: VariableSpec, currency: str) -> VariableConsideration:
    return VariableConsideration(
        variable_id=spec.variable_id,
        method=spec.method,
        outcomes=tuple(
            Outcome(minor(o.amount, currency), basis_points(o.probability)) for o in spec.outcomes
        ),
        constrained=spec.constrained,
        highly_probable_minor=minor(spec.highly_probable, currency),
        obligation_ids=tuple(spec.obligation_ids),
    )


def pricing_terms(request: PreviewRequest) -> PricingTerms:
    currency = request.currency
    evidence = request.discount_evidence
    return PricingTerms(
        discounts=tuple(
            Discount(d.discount_id, minor(d.amount, currency)) for d in request.discounts
        ),
        variable=tuple(_variable(v, currency) for v in request.variable_consideration),
        discount_evidence=None
        if evidence is None
        else DiscountEvidence(
            obligation_ids=tuple(evidence.obligation_ids),
            bundle_price_minor=minor(evidence.bundle_price, currency),
        ),
        returns=tuple(
            ReturnRight(
                line_id=r.line_id,
                expected_return_rate_bp=basis_points(r.expected_return_rate),
                unit_cost_minor=None if r.unit_cost is None else minor(r.unit_cost, currency),
            )
            for r in request.returns
        ),
    )


def allocation_policy(request: PreviewRequest) -> AllocationPolicy:
    return AllocationPolicy(
        clamp_to_ssp_range=request.policy.clamp_to_ssp_range,
        ssp_tolerance_bp=basis_points(request.policy.ssp_tolerance),
    )


@dataclass
class Counters:
    """Cumulative counts the preview keeps, since its facts are written as increments."""

    lines: dict[str, LineQuantities] = field(default_factory=dict)
    satisfied: dict[str, int] = field(default_factory=dict)


# A later fulfilment step implies the earlier ones: a delivery was shipped, an acceptance was
# delivered. Each row names the count a fact adds to and the counts it lifts to match.
IMPLIES: dict[str, tuple[str, ...]] = {
    "shipped": (),
    "delivered": ("shipped",),
    "accepted": ("delivered", "shipped"),
    "returned": (),
}


def _fulfilment(fact: LineFact, event_id: str, counters: Counters) -> RecordFulfilment:
    now = counters.lines.get(fact.line_id, LineQuantities(line_id=fact.line_id))
    raised = getattr(now, fact.type) + fact.quantity
    now = replace(now, **{fact.type: raised})
    for implied in IMPLIES[fact.type]:
        now = replace(now, **{implied: max(getattr(now, implied), raised)})
    counters.lines[fact.line_id] = now
    return RecordFulfilment(event_id=event_id, occurred_on=fact.on, lines=(now,))


def _modification(fact: ModificationFact, event_id: str, currency: str) -> ModifyContract:
    return ModifyContract(
        event_id=event_id,
        occurred_on=fact.on,
        lines=tuple(
            LineChange(
                line_id=line.line_id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price_minor=minor(line.unit_price, currency),
                term_months=line.term_months,
            )
            for line in fact.lines
        ),
        concession_minor=minor(fact.concession, currency),
        variable=None
        if fact.variable_consideration is None
        else tuple(_variable(v, currency) for v in fact.variable_consideration),
        progress_totals=tuple(
            (oid, minor(total, currency))
            for oid, total in sorted(fact.total_expected_costs.items())
        ),
        requested_treatment=fact.treatment,
        reason=fact.reason,
    )


def domain_fact(
    fact: FactSpec, *, event_id: str, currency: str, counters: Counters, quantity_of: dict[str, int]
) -> PreviewFact:
    """Convert one written fact into the engine's command, keeping cumulative counters."""
    if isinstance(fact, LineFact):
        return _fulfilment(fact, event_id, counters)
    if isinstance(fact, SatisfiedFact):
        done = counters.satisfied.get(fact.obligation_id, 0)
        units = quantity_of.get(fact.obligation_id, 0) - done if fact.units is None else fact.units
        counters.satisfied[fact.obligation_id] = done + units
        return SatisfyObligation(event_id, fact.on, fact.obligation_id, done + units)
    if isinstance(fact, CostsFact):
        return RecordProgress(
            event_id=event_id,
            occurred_on=fact.on,
            obligation_id=fact.obligation_id,
            done=minor(fact.incurred_to_date, currency),
            total=minor(fact.total_expected, currency),
        )
    if isinstance(fact, InvoiceFact):
        return IssueInvoice(event_id, fact.on, minor(fact.amount, currency))
    if isinstance(fact, CreditNoteFact):
        return IssueCreditNote(
            event_id, fact.on, minor(fact.amount, currency), fact.kind, tuple(fact.line_ids)
        )
    return _modification(fact, event_id, currency)
