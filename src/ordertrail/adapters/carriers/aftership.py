"""AfterShip tracking webhooks (`tracking_update`): one scan per checkpoint.

Fields (aftership.com/docs/tracking): msg.tracking_number, msg.slug (carrier), msg.tag/subtag,
msg.signed_by, msg.expected_delivery, msg.checkpoints[] with checkpoint_time, message, tag,
subtag, location / city / state / country_iso3. Checkpoint times may come without an offset;
they are read as UTC.
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

PROVIDER = "aftership"


def parse(body: bytes) -> list[CarrierScan]:
    document = json_object(body)
    msg = obj(document.get("msg"), "msg")
    tracking_number = required(msg.get("tracking_number"), "msg.tracking_number")
    carrier = required(msg.get("slug"), "msg.slug")
    signed_by = text(msg.get("signed_by"))
    estimate = optional_instant(msg.get("expected_delivery"), "msg.expected_delivery")
    scans: list[CarrierScan] = []
    for index, checkpoint in enumerate(items(msg.get("checkpoints"), "msg.checkpoints")):
        tag = required(checkpoint.get("tag"), f"msg.checkpoints[{index}].tag")
        scans.append(
            CarrierScan(
                provider=PROVIDER,
                tracking_number=tracking_number,
                carrier=text(checkpoint.get("slug")) or carrier,
                raw_code=tag,
                raw_subcode=text(checkpoint.get("subtag")),
                raw_text=text(checkpoint.get("message")) or tag,
                scanned_at=instant(
                    checkpoint.get("checkpoint_time"), f"msg.checkpoints[{index}].checkpoint_time"
                ),
                location=text(checkpoint.get("location"))
                or place(
                    checkpoint.get("city"),
                    checkpoint.get("state"),
                    checkpoint.get("country_iso3"),
                ),
                signed_by=signed_by if tag == "Delivered" else None,
                estimated_delivery_at=estimate,
            )
        )
    return scans
