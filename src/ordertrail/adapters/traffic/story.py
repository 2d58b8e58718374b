"""The parts of an order's story: timed steps, the lines as planned, and how often each branch is.

A story's steps each happen after every step they depend on (a delivery after its dispatch, a
credit note after its invoice and return), so the steps sorted by time are a valid history, and
so is every prefix of them: cutting the month off at its last day leaves orders in every status.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ordertrail.domain.orders import CURRENT_VERSION

# How often each branch of the story happens. Read as "share of orders" unless noted.
SHARES: dict[str, float] = {
    "legacy_v1": 0.06,  # placed by an older ERP, prices as decimal strings (schema v1)
    "b2b": 0.10,  # larger quantities
    "fob_shipping_point": 0.20,
    "hold": 0.04,
    "hold_released": 0.90,  # of holds
    "cancel_whole": 0.03,
    "unconfirmed": 0.02,
    "amend": 0.10,
    "amend_adds_line": 0.40,  # of amendments
    "cancel_part": 0.04,
    "backorder": 0.15,
    "backorder_cancelled": 0.20,  # of backorders: the customer cancels instead of waiting
    "split_delivery": 0.04,  # of parcels
    "accept": 0.55,
    "return": 0.08,
    "return_all": 0.20,  # of returns
    "dispute": 0.05,  # of orders without a return
}
LINES_COUNT_WEIGHTS = {1: 35, 2: 25, 3: 18, 4: 12, 5: 10}
PARCELS_COUNT_WEIGHTS = {1: 70, 2: 22, 3: 8}
QUANTITY_WEIGHTS = {1: 50, 2: 25, 3: 12, 4: 8, 6: 5}
WAREHOUSES = ("WH-RENO", "WH-MEMPHIS", "WH-ROTTERDAM")
DISPUTE_OUTCOME_WEIGHTS = {"upheld": 40, "rejected": 40, "withdrawn": 20}
DISPUTE_CREDIT_SHARE = 0.20
HOUR_S = 3600
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Step:
    occurred_at: datetime
    event_type: str
    source: str
    payload: dict[str, Any]
    schema_version: int = 1


@dataclass(slots=True)
class PlannedLine:
    sku: str
    description: str
    price_minor: int
    active: int
    ordered_max: int


@dataclass(slots=True)
class Story:
    """The steps of one order, and the facts the mischief step needs to forge bad events."""

    order_id: str
    number: int
    currency: str
    lines: dict[str, PlannedLine] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def add(self, at: datetime, event_type: str, source: str, payload: dict[str, Any]) -> None:
        version = CURRENT_VERSION[event_type]
        self.steps.append(Step(at, event_type, source, payload, version))


def pick(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def after(rng: random.Random, at: datetime, *, low_s: int, high_s: int) -> datetime:
    return at + timedelta(seconds=rng.randint(low_s, high_s))


def chance(rng: random.Random, share: str) -> bool:
    return rng.random() < SHARES[share]


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def quantities(units: dict[str, int]) -> list[dict[str, Any]]:
    return [{"line_id": line_id, "quantity": q} for line_id, q in units.items() if q > 0]
