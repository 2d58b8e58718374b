"""Turn an untrusted JSON object into an `OrderEvent`: envelope, schema version, upcast, payload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from ordertrail.domain.money import MoneyError, UnknownCurrency, exponent_of
from ordertrail.domain.orders.errors import FieldError, SchemaRejected
from ordertrail.domain.orders.events import (
    CURRENT_VERSION,
    SCHEMAS,
    UPCASTERS,
    Envelope,
    OrderEvent,
)

FUTURE_TOLERANCE = timedelta(minutes=15)


def _field_errors(error: ValidationError, *, prefix: str) -> tuple[FieldError, ...]:
    return tuple(
        FieldError(
            loc=".".join([prefix, *(str(part) for part in item["loc"])]).strip("."),
            code=item["type"],
            message=item["msg"],
        )
        for item in error.errors(include_url=False)
    )


def parse_event(raw: Any, *, now: datetime) -> OrderEvent:
    """Validate an inbound envelope and its payload, upcasting older schema versions.

    Raises SchemaRejected with one FieldError per problem, so a client can fix them all at once.
    """
    if not isinstance(raw, dict):
        raise SchemaRejected("schema_invalid", "an event must be a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as error:
        raise SchemaRejected(
            "schema_invalid",
            "the event envelope does not match its schema",
            field_errors=_field_errors(error, prefix=""),
        ) from None
    current = CURRENT_VERSION.get(envelope.type)
    if current is None:
        raise SchemaRejected(
            "unknown_event_type",
            f"{envelope.type!r} is not an event type Ordertrail knows",
            field_errors=(FieldError("type", "unknown_event_type", "unknown event type"),),
        )
    schema = SCHEMAS.get((envelope.type, envelope.schema_version))
    if schema is None:
        raise SchemaRejected(
            "unsupported_schema_version",
            f"{envelope.type} has no schema version {envelope.schema_version}; "
            f"the current version is {current}",
            field_errors=(
                FieldError("schema_version", "unsupported_schema_version", "unknown version"),
            ),
        )
    if envelope.occurred_at - now > FUTURE_TOLERANCE:
        raise SchemaRejected(
            "occurred_in_future",
            f"occurred_at {envelope.occurred_at.isoformat()} is more than "
            f"{int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes in the future",
            field_errors=(FieldError("occurred_at", "occurred_in_future", "in the future"),),
        )
    payload = _validate_payload(envelope=envelope, version=envelope.schema_version)
    return OrderEvent(
        event_id=envelope.event_id,
        type=envelope.type,
        schema_version=envelope.schema_version,
        tenant_id=envelope.tenant_id,
        source=envelope.source,
        occurred_at=envelope.occurred_at,
        order_id=envelope.order_id,
        payload=payload,
    )


def _validate_payload(*, envelope: Envelope, version: int) -> Any:
    event_type = envelope.type
    data: dict[str, Any] = envelope.payload
    try:
        model = SCHEMAS[(event_type, version)].model.model_validate(data)
        for step in range(version, CURRENT_VERSION[event_type]):
            data = UPCASTERS[(event_type, step)](model.model_dump(mode="json"))
            model = SCHEMAS[(event_type, step + 1)].model.model_validate(data)
    except ValidationError as error:
        raise SchemaRejected(
            "schema_invalid",
            f"the payload does not match {event_type} v{version}",
            field_errors=_field_errors(error, prefix="payload"),
        ) from None
    except UnknownCurrency as error:
        # The v1 upcaster needs the currency's exponent: an unknown currency is reported as
        # such, at its field, exactly as for a current-version event.
        raise SchemaRejected(
            "unknown_currency",
            str(error),
            field_errors=(FieldError("payload.currency", "unknown_currency", str(error)),),
        ) from None
    except MoneyError as error:
        raise SchemaRejected(
            "invalid_amount",
            str(error),
            field_errors=(FieldError("payload", "invalid_amount", str(error)),),
        ) from None
    currency = getattr(model, "currency", None)
    if currency is not None:
        try:
            exponent_of(currency)
        except UnknownCurrency as error:
            raise SchemaRejected(
                "unknown_currency",
                str(error),
                field_errors=(FieldError("payload.currency", "unknown_currency", str(error)),),
            ) from None
    return model
