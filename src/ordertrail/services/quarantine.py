"""Quarantine records: everything a client sent that was refused, with the reason, never lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ordertrail.domain.canonical import sha256_hex
from ordertrail.services.ports import Changes, Rejection, UnitOfWorkFactory


def identifying_text(value: Any) -> str | None:
    """Keep an identifying field from a rejected event if it is a string a database can hold.

    PostgreSQL text cannot contain U+0000 and UTF-8 cannot carry a lone surrogate; such a value
    stays visible in the quarantined body, escaped, but not in the identifying column.
    """
    if not isinstance(value, str) or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value[:256]


def rejection_of(
    *,
    quarantine_id: str,
    tenant_id: str,
    received_at: datetime,
    reason_code: str,
    reason: str,
    field_errors: list[dict[str, str]],
    body: str,
    checksum_sha256: str,
    actor: str,
    raw: dict[str, Any],
) -> Rejection:
    """The quarantine record of a refused submission, with what identifies it kept searchable."""
    return Rejection(
        quarantine_id=quarantine_id,
        tenant_id=tenant_id,
        received_at=received_at,
        reason_code=reason_code,
        reason=reason,
        field_errors=field_errors,
        body=body,
        checksum_sha256=checksum_sha256,
        actor=actor,
        event_id=identifying_text(raw.get("event_id")),
        order_id=identifying_text(raw.get("order_id")),
        event_type=identifying_text(raw.get("type")),
        source=identifying_text(raw.get("source")),
    )


def quarantine_unparseable(
    *,
    uow_factory: UnitOfWorkFactory,
    body: str,
    tenant_id: str,
    actor: str,
    now: datetime,
    new_id: Callable[[], str],
    code: str,
    message: str,
) -> str:
    """Keep a request body that is not even JSON (or not the right shape), and return its id."""
    quarantine_id = new_id()
    rejection = rejection_of(
        quarantine_id=quarantine_id,
        tenant_id=tenant_id,
        received_at=now,
        reason_code=code,
        reason=message,
        field_errors=[],
        body=body,
        checksum_sha256=sha256_hex(body),
        actor=actor,
        raw={},
    )
    with uow_factory() as uow:
        uow.orders.write(changes=Changes(quarantine=[rejection]), now=now)
        uow.commit()
    return quarantine_id
