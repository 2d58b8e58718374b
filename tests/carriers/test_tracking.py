"""record_scans on every storage implementation: history, status, duplicates, the delivery fact."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, insert, update
from sqlalchemy.exc import DBAPIError

from ordertrail.adapters.carriers.webhooks import PARSERS
from ordertrail.adapters.db import tables
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services import tracking
from ordertrail.services.tracking import delivery_event_id
from ordertrail.services.tracking_ports import StoredScan, WebhookEndpoint, WebhookReceipt
from tests.carriers.conftest import TABLES, Tracking
from tests.carriers.samples import fixture
from tests.conftest import NOW

TN = "9400111899223197428490"


def aftership_scans() -> list[CarrierScan]:
    return PARSERS["aftership"](fixture("aftership_delivered.json"))


def test_a_delivered_webhook_moves_the_shipment_and_books_one_delivery_event(trk: Tracking):
    trk.ship(tracking_number=TN)
    scans = aftership_scans()
    outcome = trk.record(scans)
    assert (outcome.accepted, outcome.duplicates, outcome.unmapped) == (3, 0, 0)
    assert outcome.delivered == ("SHP-1",)
    shipment = trk.shipment()
    assert (shipment.status, shipment.raw_code, shipment.provider) == (
        "delivered",
        "Delivered",
        "aftership",
    )
    assert shipment.delivered_at == scans[-1].scanned_at
    assert shipment.last_scan_at == scans[-1].scanned_at
    assert shipment.last_update_at == NOW
    event_id = delivery_event_id(scans[-1])
    assert shipment.delivery_event_id == event_id
    stored = trk.event(event_id)
    assert stored is not None
    assert stored.status_after == "delivered"
    assert trk.order().shipments["SHP-1"].delivered_at == scans[-1].scanned_at


def test_the_same_scans_again_are_duplicates_with_no_second_effect(trk: Tracking):
    trk.ship(tracking_number=TN)
    trk.record(aftership_scans())
    again = trk.record(aftership_scans())
    assert (again.accepted, again.duplicates, again.delivered) == (0, 3, ())
    assert len(trk.history(TN)) == 3
    assert trk.order().version == 3  # placed, dispatched, delivered once


def test_a_late_in_transit_scan_after_delivery_leaves_it_delivered(trk: Tracking):
    trk.ship(tracking_number=TN)
    scans = aftership_scans()
    trk.record(scans)
    late = replace(
        scans[0], raw_text="Departed facility", scanned_at=scans[0].scanned_at + timedelta(hours=1)
    )
    after = replace(
        scans[0], raw_text="In transit again", scanned_at=scans[-1].scanned_at + timedelta(hours=2)
    )
    outcome = trk.record([late, after])
    assert outcome.accepted == 2
    shipment = trk.shipment()
    assert shipment.status == "delivered"
    assert len(trk.history(TN)) == 5


def test_scans_arriving_in_reverse_order_end_where_carrier_time_says(trk: Tracking):
    trk.ship(tracking_number=TN)
    scans = aftership_scans()
    trk.record([scans[2]])
    trk.record([scans[0]])
    trk.record([scans[1]])
    shipment = trk.shipment()
    assert shipment.status == "delivered"
    assert shipment.last_scan_at == scans[2].scanned_at
    assert [s.raw_code for s in trk.history(TN)] == ["InTransit", "OutForDelivery", "Delivered"]


def test_an_unknown_code_is_kept_as_unknown_counted_and_never_moves_the_shipment(trk: Tracking):
    trk.ship(tracking_number=TN)
    first = aftership_scans()[0]
    trk.record([first])
    odd = replace(
        first,
        raw_code="Teleported",
        raw_subcode=None,
        scanned_at=first.scanned_at + timedelta(hours=3),
    )
    outcome = trk.record([odd])
    assert (outcome.accepted, outcome.unmapped, outcome.unmapped_providers) == (
        1,
        1,
        ("aftership",),
    )
    assert [s.status for s in trk.history(TN)] == ["in_transit", "unknown"]
    shipment = trk.shipment()
    assert (shipment.status, shipment.raw_code) == ("in_transit", "InTransit")
    assert shipment.last_scan_at == odd.scanned_at


def test_an_exception_scan_sets_the_reason_and_root_cause(trk: Tracking):
    trk.ship(tracking_number=TN)
    first = aftership_scans()[0]
    refused = replace(first, raw_code="Exception", raw_subcode="Exception_003", raw_text="Refused")
    trk.record([replace(refused, scanned_at=first.scanned_at + timedelta(days=1))])
    shipment = trk.shipment()
    assert (shipment.status, shipment.reason, shipment.root_cause) == (
        "exception",
        "refused",
        "customer",
    )


def test_scans_before_the_shipment_is_known_are_kept_and_booked_when_it_registers(trk: Tracking):
    trk.ship(tracking_number=TN, register=False)
    outcome = trk.record(aftership_scans())
    assert (outcome.accepted, outcome.unknown_shipments, outcome.delivered) == (3, 1, ())
    assert trk.register(tracking_number=TN)
    shipment = trk.shipment()
    assert shipment.status == "delivered"
    assert trk.event(delivery_event_id(aftership_scans()[-1])) is not None
    assert not trk.register(tracking_number=TN)


def test_another_tenants_scans_never_touch_the_shipment(trk: Tracking):
    trk.ship(tracking_number=TN)
    outcome = trk.record(aftership_scans(), tenant_id="globex")
    assert (outcome.accepted, outcome.unknown_shipments) == (3, 1)
    assert trk.shipment().status == "label_created"
    assert trk.history(TN) == []


def test_a_webhook_body_received_twice_is_a_duplicate_and_changes_nothing(trk: Tracking):
    trk.ship(tracking_number=TN)
    receipt = WebhookReceipt(
        tenant_id="acme", provider="aftership", body_sha256="ab" * 32, received_at=NOW, scans=3
    )

    def receive() -> tracking.WebhookOutcome:
        return tracking.receive_webhook(
            uow=trk.uow_factory(),
            receipt=receipt,
            scans=aftership_scans(),
            tables=TABLES,
            new_id=trk.new_id,
        )

    first, second = receive(), receive()
    assert (first.duplicate, first.tracking.delivered) == (False, ("SHP-1",))
    assert (second.duplicate, second.tracking.accepted, second.tracking.duplicates) == (True, 0, 3)


def test_a_secret_is_set_found_by_its_token_rotated_under_the_same_token_and_removed(
    trk: Tracking,
):
    first = trk.secrets.put(
        endpoint=WebhookEndpoint(
            tenant_id="acme",
            provider="ups",
            token="tok-first-123",
            secret="one",
            updated_at=NOW,
            updated_by="key:admin",
        )
    )
    assert first.token == "tok-first-123"
    rotated = trk.secrets.put(endpoint=replace(first, token="tok-other-456", secret="two"))
    assert rotated.token == "tok-first-123"
    found = trk.secrets.by_token(provider="ups", token="tok-first-123")
    assert found is not None
    assert (found.tenant_id, found.secret) == ("acme", "two")
    assert trk.secrets.by_token(provider="fedex", token="tok-first-123") is None
    assert trk.secrets.delete(tenant_id="acme", provider="ups")
    assert not trk.secrets.delete(tenant_id="acme", provider="ups")
    assert trk.secrets.by_token(provider="ups", token="tok-first-123") is None


def test_the_database_refuses_to_change_or_delete_scan_history(engine: Engine):
    scans_table = tables.metadata.tables["shipment_scans"]
    scan = aftership_scans()[0]
    stored = StoredScan(
        tenant_id="acme",
        scan_key=tracking.scan_key(scan),
        provider=scan.provider,
        carrier=scan.carrier,
        tracking_number=scan.tracking_number,
        raw_code=scan.raw_code,
        raw_subcode=scan.raw_subcode,
        raw_text=scan.raw_text,
        scanned_at=scan.scanned_at,
        location=None,
        signed_by=None,
        estimated_delivery_at=None,
        status="in_transit",
        reason="none",
        mapping_version=1,
        received_at=NOW,
    )
    with engine.begin() as connection:
        connection.execute(insert(scans_table).values(**asdict(stored)))
    for statement in (update(scans_table).values(raw_text="edited"), delete(scans_table)):
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(statement)
