"""DHL Shipment Tracking - Unified: GET /track/shipments?trackingNumber=..., key in DHL-API-Key.

Per DHL's API reference (developer.dhl.com, Shipment Tracking - Unified): the answer is
`shipments[]`, each with `events[]`, every event carrying `timestamp` (ISO 8601), `statusCode`
(pre-transit, transit, delivered, failure, unknown), `status` and `description`, and a
`location.address` (`addressLocality`, `countryCode`); `estimatedTimeOfDelivery` and
`details.proofOfDelivery.signed` (who signed) sit on the shipment. A scan's `raw_code` is the
event's `statusCode`; DHL's finer `statusDetailed`, when present, is its `raw_subcode`.
"""

from __future__ import annotations

from typing import Any

import httpx

from ordertrail.adapters.carriers.poll_http import parse_instant, place, send, text_of
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.ports import Clock

PROVIDER = "dhl"
PRODUCTION_URL = "https://api-eu.dhl.com"


def _signer(shipment: dict[str, Any]) -> str | None:
    signed = ((shipment.get("details") or {}).get("proofOfDelivery") or {}).get("signed") or {}
    return text_of(signed.get("name")) or place(signed.get("givenName"), signed.get("familyName"))


def parse_shipments(body: dict[str, Any], *, tracking_number: str) -> list[CarrierScan]:
    """Every event of the shipment `tracking_number` as a CarrierScan, oldest first."""
    scans: list[CarrierScan] = []
    for shipment in body.get("shipments") or []:
        number = text_of(shipment.get("id")) or tracking_number
        if number != tracking_number:
            continue
        estimate = parse_instant(text_of(shipment.get("estimatedTimeOfDelivery")))
        signer = _signer(shipment)
        for event in shipment.get("events") or []:
            code, at = (
                text_of(event.get("statusCode")),
                parse_instant(text_of(event.get("timestamp"))),
            )
            if code is None or at is None:
                continue
            address = (event.get("location") or {}).get("address") or {}
            scans.append(
                CarrierScan(
                    provider=PROVIDER,
                    tracking_number=number,
                    carrier="dhl",
                    raw_code=code,
                    raw_text=text_of(event.get("description"))
                    or text_of(event.get("status"))
                    or "",
                    scanned_at=at,
                    location=place(address.get("addressLocality"), address.get("countryCode")),
                    signed_by=signer if code == "delivered" else None,
                    estimated_delivery_at=estimate,
                    raw_subcode=text_of(event.get("statusDetailed")),
                )
            )
    return sorted(scans, key=lambda scan: scan.scanned_at)


class DhlTrackingClient:
    provider = PROVIDER

    def __init__(
        self, *, http: httpx.AsyncClient, api_key: str, clock: Clock, base_url: str = PRODUCTION_URL
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._clock = clock
        self._base_url = base_url.rstrip("/")

    async def track(self, *, tracking_number: str) -> list[CarrierScan]:
        request = self._http.build_request(
            "GET",
            f"{self._base_url}/track/shipments",
            params={"trackingNumber": tracking_number},
            headers={"DHL-API-Key": self._api_key, "Accept": "application/json"},
        )
        body = await send(self._http, request, now=self._clock.now(), what="dhl track")
        return parse_shipments(body, tracking_number=tracking_number)
