"""A shipment's current status, derived from its whole scan history in the carrier's time order.

Scans arrive late, twice, out of order and from more than one provider. Instead of applying each
arrival to the current state (which makes the result depend on arrival order), the status is a
left fold over the history sorted by carrier scan time, with a total tie-break: any permutation or
duplication of the same scans gives the same status. The fold moves forward only; the statuses in
`ONLY_TO` may be left only for the ones listed, so a delivered parcel stays delivered unless the
return flow (return_to_sender, then returned) takes it back.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ordertrail.domain.shipments.root_causes import RootCause, root_cause_of
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason

S = ShipmentStatus

# Where a shipment may go from a status that ends (or nearly ends) its journey. Statuses not
# listed may be followed by any mapped status: the latest scan by carrier time wins.
ONLY_TO: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    S.DELIVERED: frozenset({S.RETURN_TO_SENDER, S.RETURNED}),
    S.RETURN_TO_SENDER: frozenset({S.RETURNED}),
    S.RETURNED: frozenset(),
    S.FAILURE: frozenset({S.RETURN_TO_SENDER, S.RETURNED}),
    # Cancelled and expired are the provider giving up on the label, not the parcel's fate: a
    # later physical outcome still counts.
    S.CANCELLED: frozenset({S.DELIVERED, S.RETURN_TO_SENDER, S.RETURNED, S.FAILURE}),
    S.EXPIRED: frozenset({S.DELIVERED, S.RETURN_TO_SENDER, S.RETURNED, S.FAILURE}),
}

# Tie-break between scans with the same carrier time: the one further along the journey last.
JOURNEY_ORDER: tuple[ShipmentStatus, ...] = (
    S.UNKNOWN,
    S.LABEL_CREATED,
    S.PRE_TRANSIT,
    S.PICKED_UP,
    S.IN_TRANSIT,
    S.EXCEPTION,
    S.OUT_FOR_DELIVERY,
    S.AVAILABLE_FOR_PICKUP,
    S.DELIVERY_ATTEMPTED,
    S.CANCELLED,
    S.EXPIRED,
    S.FAILURE,
    S.DELIVERED,
    S.RETURN_TO_SENDER,
    S.RETURNED,
)
_RANK = {status: rank for rank, status in enumerate(JOURNEY_ORDER)}

INITIAL_STATUS = S.LABEL_CREATED


@dataclass(frozen=True, slots=True)
class MappedScan:
    """A scan with its canonical reading, as kept in the history."""

    scan: CarrierScan
    status: ShipmentStatus
    reason: StatusReason

    def sort_key(self) -> tuple[datetime, int, str, str, str, str, str, str, str, str, str]:
        """Carrier time first, then every field, so no two distinct scans ever tie."""
        s = self.scan
        return (
            s.scanned_at,
            _RANK[self.status],
            s.provider,
            s.raw_code,
            s.raw_subcode or "",
            s.raw_text,
            s.location or "",
            s.signed_by or "",
            s.carrier,
            self.reason.value,
            "" if s.estimated_delivery_at is None else s.estimated_delivery_at.isoformat(),
        )


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the history leaves a shipment. `delivered` is the first delivered scan applied."""

    status: ShipmentStatus
    reason: StatusReason
    raw_code: str | None
    raw_text: str | None
    root_cause: RootCause | None
    last_scan_at: datetime | None
    estimated_delivery_at: datetime | None
    delivered: CarrierScan | None


START = Progress(
    status=INITIAL_STATUS,
    reason=StatusReason.NONE,
    raw_code=None,
    raw_text=None,
    root_cause=None,
    last_scan_at=None,
    estimated_delivery_at=None,
    delivered=None,
)


def may_move(*, current: ShipmentStatus, to: ShipmentStatus) -> bool:
    """Say whether a scan in status `to`, later than everything applied, moves the shipment."""
    if to is S.UNKNOWN:
        return False
    allowed = ONLY_TO.get(current)
    return allowed is None or to in allowed


def ordered(history: Iterable[MappedScan]) -> list[MappedScan]:
    """Sort and deduplicate a history: the one order every reader of it uses."""
    return sorted(set(history), key=MappedScan.sort_key)


def progress_of(history: Iterable[MappedScan], *, start: Progress = START) -> Progress:
    """Fold a history into the shipment's status; the same scans always give the same answer."""
    state = start
    for item in ordered(history):
        scan = item.scan
        estimate = scan.estimated_delivery_at or state.estimated_delivery_at
        last = (
            scan.scanned_at
            if state.last_scan_at is None
            else max(state.last_scan_at, scan.scanned_at)
        )
        if not may_move(current=state.status, to=item.status):
            state = _replace(state, last_scan_at=last, estimated_delivery_at=estimate)
            continue
        cause = root_cause_of(status=item.status, reason=item.reason)
        delivered = state.delivered
        if item.status is S.DELIVERED and delivered is None:
            delivered = scan
        state = Progress(
            status=item.status,
            reason=item.reason,
            raw_code=scan.raw_code,
            raw_text=scan.raw_text,
            root_cause=_cause(state.root_cause, cause),
            last_scan_at=last,
            estimated_delivery_at=estimate,
            delivered=delivered,
        )
    return state


def _cause(current: RootCause | None, new: RootCause | None) -> RootCause | None:
    """A problem scan sets the root cause, but a vague one never hides a known one."""
    if new is None or (new is RootCause.UNKNOWN and current is not None):
        return current
    return new


def _replace(
    state: Progress, *, last_scan_at: datetime, estimated_delivery_at: datetime | None
) -> Progress:
    return Progress(
        status=state.status,
        reason=state.reason,
        raw_code=state.raw_code,
        raw_text=state.raw_text,
        root_cause=state.root_cause,
        last_scan_at=last_scan_at,
        estimated_delivery_at=estimated_delivery_at,
        delivered=state.delivered,
    )
