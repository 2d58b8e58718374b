"""The polled carriers' tables (DHL, USPS): they load, cite their sources, key on what the poll
clients put in a scan, and leave codes that could not be confirmed unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ordertrail.adapters.carriers.mapping_tables import load_tables
from ordertrail.adapters.carriers.poll_dhl import PROVIDER as DHL
from ordertrail.adapters.carriers.poll_dhl import parse_shipments
from ordertrail.adapters.carriers.poll_usps import DELIVERED_CODE, parse_tracking
from ordertrail.adapters.carriers.poll_usps import PROVIDER as USPS
from ordertrail.adapters.carriers.simulator.responses import body_for
from ordertrail.adapters.carriers.simulator.scenario import Faults, build_scenario
from ordertrail.domain.shipments.mapping import UNMAPPED, map_scan
from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason

START = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
TABLES = load_tables()


def test_the_poll_clients_providers_have_tables_that_cite_https_sources():
    for provider in (DHL, USPS, "ups"):
        table = TABLES[provider]
        assert table.version == 1
        assert table.sources
        assert all(s.startswith("https://") for s in table.sources)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("pre-transit", ShipmentStatus.PRE_TRANSIT),
        ("transit", ShipmentStatus.IN_TRANSIT),
        ("delivered", ShipmentStatus.DELIVERED),
        ("failure", ShipmentStatus.EXCEPTION),
        ("unknown", ShipmentStatus.UNKNOWN),
    ],
)
def test_every_documented_dhl_status_code_is_mapped(code, status):
    mapped = TABLES[DHL].lookup(code=code, subcode=None)
    assert (mapped.status, mapped.mapped) == (status, True)


def test_a_dhl_status_detailed_value_falls_back_to_its_status_code():
    # statusDetailed values are not published as a list, so none has a rule of its own.
    mapped = TABLES[DHL].lookup(code="transit", subcode="out-for-delivery")
    assert mapped.status is ShipmentStatus.IN_TRANSIT
    assert TABLES[DHL].lookup(code="in-orbit", subcode=None) == UNMAPPED


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        ("01", ShipmentStatus.DELIVERED, StatusReason.NONE),
        ("02", ShipmentStatus.DELIVERY_ATTEMPTED, StatusReason.RECIPIENT_UNAVAILABLE),
        ("03", ShipmentStatus.PICKED_UP, StatusReason.NONE),
        ("07", ShipmentStatus.IN_TRANSIT, StatusReason.NONE),
        ("10", ShipmentStatus.IN_TRANSIT, StatusReason.NONE),
        ("16", ShipmentStatus.AVAILABLE_FOR_PICKUP, StatusReason.NONE),
        ("21", ShipmentStatus.RETURN_TO_SENDER, StatusReason.ADDRESS_PROBLEM),
        ("53", ShipmentStatus.DELIVERY_ATTEMPTED, StatusReason.ADDRESS_PROBLEM),
        ("OF", ShipmentStatus.OUT_FOR_DELIVERY, StatusReason.NONE),
        ("04", ShipmentStatus.EXCEPTION, StatusReason.REFUSED),
    ],
)
def test_usps_event_codes_map_to_their_canonical_status(code, status, reason):
    mapped = TABLES[USPS].lookup(code=code, subcode=None)
    assert (mapped.status, mapped.reason, mapped.mapped) == (status, reason, True)


@pytest.mark.parametrize("code", ["GX", "NT", "17", "43", "DX", "99"])
def test_usps_codes_not_confirmed_or_ambiguous_stay_unknown(code):
    assert TABLES[USPS].lookup(code=code, subcode=None) == UNMAPPED


def test_the_usps_client_delivered_code_is_the_tables_delivered_code():
    assert TABLES[USPS].lookup(code=DELIVERED_CODE, subcode=None).status is (
        ShipmentStatus.DELIVERED
    )


@pytest.mark.parametrize(("provider", "parse"), [(DHL, parse_shipments), (USPS, parse_tracking)])
def test_scans_the_poll_clients_read_from_the_simulator_map_and_end_delivered(provider, parse):
    """Through the real parser: provider, raw_code and raw_subcode meet the table's keys."""
    faults = Faults(stalled_share=0.0, lag_s_max=0, missing_share=0.0, duplicate_share=0.0)
    scenario = build_scenario(
        seed=3, start=START, parcels_per_provider=4, providers=[provider], faults=faults
    )
    for parcel in scenario.of(provider):
        body = body_for(parcel, now=START + timedelta(days=30), shuffle=None)
        parsed = parse(body, tracking_number=parcel.tracking_number)
        assert parsed
        assert {scan.provider for scan in parsed} == {provider}
        statuses = [map_scan(tables=TABLES, scan=scan).status for scan in parsed]
        assert statuses[-1] is ShipmentStatus.DELIVERED
        assert ShipmentStatus.IN_TRANSIT in statuses
