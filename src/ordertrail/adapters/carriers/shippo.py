"""Shippo `track_updated` webhooks: one scan per tracking history entry and the current status.

Fields (docs.goshippo.com/docs/tracking): data.carrier, data.tracking_number, data.eta,
data.tracking_status and data.tracking_history[] with status, status_details, status_date,
substatus {code, text} and location {city, state, zip, country}.
"""

from __future__ import annotations

from typing import Any

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

PROVIDER = "shippo"


def parse(body: bytes) -> list[CarrierScan]:
    document = json_object(body)
    if document.get("event") not in {"track_updated", None}:
        return []
    data = obj(document.get("data"), "data")
    tracking_number = required(data.get("tracking_number"), "data.tracking_number")
    carrier = required(data.get("carrier"), "data.carrier")
    estimate = optional_instant(data.get("eta"), "data.eta")
    entries = items(data.get("tracking_history"), "data.tracking_history")
    current = obj(data.get("tracking_status"), "data.tracking_status")
    if current:
        entries = [*entries, current]
    return [
        _scan(entry, tracking_number=tracking_number, carrier=carrier, estimate=estimate)
        for entry in entries
    ]


def _scan(
    entry: dict[str, Any], *, tracking_number: str, carrier: str, estimate: Any
) -> CarrierScan:
    status = required(entry.get("status"), "tracking status")
    substatus = obj(entry.get("substatus"), "substatus")
    where = obj(entry.get("location"), "location")
    return CarrierScan(
        provider=PROVIDER,
        tracking_number=tracking_number,
        carrier=carrier,
        raw_code=status,
        raw_subcode=text(substatus.get("code")),
        raw_text=text(entry.get("status_details")) or text(substatus.get("text")) or status,
        scanned_at=instant(entry.get("status_date"), "status_date"),
        location=place(
            where.get("city"), where.get("state"), where.get("zip"), where.get("country")
        ),
        estimated_delivery_at=estimate,
    )
