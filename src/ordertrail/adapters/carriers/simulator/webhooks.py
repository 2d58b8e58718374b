"""Signed webhooks from the simulated providers: AfterShip, EasyPost, Shippo, UPS, FedEx, 17TRACK.

Each body follows the shape the provider documents (the one Ordertrail's webhook parsers read),
and is signed with the provider's scheme by the same `sign` the tests of the receiving side use.
The sender pushes each parcel's newly visible scans: a whole history for the aggregators, one
event per request for UPS Track Alert; with the scenario's faults some arrive twice or late.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ordertrail.adapters.carriers.signing import sign
from ordertrail.adapters.carriers.simulator.scenario import Parcel, Scenario, SimScan
from ordertrail.services.ports import Clock

WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _city(scan: SimScan) -> tuple[str, str, str]:
    parts = [part.strip() for part in scan.location.split(",")]
    return parts[0], parts[1] if len(parts) == 3 else "", parts[-1]


def aftership(parcel: Parcel, scans: list[SimScan]) -> list[dict[str, Any]]:
    checkpoints = []
    for scan in scans:
        city, state, country = _city(scan)
        checkpoints.append(
            {
                "checkpoint_time": _iso(scan.at),
                "message": scan.text,
                "tag": scan.code,
                "subtag": scan.subcode or f"{scan.code}_001",
                "city": city,
                "state": state,
                "country_iso3": country,
                "slug": parcel.carrier,
            }
        )
    latest = scans[-1]
    msg = {
        "tracking_number": parcel.tracking_number,
        "slug": parcel.carrier,
        "tag": latest.code,
        "signed_by": parcel.signer if latest.stage == "delivered" else None,
        "expected_delivery": _iso(parcel.estimated_delivery_at),
        "checkpoints": checkpoints,
    }
    return [{"event": "tracking_update", "msg": msg, "ts": int(latest.at.timestamp())}]


def easypost(parcel: Parcel, scans: list[SimScan]) -> list[dict[str, Any]]:
    details = []
    for scan in scans:
        city, state, country = _city(scan)
        details.append(
            {
                "object": "TrackingDetail",
                "message": scan.text,
                "status": scan.code,
                "status_detail": scan.subcode or "status_update",
                "datetime": _iso(scan.at),
                "tracking_location": {
                    "city": city,
                    "state": state,
                    "country": country,
                    "zip": None,
                },
            }
        )
    latest = scans[-1]
    result = {
        "object": "Tracker",
        "tracking_code": parcel.tracking_number,
        "carrier": parcel.carrier.upper(),
        "status": latest.code,
        "signed_by": parcel.signer if latest.stage == "delivered" else None,
        "est_delivery_date": _iso(parcel.estimated_delivery_at),
        "tracking_details": details,
    }
    return [{"object": "Event", "description": "tracker.updated", "result": result}]


def shippo(parcel: Parcel, scans: list[SimScan]) -> list[dict[str, Any]]:
    def entry(scan: SimScan) -> dict[str, Any]:
        city, state, country = _city(scan)
        return {
            "status": scan.code,
            "status_details": scan.text,
            "status_date": _iso(scan.at),
            "substatus": {"code": scan.subcode, "text": scan.text} if scan.subcode else None,
            "location": {"city": city, "state": state, "zip": "", "country": country},
        }

    data = {
        "carrier": parcel.carrier,
        "tracking_number": parcel.tracking_number,
        "eta": _iso(parcel.estimated_delivery_at),
        "tracking_status": entry(scans[-1]),
        "tracking_history": [entry(scan) for scan in scans[:-1]],
    }
    return [{"event": "track_updated", "test": True, "data": data}]


def ups(parcel: Parcel, scans: list[SimScan]) -> list[dict[str, Any]]:
    bodies = []
    for scan in scans:
        city, state, country = _city(scan)
        at = scan.at.astimezone(UTC)
        bodies.append(
            {
                "trackingNumber": parcel.tracking_number,
                "localActivityDate": at.strftime("%Y%m%d"),
                "localActivityTime": at.strftime("%H%M%S"),
                "gmtActivityDate": at.strftime("%Y%m%d"),
                "gmtActivityTime": at.strftime("%H%M%S"),
                "activityLocation": {"city": city, "stateProvince": state, "country": country},
                "activityStatus": {
                    "type": scan.code,
                    "code": scan.subcode or "",
                    "description": scan.text,
                },
                "scheduledDeliveryDate": parcel.estimated_delivery_at.strftime("%Y%m%d"),
            }
        )
    return bodies


def fedex(parcel: Parcel, scans: list[SimScan]) -> list[dict[str, Any]]:
    events = []
    for scan in scans:
        city, state, country = _city(scan)
        events.append(
            {
                "date": scan.at.astimezone(UTC).isoformat(),
                "eventType": scan.code,
                "eventDescription": scan.text,
                "scanLocation": {
                    "city": city,
                    "stateOrProvinceCode": state,
                    "countryCode": country,
                },
            }
        )
    delivered = any(scan.stage == "delivered" for scan in scans)
    result = {
        "trackingNumberInfo": {"trackingNumber": parcel.tracking_number},
        "scanEvents": events,
        "deliveryDetails": {"receivedByName": parcel.signer if delivered else None},
    }
    return [{"trackingNumber": parcel.tracking_number, "trackResults": [result]}]


def track17(parcel: Parcel, scans: list[SimScan]) -> list[dict[str, Any]]:
    events = [
        {
            "time_utc": _iso(scan.at),
            "description": scan.text,
            "location": scan.location,
            "stage": scan.stage,
            "sub_status": scan.subcode or f"{scan.code}_Other",
        }
        for scan in scans
    ]
    latest = scans[-1]
    info = {
        "latest_status": {"status": latest.code, "sub_status": latest.subcode},
        "latest_event": events[-1],
        "tracking": {"providers": [{"provider": {"name": parcel.carrier}, "events": events}]},
    }
    data = {"number": parcel.tracking_number, "carrier": parcel.carrier, "track_info": info}
    return [{"event": "TRACKING_UPDATED", "data": data}]


BUILDERS: Mapping[str, Callable[[Parcel, list[SimScan]], list[dict[str, Any]]]] = {
    "aftership": aftership,
    "easypost": easypost,
    "shippo": shippo,
    "ups": ups,
    "fedex": fedex,
    "17track": track17,
}


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    provider: str
    url: str  # the tenant's full webhook URL for this provider
    secret: str = field(repr=False)


@dataclass
class WebhookSender:
    """Pushes each parcel's newly visible scans to its provider's webhook target."""

    scenario: Scenario
    targets: Mapping[str, WebhookTarget]
    clock: Clock
    duplicate_share: float = 0.1
    sent: dict[tuple[str, str], int] = field(default_factory=dict)  # parcel -> scans sent
    outcomes: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311

    def due(self) -> list[tuple[WebhookTarget, bytes]]:
        """The bodies to send now, each with its target."""
        now = self.clock.now()
        deliveries = []
        for (provider, number), parcel in self.scenario.parcels.items():
            target = self.targets.get(provider)
            if target is None:
                continue
            visible = sorted(parcel.visible(now=now), key=lambda scan: scan.at)
            already = self.sent.get((provider, number), 0)
            if len(visible) <= already:
                continue
            # Aggregators send the whole history; UPS Track Alert one event per request.
            scans = visible[already:] if provider == "ups" else visible
            for body in BUILDERS[provider](parcel, scans):
                raw = json.dumps(body).encode()
                deliveries.append((target, raw))
                if self.rng.random() < self.duplicate_share:
                    deliveries.append((target, raw))  # a redelivery
            self.sent[(provider, number)] = len(visible)
        return deliveries

    async def send_due(self, http: httpx.AsyncClient) -> int:
        """Sign and POST every due body; return how many were sent."""
        deliveries = self.due()
        for target, raw in deliveries:
            headers = sign(
                provider=target.provider, secret=target.secret, body=raw, now=self.clock.now()
            )
            headers["Content-Type"] = "application/json"
            try:
                response = await http.post(target.url, content=raw, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0  # the receiver was unreachable; counted, not retried
            self.outcomes[status] = self.outcomes.get(status, 0) + 1
        return len(deliveries)
