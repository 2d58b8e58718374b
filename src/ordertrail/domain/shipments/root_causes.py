"""Who or what caused a shipment problem, derived from the canonical reason, for the Pareto report.

A reason says what went wrong at the parcel (refused, damaged); a root cause says whose process has
to change (the customer's, the carrier's, ours). The derivation is a table so a reader can check
every reason's owner in one glance, and a reason added without an owner fails the unit tests.
"""

from __future__ import annotations

from enum import StrEnum

from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason


class RootCause(StrEnum):
    CARRIER = "carrier"
    CUSTOMER = "customer"
    WAREHOUSE = "warehouse"
    SYSTEM = "system"
    DATA = "data"
    EXTERNAL = "external"  # weather, customs
    UNKNOWN = "unknown"


R = StatusReason

ROOT_CAUSE_OF_REASON: dict[StatusReason, RootCause] = {
    R.NONE: RootCause.UNKNOWN,
    R.DAMAGED: RootCause.CARRIER,
    # An undeliverable address is bad order data: the fix is address validation at checkout.
    R.ADDRESS_PROBLEM: RootCause.DATA,
    R.REFUSED: RootCause.CUSTOMER,
    R.CUSTOMS: RootCause.EXTERNAL,
    R.WEATHER: RootCause.EXTERNAL,
    R.RECIPIENT_UNAVAILABLE: RootCause.CUSTOMER,
    R.LOST: RootCause.CARRIER,
    R.DESTROYED: RootCause.CARRIER,
    R.DELAYED: RootCause.CARRIER,
    R.HELD_AT_FACILITY: RootCause.CARRIER,
    R.OTHER: RootCause.UNKNOWN,
}

# Scans in these statuses say something went wrong, so they set the shipment's root cause.
PROBLEM_STATUSES: frozenset[ShipmentStatus] = frozenset(
    {
        ShipmentStatus.EXCEPTION,
        ShipmentStatus.DELIVERY_ATTEMPTED,
        ShipmentStatus.FAILURE,
        ShipmentStatus.RETURN_TO_SENDER,
        ShipmentStatus.RETURNED,
    }
)


def root_cause_of(*, status: ShipmentStatus, reason: StatusReason) -> RootCause | None:
    """Return the root cause a scan sets on its shipment; None when the scan reports no problem."""
    if status not in PROBLEM_STATUSES:
        return None
    return ROOT_CAUSE_OF_REASON[reason]
