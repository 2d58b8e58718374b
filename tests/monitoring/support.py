"""Helpers for the monitoring tests: shipments inserted through CARRIERS' table, sink fakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert

from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.services.alert_ports import DeliveryResult, Notification


def add_shipment(
    engine: Engine,
    *,
    shipment_id: str,
    status: str,
    last_update_at: datetime | None,
    created_at: datetime,
    tenant_id: str = "acme",
    carrier: str = "ups",
    order_id: str = "SO-1",
    reason: str = "none",
    root_cause: str | None = None,
    estimated_delivery_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> None:
    row: dict[str, Any] = {
        "tenant_id": tenant_id,
        "shipment_id": shipment_id,
        "order_id": order_id,
        "carrier": carrier,
        "tracking_number": f"1Z{shipment_id}",
        "status": status,
        "reason": reason,
        "root_cause": root_cause,
        "last_update_at": last_update_at,
        "estimated_delivery_at": estimated_delivery_at,
        "delivered_at": delivered_at,
        "created_at": created_at,
    }
    with engine.begin() as connection:
        connection.execute(insert(shipments).values(**row))


def add_shipments(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Bulk insert with defaults for what a row does not say."""
    full = [
        {
            "tenant_id": "acme",
            "order_id": "SO-1",
            "reason": "none",
            "root_cause": None,
            "last_update_at": None,
            "estimated_delivery_at": None,
            "delivered_at": None,
            "tracking_number": f"1Z{row['shipment_id']}",
            **row,
        }
        for row in rows
    ]
    with engine.begin() as connection:
        connection.execute(insert(shipments), full)


@dataclass
class RecordingSink:
    """A sink that keeps what it was given (and can be told to fail)."""

    name: str = "recording"
    fail: bool = False
    sent: list[Notification] = field(default_factory=list)

    def send(self, *, notification: Notification) -> DeliveryResult:
        self.sent.append(notification)
        if self.fail:
            return DeliveryResult(sink=self.name, sent=False, error="down")
        return DeliveryResult(sink=self.name, sent=True)
