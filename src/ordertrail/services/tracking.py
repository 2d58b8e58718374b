"""Record carrier scans: map, deduplicate, fold into each shipment's status, book the delivery.

Every scan from a webhook or a poll comes through `record_scans`. In one transaction it appends
the new scans to the history (a unique scan key makes a repeat a no-op), re-derives each touched
shipment's status from its whole history in carrier time (domain/shipments/progress.py), and on
the first delivered scan ingests a `shipment.delivered` order event through the ordinary ingest
service, with an event id derived from the scan, so revenue hears of it through the pipeline and a
replay can never book it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ordertrail.domain.canonical import canonical_json, sha256_hex
from ordertrail.domain.shipments.mapping import MappingTable, map_scan
from ordertrail.domain.shipments.progress import INITIAL_STATUS, MappedScan, progress_of
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason
from ordertrail.services.tracking_delivery import ingest_delivery
from ordertrail.services.tracking_ports import (
    HISTORY_SCANS_MAX,
    ShipmentRecord,
    StoredScan,
    TrackingUnitOfWork,
    WebhookReceipt,
)

SCANS_PER_CALL_MAX = 1_000


@dataclass(frozen=True, slots=True)
class TrackingOutcome:
    accepted: int
    duplicates: int
    unmapped: int
    unknown_shipments: int
    delivered: tuple[str, ...]
    # The provider of each accepted scan no table knew, for the per-provider metric.
    unmapped_providers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """A webhook delivery's result: a body seen before is a duplicate and changes nothing."""

    duplicate: bool
    tracking: TrackingOutcome


NOTHING = TrackingOutcome(accepted=0, duplicates=0, unmapped=0, unknown_shipments=0, delivered=())


def scan_key(scan: CarrierScan) -> str:
    """The identity of a scan: the same scan reported twice has the same key.

    Every field is part of it, so which of two near-identical reports arrives first never
    decides what the history holds.
    """
    return sha256_hex(
        canonical_json(
            [
                scan.provider,
                scan.carrier,
                scan.tracking_number,
                scan.raw_code,
                scan.raw_subcode,
                scan.raw_text,
                scan.scanned_at.isoformat(),
                scan.location,
                scan.signed_by,
                None
                if scan.estimated_delivery_at is None
                else scan.estimated_delivery_at.isoformat(),
            ]
        )
    )


def delivery_event_id(scan: CarrierScan) -> str:
    """The `shipment.delivered` event id of a delivered scan: provider, tracking number, scan."""
    return f"dlv-{scan.provider}-{scan_key(scan)[:40]}"


def record_scans(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    scans: Sequence[CarrierScan],
    received_at: datetime,
    tables: Mapping[str, MappingTable],
    new_id: Callable[[], str],
) -> TrackingOutcome:
    """Record one batch of scans for a tenant in one transaction; return what it changed."""
    with uow:
        outcome = _record(
            uow=uow,
            tenant_id=tenant_id,
            scans=scans,
            received_at=received_at,
            tables=tables,
            new_id=new_id,
        )
        uow.commit()
    return outcome


def receive_webhook(
    *,
    uow: TrackingUnitOfWork,
    receipt: WebhookReceipt,
    scans: Sequence[CarrierScan],
    tables: Mapping[str, MappingTable],
    new_id: Callable[[], str],
) -> WebhookOutcome:
    """Record a verified webhook body's scans, unless the same body was recorded before."""
    with uow:
        if not uow.shipments.record_receipt(receipt=receipt):
            return WebhookOutcome(duplicate=True, tracking=replace(NOTHING, duplicates=len(scans)))
        outcome = _record(
            uow=uow,
            tenant_id=receipt.tenant_id,
            scans=scans,
            received_at=receipt.received_at,
            tables=tables,
            new_id=new_id,
        )
        uow.commit()
    return WebhookOutcome(duplicate=False, tracking=outcome)


def register_shipment(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    order_id: str,
    shipment_id: str,
    carrier: str,
    tracking_number: str,
    estimated_delivery_at: datetime | None,
    now: datetime,
    new_id: Callable[[], str],
) -> bool:
    """Start tracking a dispatched shipment, inside the caller's open unit of work.

    Scans that arrived before the shipment was known are already in the history; they are
    folded in at once, so a delivery reported before the dispatch milestone is still booked.
    """
    record = ShipmentRecord(
        tenant_id=tenant_id,
        shipment_id=shipment_id,
        order_id=order_id,
        carrier=carrier,
        tracking_number=tracking_number,
        status=INITIAL_STATUS.value,
        reason=StatusReason.NONE.value,
        created_at=now,
        estimated_delivery_at=estimated_delivery_at,
    )
    if not uow.shipments.register(shipment=record):
        return False
    if uow.shipments.history(tenant_id=tenant_id, tracking_number=tracking_number, limit=1):
        _advance(uow=uow, shipment=record, received_at=now, new_id=new_id)
    return True


