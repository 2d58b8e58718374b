"""USPS Tracking 3.0: OAuth client credentials, then GET /tracking/v3/tracking/{trackingNumber}.

Per the USPS developer portal (developers.usps.com, Tracking 3.0 and OAuth 2.0): the token comes
from POST /oauth2/v3/token; `expand=DETAIL` returns every scan in `trackingEvents[]`, each with
`eventType` (text), `eventCode`, `eventTimestamp` (local) and `GMTTimestamp`, `eventCity`,
`eventState`, `eventZIP`, `eventCountry` and, on delivery, `name` (who received it). A scan's
`raw_code` is the `eventCode`, its text the `eventType`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from ordertrail.adapters.carriers.poll_http import OAuthToken, parse_instant, place, send, text_of
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.ports import Clock

PROVIDER = "usps"
PRODUCTION_URL = "https://apis.usps.com"
DELIVERED_CODE = "01"


def parse_tracking(body: dict[str, Any], *, tracking_number: str) -> list[CarrierScan]:
    """Every tracking event as a CarrierScan, oldest first."""
    number = text_of(body.get("trackingNumber")) or tracking_number
    if number != tracking_number:
        return []
    estimate = parse_instant(
        text_of(body.get("expectedDeliveryTimeStamp")) or text_of(body.get("expectedDeliveryDate"))
    )
    scans: list[CarrierScan] = []
    for event in body.get("trackingEvents") or []:
        code = text_of(event.get("eventCode"))
        at = parse_instant(text_of(event.get("GMTTimestamp"))) or parse_instant(
            text_of(event.get("eventTimestamp"))
        )
        if code is None or at is None:
            continue
        scans.append(
            CarrierScan(
                provider=PROVIDER,
                tracking_number=number,
                carrier="usps",
                raw_code=code,
                raw_text=text_of(event.get("eventType")) or "",
                scanned_at=at,
                location=place(
                    event.get("eventCity"),
                    event.get("eventState"),
                    event.get("eventZIP"),
                    event.get("eventCountry"),
                ),
                signed_by=text_of(event.get("name")) if code == DELIVERED_CODE else None,
                estimated_delivery_at=estimate,
            )
        )
    return sorted(scans, key=lambda scan: scan.scanned_at)


class UspsTrackingClient:
    provider = PROVIDER

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        client_id: str,
        client_secret: str,
        clock: Clock,
        base_url: str = PRODUCTION_URL,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._token = OAuthToken(
            token_url=f"{self._base_url}/oauth2/v3/token",
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            basic_auth=False,
        )

    async def track(self, *, tracking_number: str) -> list[CarrierScan]:
        token = await self._token.get(self._http)
        request = self._http.build_request(
            "GET",
            f"{self._base_url}/tracking/v3/tracking/{quote(tracking_number, safe='')}",
            params={"expand": "DETAIL"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        body = await send(self._http, request, now=self._clock.now(), what="usps track")
        return parse_tracking(body, tracking_number=tracking_number)
