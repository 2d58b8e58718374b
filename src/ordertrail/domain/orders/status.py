"""The canonical order lifecycle as data: statuses, their ASC 606 meaning, allowed transitions.

The status is never set directly. It is derived from the line quantities by `derive_status`, and
the derived change must then appear in `TRANSITIONS`: two independent statements of the lifecycle
that have to agree, so a bug in either is caught on the event that exposes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    BACKORDERED = "backordered"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERED = "delivered"
    COMPLETED = "completed"
    PARTIALLY_RETURNED = "partially_returned"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class ControlTransfer(StrEnum):
    """How much control of the promised goods (ASC 606-10-25-30) can have passed."""

    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class StatusMeaning:
    """What a status means to the warehouse and to the revenue accountant."""

    description: str
    control_transfer: ControlTransfer
    revenue_meaning: str
    recognition_blockers: str
    terminal: bool
    # Fulfilment progress: a late event may never lower it. The statuses before anything ships
    # share rank 0, because moving between them (a backorder, stock arriving) is not going back.
    rank: int


S = OrderStatus
C = ControlTransfer

LIFECYCLE: dict[OrderStatus, StatusMeaning] = {
    S.PENDING: StatusMeaning(
        description="Placed by the customer, not yet confirmed by the seller.",
        control_transfer=C.NONE,
        revenue_meaning=(
            "No contract yet: ASC 606-10-25-1 requires approval and commitment by both parties."
        ),
        recognition_blockers="Seller confirmation; any transfer of goods.",
        terminal=False,
        rank=0,
    ),
    S.CONFIRMED: StatusMeaning(
        description="Accepted by the seller; nothing shipped yet.",
        control_transfer=C.NONE,
        revenue_meaning="A contract exists (step 1); obligations identified, none satisfied.",
        recognition_blockers="Shipment (FOB shipping point) or delivery (FOB destination).",
        terminal=False,
        rank=0,
    ),
    S.BACKORDERED: StatusMeaning(
        description="Some quantity is waiting for stock; nothing shipped yet.",
        control_transfer=C.NONE,
        revenue_meaning="Contract exists; no obligation satisfied while goods are not available.",
        recognition_blockers="Stock allocation, then shipment or delivery.",
        terminal=False,
        rank=0,
    ),
    S.PARTIALLY_FULFILLED: StatusMeaning(
        description="Some quantity shipped, some still to ship.",
        control_transfer=C.PARTIAL,
        revenue_meaning=(
            "Under FOB shipping point, control of the shipped units has passed (606-10-25-30); "
            "under FOB destination, not until delivery."
        ),
        recognition_blockers="Delivery of shipped units under FOB destination; unshipped units.",
        terminal=False,
        rank=1,
    ),
    S.FULFILLED: StatusMeaning(
        description="Every active unit has shipped; none delivered yet.",
        control_transfer=C.PARTIAL,
        revenue_meaning=(
            "FOB shipping point: all goods transferred at shipment. FOB destination: in transit, "
            "still the seller's risk."
        ),
        recognition_blockers="Delivery under FOB destination.",
        terminal=False,
        rank=2,
    ),
    S.PARTIALLY_DELIVERED: StatusMeaning(
        description="Some units delivered; others in transit or unshipped.",
        control_transfer=C.PARTIAL,
        revenue_meaning="Delivered units' control has passed; recognize them pro rata by quantity.",
        recognition_blockers="Undelivered units; substantive acceptance clauses (606-10-55-86).",
        terminal=False,
        rank=3,
    ),
    S.DELIVERED: StatusMeaning(
        description="Every active unit delivered.",
        control_transfer=C.FULL,
        revenue_meaning=(
            "Physical possession and title have passed (606-10-25-30): goods obligations are "
            "satisfied unless customer acceptance is substantive."
        ),
        recognition_blockers="Customer acceptance where the contract makes it substantive.",
        terminal=False,
        rank=4,
    ),
    S.COMPLETED: StatusMeaning(
        description="Every active unit delivered and accepted by the customer.",
        control_transfer=C.FULL,
        revenue_meaning="Acceptance removes the last doubt about transfer (606-10-55-85).",
        recognition_blockers="None from the lifecycle.",
        terminal=False,
        rank=5,
    ),
    S.PARTIALLY_RETURNED: StatusMeaning(
        description="Some delivered units came back.",
        control_transfer=C.PARTIAL,
        revenue_meaning=(
            "Returned units reverse their revenue against the refund liability "
            "(606-10-55-22 to 29); the rest stands."
        ),
        recognition_blockers="None for kept units; returned units are reversed.",
        terminal=False,
        rank=6,
    ),
    S.RETURNED: StatusMeaning(
        description="Every active unit came back.",
        control_transfer=C.REVERSED,
        revenue_meaning="All revenue for the goods is reversed; a refund or credit note follows.",
        recognition_blockers="Nothing left to recognize.",
        terminal=True,
        rank=7,
    ),
    S.CANCELLED: StatusMeaning(
        description="Every unit cancelled before it shipped.",
        control_transfer=C.NONE,
        revenue_meaning="The contract is terminated (a modification, 606-10-25-13); no revenue.",
        recognition_blockers="Nothing to recognize.",
        terminal=True,
        rank=8,
    ),
}

# Hold and dispute flags block recognition in every status; they are not statuses themselves
# because they are orthogonal to where the goods are.
FLAG_BLOCKERS = "A hold or an open dispute blocks recognition in every status."

# Allowed status changes, each with the fact that causes it. A derived change missing here is
# refused (quarantined) rather than applied.
TRANSITIONS: dict[OrderStatus, dict[OrderStatus, str]] = {
    S.PENDING: {
        S.CONFIRMED: "seller confirms the order",
        S.BACKORDERED: "a line is backordered",
        S.PARTIALLY_FULFILLED: "part of the order ships",
        S.FULFILLED: "the whole order ships",
        S.CANCELLED: "the order is cancelled",
    },
    S.CONFIRMED: {
        S.BACKORDERED: "a line is backordered",
        S.PARTIALLY_FULFILLED: "part of the order ships",
        S.FULFILLED: "the whole order ships",
        S.CANCELLED: "the order is cancelled",
    },
    S.BACKORDERED: {
        S.PENDING: "stock arrives for an unconfirmed order",
        S.CONFIRMED: "stock arrives or the backordered quantity is amended away",
        S.PARTIALLY_FULFILLED: "part of the order ships",
        S.FULFILLED: "the whole order ships",
        S.CANCELLED: "the order is cancelled",
    },
    S.PARTIALLY_FULFILLED: {
        S.FULFILLED: "the rest ships, or the unshipped rest is cancelled or amended away",
        S.PARTIALLY_DELIVERED: "a shipment is delivered",
    },
    S.FULFILLED: {
        S.PARTIALLY_FULFILLED: "an amendment adds quantity to ship",
        S.PARTIALLY_DELIVERED: "a shipment is delivered",
        S.DELIVERED: "the last shipment is delivered",
    },
    S.PARTIALLY_DELIVERED: {
        S.DELIVERED: "the rest is delivered, or the undelivered rest is cancelled",
        S.COMPLETED: "the unshipped rest is cancelled after all delivered units were accepted",
        S.PARTIALLY_RETURNED: "delivered units are returned",
    },
    S.DELIVERED: {
        S.COMPLETED: "the customer accepts every unit",
        S.PARTIALLY_RETURNED: "some units are returned",
        S.RETURNED: "every unit is returned",
    },
    S.COMPLETED: {
        S.PARTIALLY_RETURNED: "some accepted units are returned",
        S.RETURNED: "every unit is returned",
    },
    S.PARTIALLY_RETURNED: {
        S.RETURNED: "the remaining units are returned or the undelivered rest cancelled",
    },
    S.RETURNED: {},
    S.CANCELLED: {},
}


@dataclass(frozen=True, slots=True)
class QuantityTotals:
    """Order-wide sums of the line quantities that the status is derived from."""

    active: int
    backordered: int
    shipped: int
    delivered: int
    accepted: int
    returned: int


def derive_status(*, totals: QuantityTotals, confirmed: bool) -> OrderStatus:
    """Return the status the quantities imply. The first matching rule wins; read top to bottom."""
    rules: tuple[tuple[bool, OrderStatus], ...] = (
        (totals.active == 0, S.CANCELLED),
        (totals.returned > 0 and totals.returned == totals.active, S.RETURNED),
        (totals.returned > 0, S.PARTIALLY_RETURNED),
        (totals.accepted == totals.active, S.COMPLETED),
        (totals.delivered == totals.active, S.DELIVERED),
        (totals.delivered > 0, S.PARTIALLY_DELIVERED),
        (totals.shipped == totals.active, S.FULFILLED),
        (totals.shipped > 0, S.PARTIALLY_FULFILLED),
        (totals.backordered > 0, S.BACKORDERED),
        (confirmed, S.CONFIRMED),
    )
    for matches, status in rules:
        if matches:
            return status
    return S.PENDING


def is_allowed(*, from_status: OrderStatus, to_status: OrderStatus) -> bool:
    """Say whether the lifecycle table allows moving between two statuses (staying always is)."""
    return from_status == to_status or to_status in TRANSITIONS[from_status]
