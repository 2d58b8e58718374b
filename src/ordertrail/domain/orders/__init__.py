"""Orders: the canonical lifecycle, versioned event schemas and the order aggregate."""

from ordertrail.domain.orders.errors import (
    EventRejected,
    FieldError,
    IllegalTransition,
    InvariantViolation,
    SchemaRejected,
)
from ordertrail.domain.orders.events import CURRENT_VERSION, SCHEMAS, OrderEvent
from ordertrail.domain.orders.order import Order
from ordertrail.domain.orders.parsing import parse_event
from ordertrail.domain.orders.parts import Change, Line, Shipment
from ordertrail.domain.orders.snapshot import order_from_state, order_to_state
from ordertrail.domain.orders.status import LIFECYCLE, TRANSITIONS, OrderStatus

__all__ = [
    "CURRENT_VERSION",
    "LIFECYCLE",
    "SCHEMAS",
    "TRANSITIONS",
    "Change",
    "EventRejected",
    "FieldError",
    "IllegalTransition",
    "InvariantViolation",
    "Line",
    "Order",
    "OrderEvent",
    "OrderStatus",
    "SchemaRejected",
    "Shipment",
    "order_from_state",
    "order_to_state",
    "parse_event",
]
