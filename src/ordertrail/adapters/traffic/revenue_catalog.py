"""The demo's revenue catalog: an obligation template and SSPs for every product the traffic sells.

Most products are goods whose control passes per the order's shipping terms. A few carry more
than one promise, as real catalogs do: the standing desk is installed (accepted by the customer),
the router comes with a year of support from the order, the UPS with a year of service-type
warranty from delivery. Each component's SSP is a share of the product's shelf price in the
order's currency, so an order at shelf price allocates exactly its price.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ordertrail.adapters.traffic.catalog import CURRENCIES, PRODUCTS, price_in
from ordertrail.domain.revenue import ObligationTemplate, SspRow, TemplateVersion

GOODS = ObligationTemplate(
    component="unit", nature="goods", timing="point_in_time", trigger="control_transfer"
)
INSTALLATION = ObligationTemplate(
    component="installation", nature="installation", timing="point_in_time", trigger="acceptance"
)
SUPPORT_12_MONTHS = ObligationTemplate(
    component="support",
    nature="service",
    timing="over_time",
    method="ratable_monthly_equal",
    term_months=12,
)
WARRANTY_12_MONTHS = ObligationTemplate(
    component="warranty",
    nature="warranty_service",
    timing="over_time",
    method="ratable_daily",
    term_months=12,
    service_starts="delivery",
)

# sku -> (template, percent of the shelf price that is its SSP); the percents sum to 100.
# Products not listed are plain goods.
BUNDLES: dict[str, tuple[tuple[ObligationTemplate, int], ...]] = {
    "DSK-STAND-L": ((GOODS, 85), (INSTALLATION, 15)),
    "RTR-WIFI7": ((GOODS, 80), (SUPPORT_12_MONTHS, 20)),
    "UPS-1500VA": ((GOODS, 90), (WARRANTY_12_MONTHS, 10)),
    "SCN-DOC-20": ((GOODS, 75), (SUPPORT_12_MONTHS, 25)),
}


def _shares(price_minor: int, percents: list[int]) -> list[int]:
    # Integer shares that add up to the price: the last component takes what rounding leaves.
    parts = [price_minor * p // 100 for p in percents[:-1]]
    return [*parts, price_minor - sum(parts)]


def demo_catalog(*, effective_from: date) -> list[TemplateVersion | SspRow]:
    """Template versions and SSP rows for every product and currency, effective from a date."""
    rows: list[TemplateVersion | SspRow] = []
    for sku, _description, usd_cents in PRODUCTS:
        bundle = BUNDLES.get(sku, ((GOODS, 100),))
        rows.append(
            TemplateVersion(
                sku=sku,
                effective_from=effective_from,
                templates=tuple(template for template, _ in bundle),
            )
        )
        for currency, _share, rate in CURRENCIES:
            price = price_in(usd_cents=usd_cents, currency=currency, rate=rate)
            shares = _shares(price, [percent for _, percent in bundle])
            for (template, _), ssp in zip(bundle, shares, strict=True):
                rows.append(
                    SspRow(
                        sku=sku,
                        component=template.component,
                        currency=currency,
                        effective_from=effective_from,
                        unit_ssp_minor=ssp,
                    )
                )
    return rows


def catalog_summary() -> dict[str, Any]:
    """How many products carry which promises: what the demo says it seeded."""
    return {
        "products": len(PRODUCTS),
        "bundles": {sku: [t.component for t, _ in bundle] for sku, bundle in BUNDLES.items()},
    }
