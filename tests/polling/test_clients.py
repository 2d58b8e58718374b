"""The tracking clients read each provider's documented response shape, and its throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ordertrail.adapters.carriers.poll_dhl import DhlTrackingClient, parse_shipments
from ordertrail.adapters.carriers.poll_http import retry_at_from
from ordertrail.adapters.carriers.poll_ups import UpsTrackingClient, parse_track_response
from ordertrail.adapters.carriers.poll_usps import UspsTrackingClient, parse_tracking
from ordertrail.adapters.clock import FixedClock
from ordertrail.services.polling_ports import CarrierUnavailable, Throttled, TrackingNotFound
from tests.polling.fakes import run_async

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

# As UPS's Tracking.yaml documents it: most recent activity first, GMT time without its
# leading zero, the status type and code.
UPS_BODY = {
    "trackResponse": {
        "shipment": [
            {
                "inquiryNumber": "1Z023E2X0214323462",
                "package": [
                    {
                        "trackingNumber": "1Z023E2X0214323462",
                        "deliveryDate": [{"type": "DEL", "date": "20261127"}],
                        "deliveryInformation": {"location": "Front Door", "receivedBy": "SMITH"},
                        "activity": [
                            {
                                "location": {
                                    "address": {
                                        "city": "Wayne",
                                        "stateProvince": "NJ",
                                        "countryCode": "US",
                                    }
                                },
                                "status": {
                                    "type": "D",
                                    "description": "DELIVERED",
                                    "code": "FS",
                                    "statusCode": "011",
                                },
                                "date": "20261127",
                                "time": "104700",
                                "gmtDate": "20261127",
                                "gmtOffset": "-05:00",
                                "gmtTime": "154700",
                            },
                            {
                                "location": {
                                    "address": {"city": "Parsippany", "countryCode": "US"}
                                },
                                "status": {
                                    "type": "I",
                                    "description": "Out For Delivery Today",
                                    "code": "OT",
                                },
                                "date": "20261127",
                                "time": "024700",
                                "gmtDate": "20261127",
                                "gmtTime": "74700",
                            },
                        ],
                    }
                ],
            }
        ]
    }
}

DHL_BODY = {
    "shipments": [
        {
            "id": "00340434292135100186",
            "service": "parcel-de",
            "estimatedTimeOfDelivery": "2026-11-28T18:00:00+01:00",
            "details": {"proofOfDelivery": {"signed": {"name": "M. Muster"}}},
            "events": [
                {
                    "timestamp": "2026-11-27T10:00:00+01:00",
                    "location": {"address": {"addressLocality": "Bonn", "countryCode": "DE"}},
                    "statusCode": "delivered",
                    "status": "DELIVERED",
                    "description": "The shipment has been delivered.",
                },
                {
                    "timestamp": "2026-11-26T18:30:00Z",
                    "statusCode": "transit",
                    "status": "PROCESSED",
                    "description": "The shipment has been processed in the parcel center.",
                },
            ],
        }
    ]
}

USPS_BODY = {
    "trackingNumber": "9400100000000000000000",
    "statusCategory": "Delivered",
    "expectedDeliveryTimeStamp": "2026-11-27T20:00:00Z",
    "trackingEvents": [
        {
            "eventType": "Delivered, Front Door/Porch",
            "eventTimestamp": "2026-11-27T14:02:00",
            "GMTTimestamp": "2026-11-27T19:02:00Z",
            "GMTOffset": "-05:00",
            "eventCity": "WASHINGTON",
            "eventState": "DC",
            "eventZIP": "20212",
            "eventCountry": "",
            "name": "J DOE",
            "eventCode": "01",
        },
        {
            "eventType": "Out for Delivery",
            "eventTimestamp": "2026-11-27T07:10:00",
            "GMTTimestamp": "2026-11-27T12:10:00Z",
            "eventCity": "WASHINGTON",
            "eventState": "DC",
            "eventCode": "OF",
        },
    ],
}


def test_ups_activities_become_scans_with_type_and_code_in_gmt():
    first, last = parse_track_response(UPS_BODY, tracking_number="1Z023E2X0214323462")
    assert (first.raw_code, first.raw_subcode, first.raw_text) == (
        "I",
        "OT",
        "Out For Delivery Today",
    )
    assert first.scanned_at == datetime(2026, 11, 27, 7, 47, tzinfo=UTC)
    assert first.signed_by is None
    assert (last.raw_code, last.raw_subcode, last.signed_by) == ("D", "FS", "SMITH")
    assert last.scanned_at == datetime(2026, 11, 27, 15, 47, tzinfo=UTC)
    assert last.location == "Wayne, NJ, US"
    assert {scan.provider for scan in (first, last)} == {"ups"}


def test_dhl_events_become_scans_in_utc_with_the_signer_on_delivery():
    transit, delivered = parse_shipments(DHL_BODY, tracking_number="00340434292135100186")
    assert (transit.raw_code, transit.scanned_at) == (
        "transit",
        datetime(2026, 11, 26, 18, 30, tzinfo=UTC),
    )
    assert (delivered.raw_code, delivered.signed_by) == ("delivered", "M. Muster")
    assert delivered.scanned_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert delivered.estimated_delivery_at == datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
    assert delivered.location == "Bonn, DE"


def test_usps_events_become_scans_by_gmt_time_and_event_code():
    out, delivered = parse_tracking(USPS_BODY, tracking_number="9400100000000000000000")
    assert (out.raw_code, out.raw_text) == ("OF", "Out for Delivery")
    assert (delivered.raw_code, delivered.signed_by) == ("01", "J DOE")
    assert delivered.scanned_at == datetime(2026, 11, 27, 19, 2, tzinfo=UTC)
    assert delivered.location == "WASHINGTON, DC, 20212"


def test_another_packages_activities_are_not_taken_for_this_one():
    assert parse_track_response(UPS_BODY, tracking_number="1ZOTHER") == []
    assert parse_shipments(DHL_BODY, tracking_number="OTHER") == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, NOW + timedelta(seconds=120)),
        ({"Retry-After": "Sat, 28 Nov 2026 12:05:00 GMT"}, NOW + timedelta(minutes=5)),
        ({"RateLimit-Reset": "30"}, NOW + timedelta(seconds=30)),
        (
            {"X-RateLimit-Reset": str(int((NOW + timedelta(hours=1)).timestamp()))},
            NOW + timedelta(hours=1),
        ),
        ({"X-RateLimit-Reset": "45"}, NOW + timedelta(seconds=45)),
        ({"Retry-After": "Sat, 28 Nov 2026 11:00:00 GMT"}, NOW),  # in the past: retry now
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_times_come_from_any_rate_limit_header(headers, expected):
    assert retry_at_from(headers, now=NOW) == expected


def _client_with(handler):
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://carrier")


@run_async
async def test_a_429_becomes_throttled_with_the_retry_time():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["DHL-API-Key"] == "key"
        assert request.url.params["trackingNumber"] == "JD1"
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"status": 429})

    async with _client_with(handler) as http:
        client = DhlTrackingClient(
            http=http, api_key="key", clock=FixedClock(NOW), base_url="http://carrier"
        )
        with pytest.raises(Throttled) as caught:
            await client.track(tracking_number="JD1")
    assert caught.value.retry_at == NOW + timedelta(seconds=7)


@run_async
async def test_ups_fetches_one_oauth_token_and_reuses_it_until_it_expires():
    tokens = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/security/v1/oauth/token":
            assert request.headers["Authorization"].startswith("Basic ")
            tokens.append(request)
            return httpx.Response(
                200, json={"access_token": f"t{len(tokens)}", "expires_in": "14399"}
            )
        assert request.headers["Authorization"] == f"Bearer t{len(tokens)}"
        assert request.headers["transactionSrc"] == "ordertrail"
        assert request.url.path == "/api/track/v1/details/1Z023E2X0214323462"
        return httpx.Response(200, json=UPS_BODY)

    clock = FixedClock(NOW)
    async with _client_with(handler) as http:
        client = UpsTrackingClient(
            http=http, client_id="id", client_secret="s", clock=clock, base_url="http://carrier"
        )
        for _ in range(3):
            assert len(await client.track(tracking_number="1Z023E2X0214323462")) == 2
        clock.advance(timedelta(hours=4))
        await client.track(tracking_number="1Z023E2X0214323462")
    assert len(tokens) == 2


@run_async
async def test_usps_404_is_not_found_and_a_5xx_is_unavailable():
    answers = iter(
        [httpx.Response(404, json={"error": {"code": "404"}}), httpx.Response(503, text="down")]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            assert b"client_id=id" in request.content
            return httpx.Response(200, json={"access_token": "t", "expires_in": 28799})
        assert request.url.params["expand"] == "DETAIL"
        return next(answers)

    async with _client_with(handler) as http:
        client = UspsTrackingClient(
            http=http,
            client_id="id",
            client_secret="s",
            clock=FixedClock(NOW),
            base_url="http://carrier",
        )
        with pytest.raises(TrackingNotFound):
            await client.track(tracking_number="9400")
        with pytest.raises(CarrierUnavailable, match="503"):
            await client.track(tracking_number="9400")


@run_async
async def test_a_network_failure_is_unavailable_not_a_crash():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with _client_with(handler) as http:
        client = DhlTrackingClient(
            http=http, api_key="k", clock=FixedClock(NOW), base_url="http://carrier"
        )
        with pytest.raises(CarrierUnavailable, match="ConnectError"):
            await client.track(tracking_number="JD1")
