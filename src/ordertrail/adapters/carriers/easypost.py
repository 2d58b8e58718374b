"""EasyPost `tracker.created` / `tracker.updated` Events: one scan per tracking detail.

Fields (docs.easypost.com/docs/trackers): result.tracking_code, result.carrier,
result.signed_by, result.est_delivery_date, result.tracking_details[] with status,
status_detail, message, datetime and tracking_location {city, state, country, zip}.
Other event types carry no tracking and give no scans.
"""

from __future__ import annotations

from ordertrail.adapters.carriers.payloads import (
    instant,
    items,
    json_object,
    obj,
    optional_instant,
    place,
    required,
    text,
)
from ordertrail.domain.shipments.scans import CarrierScan

PROVIDER = "easypost"
TRACKER_EVENTS = frozenset({"tracker.created", "tracker.updated"})


def parse(body: bytes) -> list[CarrierScan]:
    document = json_object(body)
    if document.get("description") not in TRACKER_EVENTS:
        return []
    tracker = obj(document.get("result"), "result")
    tracking_number = required(tracker.get("tracking_code"), "result.tracking_code")
    carrier = required(tracker.get("carrier"), "result.carrier")
    signed_by = text(tracker.get("signed_by"))
    estimate = optional_instant(tracker.get("est_delivery_date"), "result.est_delivery_date")
    scans: list[CarrierScan] = []
    details = items(tracker.get("tracking_details"), "result.tracking_details")
    for index, detail in enumerate(details):
        status = required(detail.get("status"), f"result.tracking_details[{index}].status")
        where = obj(detail.get("tracking_location"), "tracking_location")
        scans.append(
            CarrierScan(
                provider=PROVIDER,
                tracking_number=tracking_number,
                carrier=carrier,
                raw_code=status,
                raw_subcode=text(detail.get("status_detail")),
                raw_text=text(detail.get("message")) or text(detail.get("description")) or status,
                scanned_at=instant(
                    detail.get("datetime"), f"result.tracking_details[{index}].datetime"
                ),
                location=place(
                    where.get("city"), where.get("state"), where.get("zip"), where.get("country")
                ),
                signed_by=signed_by if status == "delivered" else None,
                estimated_delivery_at=estimate,
            )
        )
    return scans
