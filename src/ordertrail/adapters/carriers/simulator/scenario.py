"""Seeded parcel journeys: which scans each simulated parcel gets, and when they become visible.

Every parcel walks label created -> picked up -> in transit -> out for delivery -> delivered, with
seeded variations: an exception or a failed delivery attempt on the way, or a parcel that stalls
and is never delivered. Each scan is written in the provider's own vocabulary (code and text), so
the pollers and the mapping tables meet the same words as in production. The same seed always
gives the same parcels, scans and faults.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

# Stage -> (code, subcode, text) per provider, from each provider's documented codes.
VOCABULARY: Mapping[str, Mapping[str, tuple[str, str | None, str]]] = MappingProxyType(
    {
        "ups": {
            "label_created": (
                "M",
                "MP",
                "Shipper created a label, UPS has not received the package yet.",
            ),
            "picked_up": ("P", "PU", "Pickup Scan"),
            "in_transit": ("I", "AR", "Arrived at Facility"),
            "departed": ("I", "DP", "Departed from Facility"),
            "exception": ("X", "UY", "Weather may delay delivery."),
            "out_for_delivery": ("I", "OT", "Out For Delivery Today"),
            "delivery_attempted": ("X", "48", "The receiver was not available for delivery."),
            "delivered": ("D", "FS", "DELIVERED"),
        },
        "dhl": {
            "label_created": (
                "pre-transit",
                None,
                "The shipment data has been transmitted to DHL.",
            ),
            "picked_up": ("transit", "picked-up", "The shipment has been picked up."),
            "in_transit": ("transit", None, "Arrived at DHL sort facility."),
            "departed": ("transit", None, "Departed from DHL sort facility."),
            "exception": ("failure", "delay", "Delivery delayed: adverse weather."),
            "out_for_delivery": ("transit", "out-for-delivery", "With delivery courier."),
            "delivery_attempted": ("failure", "delivery-attempted", "Recipient not at home."),
            "delivered": ("delivered", None, "Delivered."),
        },
        "usps": {
            "label_created": ("GX", None, "Shipping Label Created, USPS Awaiting Item"),
            "picked_up": ("03", None, "USPS picked up item"),
            "in_transit": ("10", None, "Arrived at USPS Regional Facility"),
            "departed": ("EF", None, "Departed USPS Regional Facility"),
            "exception": ("NT", None, "Delivery Exception, Animal Interference"),
            "out_for_delivery": ("OF", None, "Out for Delivery"),
            "delivery_attempted": ("02", None, "Notice Left (No Authorized Recipient Available)"),
            "delivered": ("01", None, "Delivered, Front Door/Porch"),
        },
        # The webhook providers, in the codes their mapping tables know.
        "aftership": {
            "label_created": ("InfoReceived", None, "Shipment information received"),
            "picked_up": ("InTransit", "InTransit_002", "Shipment picked up"),
            "in_transit": ("InTransit", None, "Arrived at facility"),
            "departed": ("InTransit", None, "Departed facility"),
            "exception": ("Exception", "Exception_004", "Delayed due to weather"),
            "out_for_delivery": ("OutForDelivery", None, "Out for delivery"),
            "delivery_attempted": ("AttemptFail", None, "Recipient not available"),
            "delivered": ("Delivered", "Delivered_001", "Delivered"),
        },
        "easypost": {
            "label_created": ("pre_transit", "label_created", "Label created"),
            "picked_up": ("in_transit", None, "Picked up"),
            "in_transit": ("in_transit", None, "Arrived at facility"),
            "departed": ("in_transit", None, "Departed facility"),
            "exception": ("in_transit", "weather_delay", "Weather delay"),
            "out_for_delivery": ("out_for_delivery", None, "Out for delivery"),
            "delivery_attempted": ("available_for_pickup", None, "Held at post office"),
            "delivered": ("delivered", None, "Delivered"),
        },
        "shippo": {
            "label_created": ("PRE_TRANSIT", None, "Label created"),
            "picked_up": ("TRANSIT", "package_accepted", "Package accepted"),
            "in_transit": ("TRANSIT", None, "In transit"),
            "departed": ("TRANSIT", None, "Departed facility"),
            "exception": ("TRANSIT", "address_issue", "Address issue"),
            "out_for_delivery": ("TRANSIT", "out_for_delivery", "Out for delivery"),
            "delivery_attempted": ("TRANSIT", "delivery_attempted", "Delivery attempted"),
            "delivered": ("DELIVERED", None, "Delivered"),
        },
        "fedex": {
            "label_created": ("OC", None, "Shipment information sent to FedEx"),
            "picked_up": ("PU", None, "Picked up"),
            "in_transit": ("IT", None, "In transit"),
            "departed": ("IT", None, "Departed FedEx location"),
            "exception": ("SE", None, "Shipment exception"),
            "out_for_delivery": ("OD", None, "On FedEx vehicle for delivery"),
            "delivery_attempted": ("DE", None, "Delivery exception"),
            "delivered": ("DL", None, "Delivered"),
        },
        "17track": {
            "label_created": ("InfoReceived", None, "Shipment information received"),
            "picked_up": ("InTransit", "InTransit_PickedUp", "Picked up"),
            "in_transit": ("InTransit", None, "Arrived at sorting center"),
            "departed": ("InTransit", None, "Departed sorting center"),
            "exception": ("Exception", "Exception_Delayed", "Delayed"),
            "out_for_delivery": ("OutForDelivery", None, "Out for delivery"),
            "delivery_attempted": ("DeliveryFailure", None, "Delivery failed"),
            "delivered": ("Delivered", None, "Delivered"),
        },
    }
)
# Simulated stage -> the canonical status its codes stand for ("departed" is one more in-transit
# scan); the mapping tables must agree, which the simulator's webhook tests check.
STAGE_STATUSES = {
    stage: "in_transit" if stage == "departed" else stage for stage in VOCABULARY["ups"]
}
POLLED_PROVIDERS = ("ups", "dhl", "usps")
WEBHOOK_PROVIDERS = ("aftership", "easypost", "shippo", "ups", "fedex", "17track")
PROVIDERS = tuple(VOCABULARY)
# The carrier a seeded parcel of each provider travels with (aggregators name the carrier).
CARRIER_OF = {
    "ups": "ups",
    "dhl": "dhl",
    "usps": "usps",
    "fedex": "fedex",
    "aftership": "fedex",
    "easypost": "usps",
    "shippo": "ups",
    "17track": "dhl",
}
CITIES = (
    "LOUISVILLE, KY, US",
    "MEMPHIS, TN, US",
    "LEIPZIG, DE",
    "CHICAGO, IL, US",
    "ATLANTA, GA, US",
)
SIGNERS = ("J. SMITH", "FRONT DESK", "A. MÜLLER", "")


@dataclass(frozen=True, slots=True)
class Faults:
    """How unreliable the simulated carrier is; shares are probabilities per parcel or scan."""

    duplicate_share: float = 0.1  # a scan reported twice
    missing_share: float = 0.05  # a (non-final) scan never reported
    out_of_order: bool = True  # events listed in shuffled order
    lag_s_max: int = 1800  # a scan becomes visible up to this long after it happened
    stalled_share: float = 0.1  # a parcel that stops moving and is never delivered
    # Minutes between two scans of a parcel (uniform): hours apart, as real networks scan.
    scan_gap_minutes: tuple[int, int] = (20, 600)


@dataclass(frozen=True, slots=True)
class SimScan:
    stage: str
    code: str
    subcode: str | None
    text: str
    at: datetime
    visible_at: datetime
    location: str


@dataclass(frozen=True, slots=True)
class Parcel:
    provider: str
    carrier: str
    tracking_number: str
    scans: tuple[SimScan, ...]
    signer: str | None
    estimated_delivery_at: datetime

    def visible(self, *, now: datetime) -> list[SimScan]:
        return [scan for scan in self.scans if scan.visible_at <= now]


@dataclass(frozen=True, slots=True)
class Scenario:
    seed: int
    parcels: Mapping[tuple[str, str], Parcel]  # (provider, tracking number) -> parcel

    def of(self, provider: str) -> list[Parcel]:
        return [parcel for (name, _), parcel in self.parcels.items() if name == provider]


def _number(provider: str, index: int, rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(10))
    prefix = {"ups": "1ZSIM", "dhl": "JD01", "usps": "9400", "fedex": "7700"}
    return f"{prefix.get(provider, provider[:3].upper())}{index:04d}{digits}"


def _stages(rng: random.Random, faults: Faults) -> list[str]:
    stages = ["label_created", "picked_up", "in_transit", "departed"]
    stages += ["in_transit", "departed"] * rng.randint(0, 2)
    if rng.random() < 0.15:
        stages.append("exception")
    if rng.random() < faults.stalled_share:
        return stages
    stages.append("out_for_delivery")
    if rng.random() < 0.15:
        stages += ["delivery_attempted", "out_for_delivery"]
    return [*stages, "delivered"]


def _parcel(
    provider: str,
    number: str,
    *,
    carrier: str,
    start: datetime,
    rng: random.Random,
    faults: Faults,
) -> Parcel:
    stages = _stages(rng, faults)
    at = start + timedelta(minutes=rng.randint(0, 240))
    scans: list[SimScan] = []
    for position, stage in enumerate(stages):
        code, subcode, text = VOCABULARY[provider][stage]
        visible_at = at + timedelta(seconds=rng.randint(0, faults.lag_s_max))
        scan = SimScan(stage, code, subcode, text, at, visible_at, rng.choice(CITIES))
        last = position == len(stages) - 1
        if last or position == 0 or rng.random() >= faults.missing_share:
            scans.append(scan)
            if rng.random() < faults.duplicate_share:
                scans.append(scan)
        at += timedelta(minutes=rng.randint(*faults.scan_gap_minutes))
    return Parcel(
        provider=provider,
        carrier=carrier,
        tracking_number=number,
        scans=tuple(scans),
        signer=rng.choice(SIGNERS) or None,
        estimated_delivery_at=start + timedelta(days=rng.randint(2, 5)),
    )


def build_scenario(
    *,
    seed: int,
    start: datetime,
    parcels_per_provider: int,
    providers: Sequence[str] = POLLED_PROVIDERS,
    faults: Faults = Faults(),
    numbers: Sequence[tuple[str, str, str]] = (),
) -> Scenario:
    """The same seed, start and sizes always give the same parcels and faults.

    `numbers` ((provider, tracking number, carrier) triples) adds parcels with given tracking
    numbers, so the simulator can track shipments that exist in an Ordertrail database.
    """
    rng = random.Random(seed)  # noqa: S311 - simulation, not security
    wanted = [
        (provider, _number(provider, index, rng), CARRIER_OF.get(provider, provider))
        for provider in providers
        for index in range(parcels_per_provider)
    ]
    parcels: dict[tuple[str, str], Parcel] = {}
    for provider, number, carrier in [*wanted, *numbers]:
        if provider not in VOCABULARY:
            known = ", ".join(PROVIDERS)
            raise ValueError(f"the simulator does not serve {provider!r} (it serves {known})")
        parcel = _parcel(provider, number, carrier=carrier, start=start, rng=rng, faults=faults)
        parcels[(provider, number)] = parcel
    return Scenario(seed=seed, parcels=MappingProxyType(parcels))
