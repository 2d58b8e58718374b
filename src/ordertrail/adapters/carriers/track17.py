"""17TRACK API v2.2 `TRACKING_UPDATED` webhooks: one scan per event, plus the latest status.

Fields (api.17track.net, v2.2): data.number, data.carrier (17TRACK's numeric carrier code),
data.track_info.latest_status {status, sub_status}, data.track_info.latest_event, and
data.track_info.tracking.providers[].events[] with time_utc (or time_iso), description, location
and sub_status. Every sub status is named after its main status (`InTransit_PickedUp` under
`InTransit`, `Delivered_Other` under `Delivered`), which is how an event's main status is read.
"""

from __future__ import annotations

from typing import Any

from ordertrail.adapters.carriers.payloads import instant, items, json_object, obj, required, text
from ordertrail.domain.shipments.scans import CarrierScan

PROVIDER = "17track"
TRACKING_EVENTS = frozenset({"TRACKING_UPDATED"})


def _main_status(sub_status: str) -> str:
    return sub_status.partition("_")[0]


def parse(body: bytes) -> list[CarrierScan]:
    document = json_object(body)
    if document.get("event") not in TRACKING_EVENTS:
        return []
    data = obj(document.get("data"), "data")
    number = required(data.get("number"), "data.number")
    carrier = required(data.get("carrier"), "data.carrier")
    info = obj(data.get("track_info"), "data.track_info")
    scans: list[CarrierScan] = []
    providers = items(obj(info.get("tracking"), "tracking").get("providers"), "providers")
    for provider in providers:
        for event in items(provider.get("events"), "events"):
            sub_status = text(event.get("sub_status"))
            if sub_status is None:
                continue
            scans.append(_scan(event, number, carrier, _main_status(sub_status), sub_status))
    latest = obj(info.get("latest_status"), "latest_status")
    latest_event = obj(info.get("latest_event"), "latest_event")
    status = text(latest.get("status"))
    if status is not None and latest_event:
        scans.append(_scan(latest_event, number, carrier, status, text(latest.get("sub_status"))))
    return scans


def _scan(
    event: dict[str, Any], number: str, carrier: str, code: str, subcode: str | None
) -> CarrierScan:
    return CarrierScan(
        provider=PROVIDER,
        tracking_number=number,
        carrier=carrier,
        raw_code=code,
        raw_subcode=subcode,
        raw_text=text(event.get("description")) or code,
        scanned_at=instant(event.get("time_utc") or event.get("time_iso"), "event time"),
        location=text(event.get("location")),
    )