def _record(
    *,
    uow: TrackingUnitOfWork,
    tenant_id: str,
    scans: Sequence[CarrierScan],
    received_at: datetime,
    tables: Mapping[str, MappingTable],
    new_id: Callable[[], str],
) -> TrackingOutcome:
    if len(scans) > SCANS_PER_CALL_MAX:
        raise ValueError(f"record at most {SCANS_PER_CALL_MAX} scans per call")
    rows: dict[str, StoredScan] = {}
    unmapped_keys: dict[str, str] = {}
    for scan in scans:
        mapped = map_scan(tables=tables, scan=scan)
        table = tables.get(scan.provider)
        row = _stored(
            scan,
            tenant_id=tenant_id,
            status=mapped.status,
            reason=mapped.reason,
            mapping_version=None if table is None else table.version,
            received_at=received_at,
        )
        rows.setdefault(row.scan_key, row)
        if not mapped.mapped:
            unmapped_keys[row.scan_key] = scan.provider
    added = uow.shipments.append_scans(scans=list(rows.values()))
    numbers = {rows[key].tracking_number for key in added}
    shipments = uow.shipments.find(tenant_id=tenant_id, tracking_numbers=numbers)
    delivered = [
        shipment.shipment_id
        for shipment in shipments
        if _advance(uow=uow, shipment=shipment, received_at=received_at, new_id=new_id)
    ]
    unmapped = tuple(provider for key, provider in unmapped_keys.items() if key in added)
    return TrackingOutcome(
        accepted=len(added),
        duplicates=len(scans) - len(added),
        unmapped=len(unmapped),
        unknown_shipments=len(numbers - {shipment.tracking_number for shipment in shipments}),
        delivered=tuple(delivered),
        unmapped_providers=unmapped,
    )


def _stored(
    scan: CarrierScan,
    *,
    tenant_id: str,
    status: ShipmentStatus,
    reason: StatusReason,
    mapping_version: int | None,
    received_at: datetime,
) -> StoredScan:
    return StoredScan(
        tenant_id=tenant_id,
        scan_key=scan_key(scan),
        provider=scan.provider,
        carrier=scan.carrier,
        tracking_number=scan.tracking_number,
        raw_code=scan.raw_code,
        raw_subcode=scan.raw_subcode,
        raw_text=scan.raw_text,
        scanned_at=scan.scanned_at,
        location=scan.location,
        signed_by=scan.signed_by,
        estimated_delivery_at=scan.estimated_delivery_at,
        status=status.value,
        reason=reason.value,
        mapping_version=mapping_version,
        received_at=received_at,
    )


def _carrier_scan(row: StoredScan) -> MappedScan:
    return MappedScan(
        scan=CarrierScan(
            provider=row.provider,
            tracking_number=row.tracking_number,
            carrier=row.carrier,
            raw_code=row.raw_code,
            raw_text=row.raw_text,
            scanned_at=row.scanned_at,
            location=row.location,
            signed_by=row.signed_by,
            estimated_delivery_at=row.estimated_delivery_at,
            raw_subcode=row.raw_subcode,
        ),
        status=ShipmentStatus(row.status),
        reason=StatusReason(row.reason),
    )


def _advance(
    *,
    uow: TrackingUnitOfWork,
    shipment: ShipmentRecord,
    received_at: datetime,
    new_id: Callable[[], str],
) -> bool:
    """Re-derive a shipment's state from its history; say whether its delivery was booked now."""
    history = [
        _carrier_scan(row)
        for row in uow.shipments.history(
            tenant_id=shipment.tenant_id,
            tracking_number=shipment.tracking_number,
            limit=HISTORY_SCANS_MAX,
        )
    ]
    progress = progress_of(history)
    latest = max(history, key=MappedScan.sort_key).scan if history else None
    updated = replace(
        shipment,
        provider=shipment.provider if latest is None else latest.provider,
        status=progress.status.value,
        reason=progress.reason.value,
        raw_code=progress.raw_code,
        raw_text=progress.raw_text,
        root_cause=None if progress.root_cause is None else progress.root_cause.value,
        last_scan_at=progress.last_scan_at,
        last_update_at=received_at,
        estimated_delivery_at=progress.estimated_delivery_at or shipment.estimated_delivery_at,
    )
    booked = False
    if progress.delivered is not None and shipment.delivery_event_id is None:
        event_id = delivery_event_id(progress.delivered)
        booked = ingest_delivery(
            uow=uow,
            shipment=shipment,
            scan=progress.delivered,
            event_id=event_id,
            received_at=received_at,
            new_id=new_id,
        )
        updated = replace(
            updated, delivered_at=progress.delivered.scanned_at, delivery_event_id=event_id
        )
    uow.shipments.save(shipment=updated)
    return booked
