"""One carrier scan as a provider reported it, before any mapping: the input of `record_scans`.

Webhook parsers and pollers both produce `CarrierScan`s, so the mapping, ordering and storage rules
live in one place whichever way a scan arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CarrierScan:
    provider: str  # aftership, easypost, shippo, ups, fedex, 17track, dhl, usps
    tracking_number: str
    carrier: str  # the carrier's code as the provider names it (ups, fedex, dhl, usps, ...)
    raw_code: str  # the provider's status code exactly as received
    raw_text: str  # the provider's status text/description as received
    scanned_at: datetime  # the carrier's scan time, aware (UTC)
    location: str | None = None
    signed_by: str | None = None  # proof of delivery
    estimated_delivery_at: datetime | None = None
    raw_subcode: str | None = None  # e.g. AfterShip subtag, UPS status type+code
