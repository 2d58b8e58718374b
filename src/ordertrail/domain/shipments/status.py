"""The canonical shipment status every provider's codes are mapped to, and why a shipment is stuck.

Six providers (and the carriers behind them) each speak their own status vocabulary. Ordertrail
keeps the provider's raw code and text beside one canonical status, so revenue, monitoring and the
reports reason about one small set of words, while an auditor can still see what the carrier said.
"""

from __future__ import annotations

from enum import StrEnum


class ShipmentStatus(StrEnum):
    LABEL_CREATED = "label_created"
    PRE_TRANSIT = "pre_transit"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    EXCEPTION = "exception"
    DELIVERED = "delivered"
    RETURN_TO_SENDER = "return_to_sender"
    RETURNED = "returned"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


# Statuses after which the parcel's journey is over; only the return flow may still move a
# delivered (or failed, cancelled, expired) shipment, and nothing moves a returned one.
TERMINAL_STATUSES: frozenset[ShipmentStatus] = frozenset(
    {
        ShipmentStatus.DELIVERED,
        ShipmentStatus.RETURNED,
        ShipmentStatus.FAILURE,
        ShipmentStatus.CANCELLED,
        ShipmentStatus.EXPIRED,
    }
)


class StatusReason(StrEnum):
    """Why a shipment is in an exception, failure or return status; `none` when nothing is wrong."""

    NONE = "none"
    DAMAGED = "damaged"
    ADDRESS_PROBLEM = "address_problem"
    REFUSED = "refused"
    CUSTOMS = "customs"
    WEATHER = "weather"
    RECIPIENT_UNAVAILABLE = "recipient_unavailable"
    LOST = "lost"
    DESTROYED = "destroyed"
    DELAYED = "delayed"
    HELD_AT_FACILITY = "held_at_facility"
    OTHER = "other"
