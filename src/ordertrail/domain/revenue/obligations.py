"""Step 2: performance obligations from contract lines through the template catalog.

Each line becomes one obligation per template its SKU carries, in template order, so a line of
"server with installation and a year of support" yields three obligations. Standalone selling
prices are read as of contract inception (ASC 606-10-32-43: later SSP changes do not
reallocate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ordertrail.domain.ledger import add_months
from ordertrail.domain.revenue.catalog import (
    Catalogs,
    Method,
    Nature,
    ObligationTemplate,
    ServiceStart,
    SspRow,
    Timing,
    Trigger,
)
from ordertrail.domain.revenue.contracts import LineFacts
from ordertrail.domain.revenue.errors import InvalidContract

# Shipping terms decide when control of goods passes (ASC 606-10-25-30, IFRS 15.38): at
# shipment under FOB shipping point, at delivery under FOB destination or DAP.
SHIPPING_TERMS_TRIGGER: dict[str, Trigger] = {
    "fob_shipping_point": "shipment",
    "fob_destination": "delivery",
    "dap": "delivery",
}
OBLIGATIONS_MAX = 20_000


@dataclass(frozen=True, slots=True)
class Obligation:
    """A distinct promise in a contract, with everything needed to price and satisfy it."""

    obligation_id: str
    line_id: str
    sku: str
    component: str
    nature: Nature
    timing: Timing
    trigger: Trigger | None
    method: Method | None
    quantity: int
    unit_price_minor: int
    ssp_unit_minor: int | None
    ssp_low_minor: int | None
    ssp_high_minor: int | None
    residual_allowed: bool
    revenue_account: str
    term_months: int | None
    service_starts: ServiceStart
    service_start: date | None
    service_end: date | None
    returnable: bool
    integrated: bool
    single_component_line: bool
    # Set for the remainder of a service after a prospective modification: the SSP of what is
    # left of the term, not of a whole term.
    ssp_total_override_minor: int | None = None

    @property
    def ssp_total_minor(self) -> int | None:
        if self.ssp_total_override_minor is not None:
            return self.ssp_total_override_minor
        return None if self.ssp_unit_minor is None else self.ssp_unit_minor * self.quantity


def resolved_trigger(template: ObligationTemplate, shipping_terms: str) -> Trigger | None:
    """Return the fact that satisfies a template's promise under the contract's shipping terms."""
    if template.trigger != "control_transfer":
        return template.trigger
    try:
        return SHIPPING_TERMS_TRIGGER[shipping_terms]
    except KeyError:
        raise InvalidContract(
            f"shipping terms {shipping_terms!r} are not one of {sorted(SHIPPING_TERMS_TRIGGER)}"
        ) from None


def obligation_from(
    *,
    line: LineFacts,
    template: ObligationTemplate,
    ssp: SspRow,
    shipping_terms: str,
    starts_on: date,
    single_component_line: bool,
    suffix: str = "",
) -> Obligation:
    """Build one obligation from a line, one of its templates and that component's SSP."""
    # Only services have a term; goods and point-in-time promises carry no service dates.
    timed = template.timing == "over_time" and template.term_months is not None
    start = starts_on if timed and template.service_starts == "inception" else None
    end = None
    if start is not None and template.term_months is not None:
        end = add_months(start, template.term_months)
    return Obligation(
        obligation_id=f"{line.line_id}/{template.component}{suffix}",
        line_id=line.line_id,
        sku=line.sku,
        component=template.component,
        nature=template.nature,
        timing=template.timing,
        trigger=resolved_trigger(template, shipping_terms),
        method=template.method,
        quantity=line.quantity,
        unit_price_minor=line.unit_price_minor,
        ssp_unit_minor=ssp.unit_ssp_minor,
        ssp_low_minor=ssp.low_minor,
        ssp_high_minor=ssp.high_minor,
        residual_allowed=ssp.residual_allowed,
        revenue_account=template.account,
        term_months=template.term_months,
        service_starts=template.service_starts,
        service_start=start,
        service_end=end,
        returnable=template.returnable,
        integrated=template.integrated,
        single_component_line=single_component_line,
    )


def identify_obligations(
    *,
    lines: Sequence[LineFacts],
    currency: str,
    shipping_terms: str,
    priced_on: date,
    catalogs: Catalogs,
) -> tuple[Obligation, ...]:
    """Turn lines into obligations, in line order then template order (the tie-break order)."""
    obligations: list[Obligation] = []
    for line in lines:
        templates = catalogs.templates.templates_for(sku=line.sku, on=priced_on)
        for template in templates:
            ssp = catalogs.ssps.ssp_for(
                sku=line.sku, component=template.component, currency=currency, on=priced_on
            )
            obligations.append(
                obligation_from(
                    line=line,
                    template=template,
                    ssp=ssp,
                    shipping_terms=shipping_terms,
                    starts_on=priced_on,
                    single_component_line=len(templates) == 1,
                )
            )
        if len(obligations) > OBLIGATIONS_MAX:
            raise InvalidContract(f"a contract holds at most {OBLIGATIONS_MAX} obligations")
    return tuple(obligations)
