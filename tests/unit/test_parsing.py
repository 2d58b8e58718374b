"""parse_event: envelope and payload validation, error codes and locations, upcasting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordertrail.domain.orders import SchemaRejected, parse_event
from ordertrail.domain.orders.events import (
    CURRENT_VERSION,
    SCHEMAS,
    UPCASTERS,
    OrderPlacedV2,
    ShipmentDispatched,
)
from tests.builders import envelope, placed
from tests.conftest import NOW


def rejected(raw) -> SchemaRejected:
    with pytest.raises(SchemaRejected) as raised:
        parse_event(raw, now=NOW)
    assert raised.value.kind == "schema"
    return raised.value


def locs(error: SchemaRejected) -> dict[str, str]:
    return {e.loc: e.code for e in error.field_errors}


def placed_v1(lines, *, currency="USD", **kw):
    return envelope(
        "order.placed",
        {"customer_id": "CUST-1", "currency": currency, "lines": lines},
        schema_version=1,
        **kw,
    )


def v1_line(line_id="1", unit_price="12.50", quantity=2):
    return {"line_id": line_id, "sku": "WIDGET", "quantity": quantity, "unit_price": unit_price}


class TestValidEvents:
    def test_parses_a_current_event_into_its_payload_model(self):
        raw = envelope(
            "shipment.dispatched",
            {"shipment_id": "S1", "carrier": "ups", "tracking_number": "1Z", "lines": []},
        )
        raw["payload"]["lines"] = [{"line_id": "1", "quantity": 1}]
        event = parse_event(raw, now=NOW)
        assert isinstance(event.payload, ShipmentDispatched)
        assert (event.type, event.schema_version, event.tenant_id) == (
            "shipment.dispatched",
            1,
            "acme",
        )
        assert event.occurred_at.utcoffset() == timedelta(0)

    def test_accepts_an_event_up_to_fifteen_minutes_ahead_of_now(self):
        event = parse_event(placed(at=NOW, minutes=15), now=NOW)
        assert event.occurred_at == NOW + timedelta(minutes=15)

    def test_every_schema_version_but_the_current_has_an_upcaster(self):
        for event_type, version in SCHEMAS:
            if version < CURRENT_VERSION[event_type]:
                assert (event_type, version) in UPCASTERS


class TestUpcasting:
    def test_order_placed_v1_decimal_prices_become_minor_units_of_the_currency(self):
        raw = placed_v1(
            [v1_line("1", "12.50"), v1_line("2", "0.05"), v1_line("3", "7")], currency="USD"
        )
        event = parse_event(raw, now=NOW)
        assert isinstance(event.payload, OrderPlacedV2)
        assert event.schema_version == 1  # the stored event keeps the version it arrived with
        assert [line.unit_price_minor for line in event.payload.lines] == [1250, 5, 700]
        assert event.payload.shipping_terms == "fob_destination"

    @pytest.mark.parametrize(
        ("currency", "price", "minor"), [("JPY", "1500", 1500), ("KWD", "1.234", 1234)]
    )
    def test_order_placed_v1_uses_the_currency_s_exponent(self, currency, price, minor):
        event = parse_event(placed_v1([v1_line(unit_price=price)], currency=currency), now=NOW)
        assert event.payload.lines[0].unit_price_minor == minor

    @pytest.mark.parametrize(("currency", "price"), [("USD", "12.345"), ("JPY", "1500.5")])
    def test_order_placed_v1_with_sub_minor_precision_is_refused(self, currency, price):
        error = rejected(placed_v1([v1_line(unit_price=price)], currency=currency))
        assert error.code == "invalid_amount"
        assert "decimal places" in error.message

    @pytest.mark.parametrize("price", ["12,50", "1e5", "12.", ".5", "abc", ""])
    def test_order_placed_v1_with_a_malformed_decimal_is_refused_at_the_field(self, price):
        error = rejected(placed_v1([v1_line(unit_price=price)]))
        assert error.code == "schema_invalid"
        assert locs(error) == {"payload.lines.0.unit_price": "string_pattern_mismatch"}

    def test_order_placed_v1_with_a_negative_price_is_refused(self):
        error = rejected(placed_v1([v1_line(unit_price="-1.00")]))
        assert error.code == "schema_invalid"

    def test_order_placed_v1_in_an_unknown_currency_is_refused_as_unknown_currency(self):
        error = rejected(placed_v1([v1_line()], currency="XYZ"))
        assert error.code == "unknown_currency"
        assert locs(error) == {"payload.currency": "unknown_currency"}


class TestRejections:
    @pytest.mark.parametrize("raw", [[], "event", 42, None])
    def test_anything_but_an_object_is_schema_invalid(self, raw):
        assert rejected(raw).code == "schema_invalid"

    def test_lists_every_envelope_problem_with_its_field_and_code(self):
        raw = placed()
        del raw["event_id"]
        raw["tenant_id"] = "Not A Tenant"
        raw["schema_version"] = "2"
        raw["occurred_at"] = "2026-11-02T09:00:00"  # no offset
        raw["extra"] = 1
        error = rejected(raw)
        assert error.code == "schema_invalid"
        assert locs(error) == {
            "event_id": "missing",
            "tenant_id": "string_pattern_mismatch",
            "schema_version": "int_type",
            "occurred_at": "timezone_aware",
            "extra": "extra_forbidden",
        }
        assert all(e.message for e in error.field_errors)

    def test_lists_payload_problems_under_payload_with_their_path(self):
        raw = placed()
        raw["payload"]["lines"][1]["quantity"] = 0
        raw["payload"]["lines"][0]["unit_price_minor"] = 12.5
        del raw["payload"]["customer_id"]
        error = rejected(raw)
        assert error.code == "schema_invalid"
        assert locs(error) == {
            "payload.customer_id": "missing",
            "payload.lines.0.unit_price_minor": "int_type",
            "payload.lines.1.quantity": "greater_than",
        }
        assert error.field_errors[0].as_dict().keys() == {"loc", "code", "message"}

    def test_an_unknown_event_type_is_refused_at_type(self):
        error = rejected(envelope("order.teleported", {}, schema_version=1))
        assert error.code == "unknown_event_type"
        assert locs(error) == {"type": "unknown_event_type"}

    def test_an_unknown_schema_version_is_refused_naming_the_current_one(self):
        error = rejected(placed(schema_version=3))
        assert error.code == "unsupported_schema_version"
        assert "current version is 2" in error.message
        assert locs(error) == {"schema_version": "unsupported_schema_version"}

    def test_an_event_more_than_fifteen_minutes_in_the_future_is_refused(self):
        error = rejected(placed(at=NOW, minutes=16))
        assert error.code == "occurred_in_future"
        assert locs(error) == {"occurred_at": "occurred_in_future"}

    def test_an_unknown_currency_is_refused_at_payload_currency(self):
        error = rejected(placed(currency="XYZ"))
        assert error.code == "unknown_currency"
        assert locs(error) == {"payload.currency": "unknown_currency"}

    def test_a_currency_on_a_billing_event_is_checked_too(self):
        raw = envelope("invoice.issued", {"invoice_id": "I1", "amount_minor": 1, "currency": "ABC"})
        assert rejected(raw).code == "unknown_currency"

    def test_a_malformed_currency_is_a_schema_error_not_an_unknown_currency(self):
        error = rejected(placed(currency="usd"))
        assert error.code == "schema_invalid"
        assert locs(error) == {"payload.currency": "string_pattern_mismatch"}

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("event_id", "has space"),
            ("order_id", ""),
            ("source", "Carrier:UPS"),
            ("type", "x" * 65),
        ],
    )
    def test_malformed_identifiers_are_refused_at_their_field(self, field, value):
        raw = placed()
        raw[field] = value
        error = rejected(raw)
        assert error.code == "schema_invalid"
        assert set(locs(error)) == {field}

    def test_too_many_lines_are_refused(self):
        raw = placed(lines=[(str(i), "SKU", 1, 1) for i in range(501)])
        error = rejected(raw)
        assert locs(error) == {"payload.lines": "too_long"}
