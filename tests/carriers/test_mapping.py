"""The versioned mapping tables: every shipped table loads, cites its sources, and never guesses."""

from __future__ import annotations

import pytest

from ordertrail.adapters.carriers.mapping_tables import (
    available_tables,
    load_tables,
    table_from_document,
)
from ordertrail.domain.shipments.mapping import UNMAPPED, MappingTableInvalid
from ordertrail.domain.shipments.root_causes import ROOT_CAUSE_OF_REASON, RootCause, root_cause_of
from ordertrail.domain.shipments.status import ShipmentStatus, StatusReason

PROVIDERS = ("aftership", "easypost", "shippo", "ups", "fedex", "17track")


def test_every_webhook_provider_has_a_table_that_cites_its_documentation():
    tables = load_tables()
    assert set(PROVIDERS) <= set(tables)
    for provider in PROVIDERS:
        assert tables[provider].sources, provider
        assert all(source.startswith("https://") for source in tables[provider].sources)


def test_each_table_maps_a_delivered_code_to_delivered():
    delivered = {
        "aftership": ("Delivered", "Delivered_001"),
        "easypost": ("delivered", "arrived_at_destination"),
        "shippo": ("DELIVERED", None),
        "ups": ("D", "FS"),
        "fedex": ("DL", None),
        "17track": ("Delivered", "Delivered_Other"),
    }
    tables = load_tables()
    for provider, (code, subcode) in delivered.items():
        assert (
            tables[provider].lookup(code=code, subcode=subcode).status is ShipmentStatus.DELIVERED
        )


def test_a_code_no_table_knows_is_unknown_and_unmapped():
    table = load_tables()["aftership"]
    assert table.lookup(code="Teleported", subcode=None) == UNMAPPED
    assert table.lookup(code="Teleported", subcode="Teleported_001") == UNMAPPED
    assert UNMAPPED.status is ShipmentStatus.UNKNOWN
    assert not UNMAPPED.mapped


def test_an_unlisted_subcode_falls_back_to_its_codes_rule_but_a_code_without_one_is_unknown():
    tables = load_tables()
    refined = tables["aftership"].lookup(code="Exception", subcode="Exception_003")
    assert (refined.status, refined.reason) == (ShipmentStatus.EXCEPTION, StatusReason.REFUSED)
    fallback = tables["aftership"].lookup(code="Exception", subcode="Exception_999")
    assert (fallback.status, fallback.reason) == (ShipmentStatus.EXCEPTION, StatusReason.OTHER)
    # UPS type D also covers out-for-delivery scans, so D without a delivered code is not guessed.
    assert tables["ups"].lookup(code="D", subcode="ZZ") == UNMAPPED


def test_a_provider_saying_it_does_not_know_is_mapped_on_purpose_to_unknown():
    mapped = load_tables()["easypost"].lookup(code="unknown", subcode=None)
    assert mapped.status is ShipmentStatus.UNKNOWN
    assert mapped.mapped


def test_a_pinned_version_is_used_and_a_missing_one_refused():
    assert load_tables(pinned={"ups": 1})["ups"].version == 1
    with pytest.raises(MappingTableInvalid):
        load_tables(pinned={"ups": 99})


def test_a_table_naming_a_status_that_does_not_exist_is_refused():
    document = {
        "provider": "x",
        "version": 1,
        "sources": ["https://example.com"],
        "rules": [{"code": "A", "subcode": None, "status": "teleported", "reason": "none"}],
    }
    with pytest.raises(MappingTableInvalid):
        table_from_document(document)


def test_a_rule_repeated_in_a_table_is_refused():
    rule = {"code": "A", "subcode": None, "status": "delivered", "reason": "none"}
    document = {"provider": "x", "version": 1, "sources": [], "rules": [rule, rule]}
    with pytest.raises(MappingTableInvalid):
        table_from_document(document)


def test_shipped_tables_are_named_after_the_provider_and_version_they_declare():
    for (provider, version), table in available_tables().items():
        assert (table.provider, table.version) == (provider, version)


def test_every_reason_has_a_root_cause_and_only_problem_scans_set_one():
    assert set(ROOT_CAUSE_OF_REASON) == set(StatusReason)
    assert root_cause_of(status=ShipmentStatus.IN_TRANSIT, reason=StatusReason.WEATHER) is None
    assert (
        root_cause_of(status=ShipmentStatus.EXCEPTION, reason=StatusReason.WEATHER)
        is RootCause.EXTERNAL
    )
    assert (
        root_cause_of(status=ShipmentStatus.RETURN_TO_SENDER, reason=StatusReason.REFUSED)
        is RootCause.CUSTOMER
    )
