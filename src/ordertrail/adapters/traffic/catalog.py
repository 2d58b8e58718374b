"""Reference data for generated traffic: products, currencies, carriers, people and reasons.

Everything here is a table, so the shape of the demo month can be read (and tuned) at a glance.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from ordertrail.domain.money import exponent_of

# (sku, description, list price in US cents).
PRODUCTS: tuple[tuple[str, str, int], ...] = (
    ("KB-MX-101", "Mechanical keyboard, brown switches", 12_900),
    ("KB-LP-220", "Low-profile wireless keyboard", 7_900),
    ("MS-ERG-310", "Ergonomic vertical mouse", 5_400),
    ("MS-TRV-120", "Travel mouse", 2_499),
    ("MON-27-4K", '27" 4K monitor', 38_900),
    ("MON-24-FHD", '24" full HD monitor', 15_900),
    ("ARM-DUAL-02", "Dual monitor arm", 11_900),
    ("DOCK-USB4-9", "USB4 docking station", 24_900),
    ("CBL-USBC-2M", "USB-C cable, 2 m", 1_599),
    ("CBL-HDMI-3M", "HDMI 2.1 cable, 3 m", 1_899),
    ("HS-ANC-700", "Noise-cancelling headset", 19_900),
    ("CAM-4K-PRO", "4K conference webcam", 16_900),
    ("CHR-MESH-5", "Mesh office chair", 42_900),
    ("DSK-STAND-L", "Standing desk frame, large", 54_900),
    ("LMP-LED-12", "LED desk lamp", 4_999),
    ("SSD-NV-2TB", "NVMe SSD 2 TB", 13_900),
    ("HUB-7P-USB", "Seven-port USB hub", 3_499),
    ("PAD-XL-900", "Desk mat, extra large", 2_999),
    ("PWR-100W-GAN", "100 W GaN charger", 5_999),
    ("SPK-BT-MINI", "Bluetooth speaker, mini", 3_999),
    ("UPS-1500VA", "Uninterruptible power supply 1500 VA", 21_900),
    ("RTR-WIFI7", "Wi-Fi 7 router", 29_900),
    ("LBL-PRN-4X6", "4x6 label printer", 17_900),
    ("SCN-DOC-20", "Document scanner, 20 ppm", 27_900),
)

# (currency, share of orders, units of the currency per US dollar).
CURRENCIES: tuple[tuple[str, int, float], ...] = (
    ("USD", 60, 1.0),
    ("EUR", 18, 0.92),
    ("GBP", 10, 0.79),
    ("CAD", 7, 1.36),
    ("JPY", 5, 150.0),
)

SIGNERS = (
    "A. Okafor",
    "M. Lindqvist",
    "J. Alvarez",
    "R. Chen",
    "S. Novak",
    "P. Haddad",
    "K. Tanaka",
    "L. Moreau",
    "D. Mensah",
    "front desk",
)
LOCATIONS = ("front door", "reception", "mailroom", "loading dock", "parcel locker", "neighbour")
HOLD_REASONS = ("credit_check", "fraud_review", "address_verification", "export_screening")
DISPUTE_REASONS = ("damaged_in_transit", "not_as_described", "missing_items", "late_delivery")
RETURN_REASONS = (
    ("changed mind", "resellable"),
    ("arrived damaged", "damaged"),
    ("wrong item shipped", "resellable"),
    ("defective on arrival", "damaged"),
)
CANCEL_REASONS = ("customer request", "duplicate order", "payment declined")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choices(string.digits, k=count))


def _ups(rng: random.Random) -> str:
    account = "".join(rng.choices(string.ascii_uppercase + string.digits, k=6))
    return f"1Z{account}{_digits(rng, 10)}"


@dataclass(frozen=True, slots=True)
class Carrier:
    name: str
    share: int
    # (service level, transit days min, transit days max).
    services: tuple[tuple[str, int, int], ...]
    tracking_number: Callable[[random.Random], str]


CARRIERS: tuple[Carrier, ...] = (
    Carrier("ups", 35, (("Ground", 2, 5), ("2nd Day Air", 2, 2), ("Next Day Air", 1, 1)), _ups),
    Carrier("fedex", 30, (("Ground", 2, 5), ("Express Saver", 2, 3)), lambda r: _digits(r, 12)),
    Carrier(
        "usps",
        20,
        (("Ground Advantage", 2, 6), ("Priority Mail", 1, 3)),
        lambda r: "9400" + _digits(r, 18),
    ),
    Carrier(
        "dhl", 15, (("Express Worldwide", 1, 3), ("Economy Select", 3, 7)), lambda r: _digits(r, 10)
    ),
)


def price_in(*, usd_cents: int, currency: str, rate: float) -> int:
    """Convert a US list price to a shelf price in minor units: x.99, or whole tens of yen."""
    exponent = exponent_of(currency)
    value = usd_cents * rate * 10 ** (exponent - 2)
    if exponent == 0:
        return max(10, round(value / 10) * 10)
    step = 10**exponent
    return max(step - 1, int(value // step) * step + step - 1)


def decimal_text(*, amount_minor: int, currency: str) -> str:
    """Write minor units as the decimal string older ERPs export ('129.99', '1500')."""
    exponent = exponent_of(currency)
    if exponent == 0:
        return str(amount_minor)
    whole, fraction = divmod(amount_minor, 10**exponent)
    return f"{whole}.{fraction:0{exponent}d}"
