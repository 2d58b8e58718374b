"""Helpers for revenue tests: a catalog, events for one order, and the pipeline pumped dry."""

from __future__ import annotations

from datetime import date
from typing import Any

from ordertrail.bootstrap import Ordertrail
from ordertrail.domain.revenue import ObligationTemplate, SspRow, TemplateVersion
from ordertrail.services.relay import relay_round
from tests.builders import envelope
from tests.conftest import NOW
from tests.pipeline.support import consume, run

TENANT = "acme"
FROM = date(2026, 1, 1)


def catalog_rows() -> list[TemplateVersion | SspRow]:
    """WIDGET: goods at control transfer; SUPPORT: 12 months of ratable service."""
    return [
        TemplateVersion(
            sku="WIDGET",
            effective_from=FROM,
            templates=(
                ObligationTemplate(
                    component="unit",
                    nature="goods",
                    timing="point_in_time",
                    trigger="control_transfer",
                    returnable=True,
                ),
            ),
        ),
        TemplateVersion(
            sku="SUPPORT",
            effective_from=FROM,
            templates=(
                ObligationTemplate(
                    component="support",
                    nature="service",
                    timing="over_time",
                    method="ratable_monthly_equal",
                    term_months=12,
                ),
            ),
        ),
        SspRow(
            sku="WIDGET", component="unit", currency="USD", effective_from=FROM, unit_ssp_minor=1500
        ),
        SspRow(
            sku="SUPPORT",
            component="support",
            currency="USD",
            effective_from=FROM,
            unit_ssp_minor=12000,
        ),
    ]


def load_catalog(app: Ordertrail, rows: list[TemplateVersion | SspRow] | None = None) -> None:
    with app.uow_factory() as uow:
        for body in rows if rows is not None else catalog_rows():
            uow.catalog.add(tenant_id=TENANT, body=body, created_at=NOW, created_by="test")  # type: ignore[attr-defined]
        uow.commit()


def order_events(order_id: str = "SO-1") -> list[dict[str, Any]]:
    lines = [
        {"line_id": "1", "sku": "WIDGET", "quantity": 2, "unit_price_minor": 1500},
        {"line_id": "2", "sku": "SUPPORT", "quantity": 1, "unit_price_minor": 12000},
    ]
    shipping = {"customer_id": "CUST-1", "currency": "USD", "shipping_terms": "fob_shipping_point"}
    return [
        envelope("order.placed", {**shipping, "lines": lines}, order_id=order_id),
        envelope("order.confirmed", {}, order_id=order_id, minutes=1),
        envelope(
            "shipment.dispatched",
            {
                "shipment_id": f"{order_id}-S1",
                "carrier": "ups",
                "tracking_number": "1Z1",
                "lines": [{"line_id": "1", "quantity": 2}],
            },
            order_id=order_id,
            minutes=2,
            source="wms",
        ),
        envelope(
            "invoice.issued",
            {"invoice_id": f"{order_id}-I1", "amount_minor": 15000, "currency": "USD"},
            order_id=order_id,
            minutes=3,
            source="billing",
        ),
    ]


def pump(app: Ordertrail, *, rounds: int = 20) -> None:
    """Relay the outbox and run the critical lane until nothing moves."""
    for _ in range(rounds):
        published = run(
            relay_round(
                outbox=app.pipeline.outbox,
                publisher=app.pipeline.broker,
                config=app.pipeline.relay,
                clock=app.clock,
            )
        )
        report = consume(app)
        consume(app, lane="bulk")
        if not any(published.values()) and report.received == 0:
            return
