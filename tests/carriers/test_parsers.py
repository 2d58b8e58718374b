"""Each provider's body becomes CarrierScans with the raw code, subcode, text and carrier time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ordertrail.adapters.carriers.payloads import PayloadInvalid
from ordertrail.adapters.carriers.webhooks import PARSERS
from tests.carriers.samples import DELIVERED, fixture


def test_the_aftership_fixture_gives_one_scan_per_checkpoint():
    scans = PARSERS["aftership"](fixture("aftership_delivered.json"))
    assert [(s.raw_code, s.raw_subcode) for s in scans] == [
        ("InTransit", "InTransit_001"),
        ("OutForDelivery", "OutForDelivery_001"),
        ("Delivered", "Delivered_001"),
    ]
    assert scans[-1].scanned_at == datetime(2026, 3, 12, 14, 22, tzinfo=UTC)
    assert {(s.provider, s.carrier, s.tracking_number) for s in scans} == {
        ("aftership", "usps", "9400111899223197428490")
    }


def test_the_easypost_fixture_carries_the_signer_on_the_delivered_detail():
    scans = PARSERS["easypost"](fixture("easypost_delivered.json"))
    delivered = scans[-1]
    assert (delivered.raw_code, delivered.raw_subcode) == ("delivered", "arrived_at_destination")
    assert delivered.signed_by == "John Tester"
    assert delivered.location == "AUSTIN, TX, 78701, US"
    assert scans[0].signed_by is None


def test_ups_reads_the_gmt_activity_time_and_status_type_and_code():
    [scan] = PARSERS["ups"](DELIVERED["ups"][0])
    assert (scan.raw_code, scan.raw_subcode, scan.raw_text) == ("D", "FS", "Delivered")
    assert scan.scanned_at == datetime(2026, 3, 12, 13, 50, 4, tzinfo=UTC)


def test_fedex_converts_local_scan_times_to_utc_and_keeps_the_signer():
    scans = PARSERS["fedex"](DELIVERED["fedex"][0])
    delivered = next(s for s in scans if s.raw_code == "DL")
    assert delivered.scanned_at == datetime(2026, 3, 12, 15, 32, tzinfo=UTC)
    assert delivered.signed_by == "J.SMITH"


def test_17track_reads_each_events_main_status_from_its_sub_status():
    scans = PARSERS["17track"](DELIVERED["17track"][0])
    assert {(s.raw_code, s.raw_subcode) for s in scans} == {
        ("Delivered", "Delivered_Other"),
        ("InTransit", "InTransit_PickedUp"),
    }
    assert {s.carrier for s in scans} == {"3011"}


def test_shippo_reads_history_and_current_status_with_substatus_codes():
    scans = PARSERS["shippo"](DELIVERED["shippo"][0])
    assert [(s.raw_code, s.raw_subcode) for s in scans] == [
        ("TRANSIT", "package_accepted"),
        ("DELIVERED", "delivered"),
    ]


@pytest.mark.parametrize("provider", sorted(PARSERS))
def test_a_body_that_is_not_json_is_invalid(provider: str):
    with pytest.raises(PayloadInvalid):
        PARSERS[provider](b"not json")


def test_an_easypost_event_about_something_else_gives_no_scans():
    assert PARSERS["easypost"](b'{"description": "batch.created", "result": {}}') == []
