"""Versioned inbound event schemas: the envelope, one payload model per type and version, upcasters.

A stored event keeps the schema version it arrived with. Reading it upcasts the payload, one
registered step at a time, to the current version, so history is never rewritten and old
producers keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ordertrail.domain.money import minor_units_from_decimal

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$"
SOURCE_PATTERN = r"^[a-z][a-z0-9-]{0,31}(:[a-z0-9][a-z0-9._-]{0,63})?$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
LINES_MAX = 500

Identifier = Annotated[StrictStr, Field(pattern=IDENTIFIER_PATTERN)]
Quantity = Annotated[StrictInt, Field(gt=0, le=10_000_000)]
AmountMinor = Annotated[StrictInt, Field(ge=-(10**15), le=10**15)]
UnitPriceMinor = Annotated[StrictInt, Field(ge=0, le=10**13)]
Currency = Annotated[StrictStr, Field(pattern=CURRENCY_PATTERN)]
ShortText = Annotated[StrictStr, Field(min_length=1, max_length=500)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineQuantity(Model):
    line_id: Identifier
    quantity: Quantity


# ---- order.placed ---------------------------------------------------------------------------


class PlacedLineV1(Model):
    line_id: Identifier
    sku: Identifier
    quantity: Quantity
    unit_price: Annotated[StrictStr, Field(pattern=r"^-?\d{1,13}(\.\d{1,6})?$")] = Field(
        description="Decimal string in the order currency, e.g. '12.50'. Replaced in v2."
    )


class OrderPlacedV1(Model):
    """First version: unit prices as decimal strings (exports of older ERPs)."""

    customer_id: Identifier
    currency: Currency
    lines: Annotated[list[PlacedLineV1], Field(min_length=1, max_length=LINES_MAX)]


class PlacedLine(Model):
    line_id: Identifier
    sku: Identifier
    quantity: Quantity
    unit_price_minor: UnitPriceMinor
    description: ShortText | None = None


ShippingTerms = Literal["fob_shipping_point", "fob_destination"]


class OrderPlacedV2(Model):
    """Current version: unit prices in integer minor units of the order currency."""

    customer_id: Identifier
    currency: Currency
    lines: Annotated[list[PlacedLine], Field(min_length=1, max_length=LINES_MAX)]
    shipping_terms: ShippingTerms = "fob_destination"
    package_id: Identifier | None = Field(
        default=None, description="Orders sharing a package id were negotiated as one package."
    )


def upcast_order_placed_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: convert decimal unit prices to exact minor units of the order currency."""
    currency = payload["currency"]
    return {
        "customer_id": payload["customer_id"],
        "currency": currency,
        "lines": [
            {
                "line_id": line["line_id"],
                "sku": line["sku"],
                "quantity": line["quantity"],
                "unit_price_minor": minor_units_from_decimal(
                    amount=line["unit_price"], currency=currency
                ),
            }
            for line in payload["lines"]
        ],
    }


# ---- the other lifecycle events -------------------------------------------------------------


class OrderConfirmed(Model):
    confirmed_by: ShortText | None = None


class AmendedLine(Model):
    line_id: Identifier
    sku: Identifier | None = Field(default=None, description="Required when adding a new line.")
    quantity: Quantity
    unit_price_minor: UnitPriceMinor | None = Field(
        default=None, description="New unit price; required when adding a new line."
    )


class OrderAmended(Model):
    reason: ShortText
    lines: Annotated[list[AmendedLine], Field(min_length=1, max_length=LINES_MAX)]


class OrderCancelled(Model):
    reason: ShortText
    lines: Annotated[list[LineQuantity], Field(max_length=LINES_MAX)] | None = Field(
        default=None, description="Quantities to cancel; omitted means every unshipped unit."
    )


class LineAllocated(Model):
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=LINES_MAX)]
    warehouse_id: Identifier | None = None


class LineBackordered(Model):
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=LINES_MAX)]
    expected_at: AwareDatetime | None = None


class ShipmentDispatched(Model):
    shipment_id: Identifier
    carrier: Identifier
    tracking_number: Identifier
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=LINES_MAX)]
    service_level: ShortText | None = None
    estimated_delivery_at: AwareDatetime | None = None


class ProofOfDelivery(Model):
    signed_by: ShortText | None = None
    delivered_at: AwareDatetime | None = None
    location: ShortText | None = None


class ShipmentDelivered(Model):
    shipment_id: Identifier
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=LINES_MAX)] | None = Field(
        default=None, description="Delivered quantities; omitted means the whole shipment."
    )
    proof_of_delivery: ProofOfDelivery | None = None


class DeliveryAccepted(Model):
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=LINES_MAX)] | None = Field(
        default=None, description="Accepted quantities; omitted means every delivered unit."
    )
    accepted_by: ShortText | None = None


