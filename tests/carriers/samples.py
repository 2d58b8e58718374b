"""Webhook bodies per provider: the shared fixtures for AfterShip and EasyPost, and hand-built
samples for the others from their documented field names. Each delivers one tracking number."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path("/work/shared/fixtures/carriers")
# The fixture files with their test secrets and the header values their README gives.
AFTERSHIP_SECRET = "as_test_secret"
AFTERSHIP_SIGNATURE = "mqNImaPLJ7nipUuOE3kDGLBcu/3TWxKSutIAcO+fFDU="
EASYPOST_SECRET = "ep_test_secret"
EASYPOST_SIGNATURE = (
    "hmac-sha256-hex=a63306e7edd872a768511b58ca31171bb3f3e27b2e1d6ba7b56873881bd4c258"
)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def compact(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def shippo(*, status: str = "DELIVERED", substatus: str | None = "delivered") -> bytes:
    return compact(
        {
            "event": "track_updated",
            "test": True,
            "data": {
                "carrier": "usps",
                "tracking_number": "9205590164917312751089",
                "eta": "2026-03-12T18:00:00Z",
                "tracking_status": {
                    "status": status,
                    "substatus": None if substatus is None else {"code": substatus, "text": "x"},
                    "status_details": "Your shipment has been delivered.",
                    "status_date": "2026-03-12T15:05:00Z",
                    "location": {"city": "Austin", "state": "TX", "zip": "78701", "country": "US"},
                },
                "tracking_history": [
                    {
                        "status": "TRANSIT",
                        "substatus": {"code": "package_accepted", "text": "Accepted"},
                        "status_details": "Accepted at origin facility.",
                        "status_date": "2026-03-10T08:00:00Z",
                        "location": {"city": "Dallas", "state": "TX", "zip": "", "country": "US"},
                    }
                ],
            },
        }
    )


def ups(*, status_type: str = "D", code: str = "FS", description: str = "Delivered") -> bytes:
    return compact(
        {
            "trackingNumber": "1Z204W4R0308071865",
            "localActivityDate": "20260312",
            "localActivityTime": "095004",
            "activityLocation": {
                "city": "CHARLOTTE",
                "stateProvince": "NC",
                "postalCode": "28209",
                "country": "US",
            },
            "activityStatus": {
                "type": status_type,
                "code": code,
                "description": description,
                "descriptionCode": "011",
            },
            "scheduledDeliveryDate": "",
            "actualDeliveryDate": "20260312",
            "actualDeliveryTime": "095004",
            "gmtActivityDate": "20260312",
            "gmtActivityTime": "135004",
            "deliveryStartTime": "",
            "deliveryEndTime": "",
            "deliveryTimeDescription": "",
        }
    )


def fedex() -> bytes:
    return compact(
        {
            "trackingNumber": "794953555571",
            "trackResults": [
                {
                    "trackingNumberInfo": {"trackingNumber": "794953555571"},
                    "deliveryDetails": {"receivedByName": "J.SMITH"},
                    "scanEvents": [
                        {
                            "date": "2026-03-12T10:32:00-05:00",
                            "eventType": "DL",
                            "eventDescription": "Delivered",
                            "exceptionCode": "",
                            "scanLocation": {
                                "city": "AUSTIN",
                                "stateOrProvinceCode": "TX",
                                "postalCode": "78701",
                                "countryCode": "US",
                            },
                        },
                        {
                            "date": "2026-03-12T07:15:00-05:00",
                            "eventType": "OD",
                            "eventDescription": "On FedEx vehicle for delivery",
                            "scanLocation": {"city": "AUSTIN", "countryCode": "US"},
                        },
                    ],
                }
            ],
        }
    )


def track17() -> bytes:
    return compact(
        {
            "event": "TRACKING_UPDATED",
            "data": {
                "number": "RR123456789CN",
                "carrier": 3011,
                "param": None,
                "tag": None,
                "track_info": {
                    "latest_status": {"status": "Delivered", "sub_status": "Delivered_Other"},
                    "latest_event": {
                        "time_iso": "2026-03-12T16:40:00+08:00",
                        "time_utc": "2026-03-12T08:40:00Z",
                        "description": "Delivered to the recipient",
                        "location": "Shenzhen",
                    },
                    "tracking": {
                        "providers": [
                            {
                                "events": [
                                    {
                                        "time_utc": "2026-03-12T08:40:00Z",
                                        "description": "Delivered to the recipient",
                                        "location": "Shenzhen",
                                        "sub_status": "Delivered_Other",
                                    },
                                    {
                                        "time_utc": "2026-03-10T02:00:00Z",
                                        "description": "Picked up",
                                        "location": "Guangzhou",
                                        "sub_status": "InTransit_PickedUp",
                                    },
                                ]
                            }
                        ]
                    },
                },
            },
        }
    )


# provider -> (body, the tracking number it delivers)
DELIVERED: dict[str, tuple[bytes, str]] = {
    "aftership": (fixture("aftership_delivered.json"), "9400111899223197428490"),
    "easypost": (fixture("easypost_delivered.json"), "EZ4000000004"),
    "shippo": (shippo(), "9205590164917312751089"),
    "ups": (ups(), "1Z204W4R0308071865"),
    "fedex": (fedex(), "794953555571"),
    "17track": (track17(), "RR123456789CN"),
}
