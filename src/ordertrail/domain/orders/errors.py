"""Why an event was refused: named exceptions with machine-readable codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of an event: where, a stable code, and a sentence."""

    loc: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"loc": self.loc, "code": self.code, "message": self.message}


class EventRejected(Exception):
    """An event that cannot be applied. It is quarantined with `code`, never dropped."""

    kind = "invalid_event"

    def __init__(self, code: str, message: str, *, field_errors: tuple[FieldError, ...] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field_errors = field_errors


class SchemaRejected(EventRejected):
    """The envelope or payload does not match its declared schema."""

    kind = "schema"


class IllegalTransition(EventRejected):
    """The event is well formed but the order's lifecycle does not allow it now."""

    kind = "lifecycle"


class InvariantViolation(Exception):
    """A domain invariant failed after a change: a bug, never bad input. Aborts the transaction."""