class ReturnReceived(Model):
    return_id: Identifier
    lines: Annotated[list[LineQuantity], Field(min_length=1, max_length=LINES_MAX)]
    reason: ShortText | None = None
    condition: Literal["resellable", "damaged", "destroyed", "unknown"] = "unknown"


class BilledLine(Model):
    line_id: Identifier
    quantity: Quantity
    amount_minor: AmountMinor


class InvoiceIssued(Model):
    invoice_id: Identifier
    amount_minor: Annotated[StrictInt, Field(ge=0, le=10**15)]
    currency: Currency
    lines: Annotated[list[BilledLine], Field(max_length=LINES_MAX)] | None = None
    due_at: AwareDatetime | None = None


class CreditNoteIssued(Model):
    credit_note_id: Identifier
    amount_minor: Annotated[StrictInt, Field(gt=0, le=10**15)]
    currency: Currency
    reason: ShortText
    invoice_id: Identifier | None = None
    lines: Annotated[list[BilledLine], Field(max_length=LINES_MAX)] | None = None


class HoldPlaced(Model):
    hold_id: Identifier
    reason_code: Identifier
    note: ShortText | None = None


class HoldReleased(Model):
    hold_id: Identifier
    note: ShortText | None = None


class DisputeOpened(Model):
    dispute_id: Identifier
    reason_code: Identifier
    lines: Annotated[list[Identifier], Field(max_length=LINES_MAX)] | None = None


class DisputeClosed(Model):
    dispute_id: Identifier
    outcome: Literal["upheld", "rejected", "withdrawn"]


# ---- registry ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventSchema:
    event_type: str
    version: int
    model: type[Model]
    summary: str


def _schemas(*rows: tuple[str, int, type[Model], str]) -> dict[tuple[str, int], EventSchema]:
    return {(t, v): EventSchema(event_type=t, version=v, model=m, summary=s) for t, v, m, s in rows}


SCHEMAS: dict[tuple[str, int], EventSchema] = _schemas(
    ("order.placed", 1, OrderPlacedV1, "A customer placed an order (decimal prices; superseded)."),
    ("order.placed", 2, OrderPlacedV2, "A customer placed an order."),
    ("order.confirmed", 1, OrderConfirmed, "The seller confirmed the order."),
    ("order.amended", 1, OrderAmended, "Quantities or prices changed, or lines were added."),
    ("order.cancelled", 1, OrderCancelled, "Unshipped units were cancelled."),
    ("line.allocated", 1, LineAllocated, "Stock was reserved for lines."),
    ("line.backordered", 1, LineBackordered, "Lines are waiting for stock."),
    ("shipment.dispatched", 1, ShipmentDispatched, "A parcel left with a carrier."),
    ("shipment.delivered", 1, ShipmentDelivered, "A carrier delivered a shipment."),
    ("delivery.accepted", 1, DeliveryAccepted, "The customer accepted delivered goods."),
    ("return.received", 1, ReturnReceived, "Returned goods arrived back."),
    ("invoice.issued", 1, InvoiceIssued, "Billing issued an invoice."),
    ("credit_note.issued", 1, CreditNoteIssued, "Billing issued a credit note."),
    ("hold.placed", 1, HoldPlaced, "Recognition on the order is put on hold."),
    ("hold.released", 1, HoldReleased, "A hold was released."),
    ("dispute.opened", 1, DisputeOpened, "The customer disputes the order or some lines."),
    ("dispute.closed", 1, DisputeClosed, "A dispute was resolved."),
)

CURRENT_VERSION: dict[str, int] = {}
for _type, _version in sorted(SCHEMAS):
    CURRENT_VERSION[_type] = max(CURRENT_VERSION.get(_type, 0), _version)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (type, from_version) -> function producing the payload of from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("order.placed", 1): upcast_order_placed_v1,
}


def _check_upcaster_chain() -> None:
    for event_type, version in SCHEMAS:
        for step in range(version, CURRENT_VERSION[event_type]):
            if (event_type, step) not in UPCASTERS:
                raise RuntimeError(f"no upcaster from {event_type} v{step} to v{step + 1}")


_check_upcaster_chain()


class Envelope(Model):
    """The inbound envelope every source sends, whatever the transport."""

    event_id: Identifier = Field(description="Client-generated; the idempotency key per tenant.")
    type: Annotated[StrictStr, Field(max_length=64)]
    schema_version: Annotated[StrictInt, Field(ge=1, le=1000)]
    tenant_id: Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    source: Annotated[StrictStr, Field(pattern=SOURCE_PATTERN)] = Field(
        description="The sending system: oms, wms, billing, service-desk, carrier:ups, ..."
    )
    occurred_at: AwareDatetime
    order_id: Identifier
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A validated, upcast event, ready for the order aggregate."""

    event_id: str
    type: str
    schema_version: int
    tenant_id: str
    source: str
    occurred_at: datetime
    order_id: str
    payload: Model
