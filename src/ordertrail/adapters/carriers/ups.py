"""UPS Track Alert event notifications: one scan per POST.

Fields (UPS-API api-documentation, UPSTrackAlert.yaml, TrackingEventRequest): trackingNumber,
activityStatus {type, code, description}, gmtActivityDate (YYYYMMDD) and gmtActivityTime
(HHMMSS), activityLocation {city, stateProvince, postalCode, country}, scheduledDeliveryDate.
The status type (M, I, D, X, U, ...) is the code; the two-character status code the subcode.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ordertrail.adapters.carriers.payloads import (
    PayloadInvalid,
    json_object,
    obj,
    place,
    required,
    text,
)
from ordertrail.domain.shipments.scans import CarrierScan

PROVIDER = "ups"


def _gmt(date: str, time: str) -> datetime:
    try:
        return datetime.strptime(date + time, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise PayloadInvalid(f"gmtActivityDate/Time {date!r} {time!r} is not a time") from None


def _day(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError:
        raise PayloadInvalid(f"scheduledDeliveryDate {value!r} is not YYYYMMDD") from None


def parse(body: bytes) -> list[CarrierScan]:
    document = json_object(body)
    status = obj(document.get("activityStatus"), "activityStatus")
    where = obj(document.get("activityLocation"), "activityLocation")
    status_type = required(status.get("type"), "activityStatus.type")
    return [
        CarrierScan(
            provider=PROVIDER,
            tracking_number=required(document.get("trackingNumber"), "trackingNumber"),
            carrier="ups",
            raw_code=status_type,
            raw_subcode=text(status.get("code")),
            raw_text=text(status.get("description")) or status_type,
            scanned_at=_gmt(
                required(document.get("gmtActivityDate"), "gmtActivityDate"),
                required(document.get("gmtActivityTime"), "gmtActivityTime"),
            ),
            location=place(
                where.get("city"),
                where.get("stateProvince"),
                where.get("postalCode"),
                where.get("country"),
            ),
            estimated_delivery_at=_day(text(document.get("scheduledDeliveryDate"))),
        )
    ]
