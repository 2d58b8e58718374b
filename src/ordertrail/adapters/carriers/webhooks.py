"""The webhook providers: each one's signature scheme and body parser, in one table."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from ordertrail.adapters.carriers import aftership, easypost, fedex, shippo, track17, ups
from ordertrail.domain.shipments.scans import CarrierScan

PARSERS: MappingProxyType[str, Callable[[bytes], list[CarrierScan]]] = MappingProxyType(
    {
        "aftership": aftership.parse,
        "easypost": easypost.parse,
        "shippo": shippo.parse,
        "ups": ups.parse,
        "fedex": fedex.parse,
        "17track": track17.parse,
    }
)
WEBHOOK_PROVIDERS = tuple(PARSERS)
