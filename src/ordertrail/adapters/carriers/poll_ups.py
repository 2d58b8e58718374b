"""UPS Track API: OAuth client credentials, then GET /api/track/v1/details/{inquiryNumber}.

Per UPS's OpenAPI description (UPS-API/api-documentation, Tracking.yaml): the answer is
`trackResponse.shipment[].package[]`, each package with `activity[]` (most recent first), each
activity with `status` {type, code, description}, local `date` (YYYYMMDD) and `time` (HHMMSS),
and `gmtDate`/`gmtTime`/`gmtOffset`. The headers `transId` (unique per request) and
`transactionSrc` are required. A scan's `raw_code` is the status type (I, D, X, P, M, ...) and its
`raw_subcode` the status code, as the UPS mapping table reads them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from ordertrail.adapters.carriers.poll_http import OAuthToken, place, send, text_of
from ordertrail.domain.shipments.scans import CarrierScan
from ordertrail.services.ports import Clock

PROVIDER = "ups"
PRODUCTION_URL = "https://onlinetools.ups.com"
TRANSACTION_SOURCE = "ordertrail"


def _instant(date: object, time: object) -> datetime | None:
    """YYYYMMDD and HHMMSS (UPS drops the leading zero of the hour in gmtTime) as UTC."""
    day, clock = text_of(date), text_of(time) or "000000"
    if day is None or len(day) != 8 or not (day + clock).isdigit():
        return None
    clock = clock.zfill(6)
    return datetime(
        int(day[:4]), int(day[4:6]), int(day[6:]),
        int(clock[:2]), int(clock[2:4]), int(clock[4:6]), tzinfo=UTC,
    )  # fmt: skip


def _activity_time(activity: dict[str, Any]) -> datetime | None:
    # The GMT fields are the carrier's time in UTC; the local ones lack an offset.
    return _instant(activity.get("gmtDate"), activity.get("gmtTime")) or _instant(
        activity.get("date"), activity.get("time")
    )


def _estimate(package: dict[str, Any]) -> datetime | None:
    for entry in package.get("deliveryDate") or []:
        if isinstance(entry, dict) and entry.get("type") in ("SDD", "RDD"):
            end = (package.get("deliveryTime") or {}).get("endTime")
            return _instant(entry.get("date"), end)
    return None


def parse_track_response(body: dict[str, Any], *, tracking_number: str) -> list[CarrierScan]:
    """Every activity of the package `tracking_number` as a CarrierScan, oldest first."""
    scans: list[CarrierScan] = []
    for shipment in (body.get("trackResponse") or {}).get("shipment") or []:
        for package in shipment.get("package") or []:
            number = text_of(package.get("trackingNumber")) or tracking_number
            if number != tracking_number:
                continue
            estimate = _estimate(package)
            signer = text_of((package.get("deliveryInformation") or {}).get("receivedBy"))
            for activity in package.get("activity") or []:
                status = activity.get("status") or {}
                kind, at = text_of(status.get("type")), _activity_time(activity)
                if kind is None or at is None:
                    continue
                address = (activity.get("location") or {}).get("address") or {}
                scans.append(
                    CarrierScan(
                        provider=PROVIDER,
                        tracking_number=number,
                        carrier="ups",
                        raw_code=kind,
                        raw_text=text_of(status.get("description")) or "",
                        scanned_at=at,
                        location=place(
                            address.get("city"),
                            address.get("stateProvince"),
                            address.get("countryCode") or address.get("country"),
                        ),
                        signed_by=signer if kind == "D" else None,
                        estimated_delivery_at=estimate,
                        raw_subcode=text_of(status.get("code")),
                    )
                )
    return sorted(scans, key=lambda scan: scan.scanned_at)


class UpsTrackingClient:
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
            token_url=f"{self._base_url}/security/v1/oauth/token",
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
            basic_auth=True,
        )

    async def track(self, *, tracking_number: str) -> list[CarrierScan]:
        token = await self._token.get(self._http)
        request = self._http.build_request(
            "GET",
            f"{self._base_url}/api/track/v1/details/{quote(tracking_number, safe='')}",
            params={"locale": "en_US", "returnSignature": "false"},
            headers={
                "Authorization": f"Bearer {token}",
                "transId": uuid.uuid4().hex[:32],
                "transactionSrc": TRANSACTION_SOURCE,
                "Accept": "application/json",
            },
        )
        body = await send(self._http, request, now=self._clock.now(), what="ups track")
        return parse_track_response(body, tracking_number=tracking_number)
