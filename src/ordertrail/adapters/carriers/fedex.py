"""FedEx Advanced Integrated Visibility webhook payloads: one scan per scan event.

The payload follows the Track API response (developer.fedex.com, track/v1): either
output.completeTrackResults[] or a single complete track result with trackingNumber and
trackResults[]; each track result has trackingNumberInfo.trackingNumber, scanEvents[] with date,
eventType, eventDescription, exceptionCode and scanLocation {city, stateOrProvinceCode,
postalCode, countryCode}, and deliveryDetails.receivedByName (the signer).
"""

from __future__ import annotations

from typing import Any

from ordertrail.adapters.carriers.payloads import (
    instant,
    items,
    json_object,
    obj,
    place,
    required,
    text,
)
from ordertrail.domain.shipments.scans import CarrierScan

PROVIDER = "fedex"


def _complete_results(document: dict[str, Any]) -> list[dict[str, Any]]:
    output = obj(document.get("output"), "output")
    if output:
        return items(output.get("completeTrackResults"), "output.completeTrackResults")
    return [document]


def parse(body: bytes) -> list[CarrierScan]:
    document = json_object(body)
    scans: list[CarrierScan] = []
    for complete in _complete_results(document):
        for result in items(complete.get("trackResults"), "trackResults"):
            number = text(
                obj(result.get("trackingNumberInfo"), "trackingNumberInfo").get("trackingNumber")
            ) or required(complete.get("trackingNumber"), "trackingNumber")
            signer = text(
                obj(result.get("deliveryDetails"), "deliveryDetails").get("receivedByName")
            )
            for index, event in enumerate(items(result.get("scanEvents"), "scanEvents")):
                code = required(event.get("eventType"), f"scanEvents[{index}].eventType")
                where = obj(event.get("scanLocation"), "scanLocation")
                scans.append(
                    CarrierScan(
                        provider=PROVIDER,
                        tracking_number=number,
                        carrier="fedex",
                        raw_code=code,
                        raw_subcode=text(event.get("exceptionCode")),
                        raw_text=text(event.get("eventDescription")) or code,
                        scanned_at=instant(event.get("date"), f"scanEvents[{index}].date"),
                        location=place(
                            where.get("city"),
                            where.get("stateOrProvinceCode"),
                            where.get("postalCode"),
                            where.get("countryCode"),
                        ),
                        signed_by=signer if code == "DL" else None,
                    )
                )
    return scans
