"""Response bodies in each provider's documented shape, built from a parcel's visible scans.

The shapes follow the same documentation the pollers were written from (UPS Tracking.yaml, DHL
Shipment Tracking - Unified, USPS Tracking 3.0), so a poller that reads the simulator reads the
real thing. Times are written the way each provider writes them: UPS as YYYYMMDD and HHMMSS
(local and GMT), DHL as ISO 8601 with an offset, USPS as a local time plus a GMT one.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from ordertrail.adapters.carriers.simulator.scenario import Parcel, SimScan

UTC_OFFSET = "+00:00"


def _ordered(
    scans: list[SimScan], *, shuffle: random.Random | None, newest_first: bool
) -> list[SimScan]:
    ordered = sorted(scans, key=lambda scan: scan.at, reverse=newest_first)
    if shuffle is not None:
        shuffle.shuffle(ordered)
    return ordered


def _city_parts(location: str) -> list[str]:
    return [part.strip() for part in location.split(",")]


def ups_body(
    parcel: Parcel, scans: list[SimScan], *, shuffle: random.Random | None
) -> dict[str, Any]:
    activities = []
    for scan in _ordered(scans, shuffle=shuffle, newest_first=True):
        parts = _city_parts(scan.location)
        at = scan.at.astimezone(UTC)
        activities.append(
            {
                "location": {
                    "address": {
                        "city": parts[0],
                        "stateProvince": parts[1] if len(parts) == 3 else "",
                        "countryCode": parts[-1],
                        "country": parts[-1],
                    }
                },
                "status": {
                    "type": scan.code,
                    "description": scan.text,
                    "code": scan.subcode or "",
                    "statusCode": "003" if scan.code == "I" else "011",
                },
                "date": at.strftime("%Y%m%d"),
                "time": at.strftime("%H%M%S"),
                "gmtDate": at.strftime("%Y%m%d"),
                "gmtOffset": UTC_OFFSET,
                "gmtTime": at.strftime("%H:%M:%S").replace(":", "").lstrip("0") or "0",
            }
        )
    delivered = any(scan.stage == "delivered" for scan in scans)
    package: dict[str, Any] = {
        "trackingNumber": parcel.tracking_number,
        "deliveryDate": [{"type": "SDD", "date": parcel.estimated_delivery_at.strftime("%Y%m%d")}],
        "deliveryTime": {"type": "EOD", "endTime": "235900"},
        "activity": activities,
        "packageCount": 1,
    }
    if delivered:
        package["deliveryInformation"] = {
            "location": "Front Door",
            "receivedBy": parcel.signer or "",
        }
    return {
        "trackResponse": {
            "shipment": [{"inquiryNumber": parcel.tracking_number, "package": [package]}]
        }
    }


def dhl_body(
    parcel: Parcel, scans: list[SimScan], *, shuffle: random.Random | None
) -> dict[str, Any]:
    events = []
    for scan in _ordered(scans, shuffle=shuffle, newest_first=True):
        parts = _city_parts(scan.location)
        event: dict[str, Any] = {
            "timestamp": scan.at.astimezone(UTC).isoformat(),
            "location": {"address": {"addressLocality": parts[0], "countryCode": parts[-1]}},
            "statusCode": scan.code,
            "status": scan.text,
            "description": scan.text,
        }
        if scan.subcode is not None:
            event["statusDetailed"] = scan.subcode
        events.append(event)
    latest = max(scans, key=lambda scan: scan.at) if scans else None
    shipment: dict[str, Any] = {
        "id": parcel.tracking_number,
        "service": "parcel-de",
        "estimatedTimeOfDelivery": parcel.estimated_delivery_at.astimezone(UTC).isoformat(),
        "events": events,
        "details": {},
    }
    if latest is not None:
        shipment["status"] = {
            "timestamp": latest.at.astimezone(UTC).isoformat(),
            "statusCode": latest.code,
            "status": latest.text,
            "description": latest.text,
        }
    if any(scan.stage == "delivered" for scan in scans) and parcel.signer:
        shipment["details"]["proofOfDelivery"] = {
            "timestamp": max(s.at for s in scans).astimezone(UTC).isoformat(),
            "signed": {"name": parcel.signer},
        }
    return {"shipments": [shipment]}


def usps_body(
    parcel: Parcel, scans: list[SimScan], *, shuffle: random.Random | None
) -> dict[str, Any]:
    events = []
    for scan in _ordered(scans, shuffle=shuffle, newest_first=True):
        parts = _city_parts(scan.location)
        at = scan.at.astimezone(UTC)
        events.append(
            {
                "eventType": scan.text,
                "eventTimestamp": at.replace(tzinfo=None).isoformat(),
                "GMTTimestamp": at.isoformat().replace(UTC_OFFSET, "Z"),
                "GMTOffset": UTC_OFFSET,
                "eventCountry": parts[-1],
                "eventCity": parts[0],
                "eventState": parts[1] if len(parts) == 3 else "",
                "eventZIP": "40201",
                "firm": "",
                "name": (parcel.signer or "") if scan.code == "01" else "",
                "authorizedAgent": False,
                "eventCode": scan.code,
            }
        )
    latest = max(scans, key=lambda scan: scan.at) if scans else None
    return {
        "trackingNumber": parcel.tracking_number,
        "mailClass": "Priority Mail",
        "status": latest.text if latest else "Pre-Shipment",
        "statusCategory": "Delivered" if latest and latest.code == "01" else "In Transit",
        "statusSummary": latest.text if latest else "",
        "expectedDeliveryTimeStamp": parcel.estimated_delivery_at.astimezone(UTC).isoformat(),
        "trackingEvents": events,
    }


def not_found_body(provider: str, tracking_number: str) -> dict[str, Any]:
    if provider == "ups":
        return {"response": {"errors": [{"code": "TV1002", "message": "Invalid inquiry number"}]}}
    if provider == "dhl":
        return {
            "title": "No result found",
            "status": 404,
            "detail": f"No shipment with given tracking number {tracking_number} found.",
        }
    return {"apiVersion": "3.0", "error": {"code": "404", "message": "Tracking number not found"}}


def throttled_body(provider: str) -> dict[str, Any]:
    if provider == "ups":
        return {"response": {"errors": [{"code": "10429", "message": "Too Many Requests"}]}}
    if provider == "dhl":
        return {"title": "Too many requests", "status": 429, "detail": "Rate limit exceeded."}
    return {"apiVersion": "3.0", "error": {"code": "429", "message": "Quota exceeded"}}


BODIES = {"ups": ups_body, "dhl": dhl_body, "usps": usps_body}


def body_for(parcel: Parcel, *, now: datetime, shuffle: random.Random | None) -> dict[str, Any]:
    return BODIES[parcel.provider](parcel, parcel.visible(now=now), shuffle=shuffle)
