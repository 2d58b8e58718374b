"""The documents the API answers with, shaped once for every store that serves them."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol


class OrderProjectionRow(Protocol):
    """The columns of a current-state projection row, however a store holds them."""

    @property
    def tenant_id(self) -> str: ...
    @property
    def order_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def currency(self) -> str: ...
    @property
    def on_hold(self) -> bool: ...
    @property
    def disputed(self) -> bool: ...
    @property
    def placed_at(self) -> datetime: ...
    @property
    def last_occurred_at(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def state(self) -> str: ...


def iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def order_document(row: OrderProjectionRow) -> dict[str, Any]:
    """The API's view of an order: its status, flags, lines with quantities, billing, times."""
    state = json.loads(row.state)
    return {
        "order_id": row.order_id,
        "tenant_id": row.tenant_id,
        "status": row.status,
        "version": row.version,
        "customer_id": row.customer_id,
        "currency": row.currency,
        "shipping_terms": state["shipping_terms"],
        "package_id": state["package_id"],
        "confirmed": state["confirmed"],
        "flags": {
            "on_hold": row.on_hold,
            "holds": state["holds"],
            "disputed": row.disputed,
            "disputes": state["disputes"],
        },
        "lines": state["lines"],
        "shipments": state["shipments"],
        "billing": {
            "invoiced_minor": state["invoiced_minor"],
            "credited_minor": state["credited_minor"],
            "documents": state["document_ids"],
        },
        "placed_at": iso_or_none(row.placed_at),
        "last_occurred_at": iso_or_none(row.last_occurred_at),
        "created_at": iso_or_none(row.created_at),
        "updated_at": iso_or_none(row.updated_at),
    }
