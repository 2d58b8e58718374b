"""A shipment's status folds its history in carrier time: late, duplicate and reordered scans
never move it backwards, and any arrival order of the same scans gives the same answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ordertrail.domain.shipments.progress import MappedScan, ordered, progress_of
from ordertrail.domain.shipments.root_causes import RootCause
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason

S = ShipmentStatus
T0 = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def scan(
    status: ShipmentStatus,
    hours: float,
    *,
    reason: StatusReason = StatusReason.NONE,
    code: str | None = None,
    signed_by: str | None = None,
    eta_hours: int | None = None,
) -> MappedScan:
    return MappedScan(
        scan=CarrierScan(
            provider="aftership",
            tracking_number="TN1",
            carrier="usps",
            raw_code=code or status.value,
            raw_text=f"{status.value} scan",
            scanned_at=T0 + timedelta(hours=hours),
            signed_by=signed_by,
            estimated_delivery_at=None if eta_hours is None else T0 + timedelta(hours=eta_hours),
        ),
        status=status,
        reason=reason,
    )


def test_scans_in_order_end_in_the_latest_status():
    progress = progress_of(
        [scan(S.PICKED_UP, 0), scan(S.IN_TRANSIT, 5), scan(S.OUT_FOR_DELIVERY, 9)]
    )
    assert progress.status is S.OUT_FOR_DELIVERY
    assert progress.last_scan_at == T0 + timedelta(hours=9)


def test_a_late_in_transit_scan_after_delivery_leaves_it_delivered():
    delivered = scan(S.DELIVERED, 10, signed_by="J. Doe")
    progress = progress_of([scan(S.IN_TRANSIT, 5), delivered, scan(S.IN_TRANSIT, 12)])
    assert progress.status is S.DELIVERED
    assert progress.delivered == delivered.scan
    # The later scan still counts as carrier activity.
    assert progress.last_scan_at == T0 + timedelta(hours=12)


def test_out_of_order_arrival_gives_the_carrier_time_order():
    progress = progress_of(
        [scan(S.OUT_FOR_DELIVERY, 9), scan(S.PICKED_UP, 0), scan(S.IN_TRANSIT, 5)]
    )
    assert progress.status is S.OUT_FOR_DELIVERY


def test_a_delivered_shipment_leaves_delivered_only_through_the_return_flow():
    history = [scan(S.DELIVERED, 10), scan(S.EXCEPTION, 11, reason=StatusReason.DAMAGED)]
    assert progress_of(history).status is S.DELIVERED
    returning = [*history, scan(S.RETURN_TO_SENDER, 20, reason=StatusReason.REFUSED)]
    assert progress_of(returning).status is S.RETURN_TO_SENDER
    back = [*returning, scan(S.IN_TRANSIT, 25), scan(S.RETURNED, 30)]
    progress = progress_of(back)
    assert progress.status is S.RETURNED
    assert progress.root_cause is RootCause.CUSTOMER


def test_an_unknown_scan_never_moves_the_shipment():
    progress = progress_of([scan(S.IN_TRANSIT, 5), scan(S.UNKNOWN, 8, code="Teleported")])
    assert progress.status is S.IN_TRANSIT
    assert progress.raw_code == "in_transit"


def test_an_exception_sets_the_root_cause_and_a_later_scan_keeps_it():
    progress = progress_of(
        [scan(S.EXCEPTION, 5, reason=StatusReason.WEATHER), scan(S.IN_TRANSIT, 8)]
    )
    assert progress.status is S.IN_TRANSIT
    assert progress.root_cause is RootCause.EXTERNAL


def test_two_scans_at_the_same_time_order_by_how_far_along_they_are():
    assert progress_of([scan(S.DELIVERED, 5), scan(S.OUT_FOR_DELIVERY, 5)]).status is S.DELIVERED


STATUSES = st.sampled_from(list(S))
SCANS = st.lists(
    st.builds(
        scan,
        STATUSES,
        st.integers(min_value=0, max_value=48),
        reason=st.sampled_from(list(StatusReason)),
        signed_by=st.none() | st.just("J. Doe"),
        eta_hours=st.none() | st.integers(min_value=40, max_value=60),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=500, deadline=None)
@given(history=SCANS, data=st.data())
def test_any_permutation_or_duplication_of_the_scans_gives_the_same_status_and_history(
    history: list[MappedScan], data: st.DataObject
):
    arrival = data.draw(st.permutations(history))
    repeats = data.draw(st.lists(st.sampled_from(history), max_size=6))
    replayed = [*arrival, *repeats]
    assert progress_of(replayed) == progress_of(history)
    assert ordered(replayed) == ordered(history)
