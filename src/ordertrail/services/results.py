"""The answer ingest gives for each submitted event."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    CONFLICT = "conflict"


# The HTTP status a single-event request answers with, per outcome.
HTTP_STATUS: dict[Outcome, int] = {
    Outcome.APPLIED: 201,
    Outcome.DUPLICATE: 200,
    Outcome.REJECTED: 422,
    Outcome.CONFLICT: 409,
}


# Not frozen: one is built per event on the hot path (see services/ports.py).
@dataclass(slots=True)
class IngestResult:
    index: int
    outcome: Outcome
    event_id: str | None
    order_id: str | None = None
    order_status: str | None = None
    order_version: int | None = None
    effect: str | None = None
    late: bool = False
    error_code: str | None = None
    error_kind: str | None = None
    message: str | None = None
    field_errors: list[dict[str, str]] = field(default_factory=list)
    quarantine_id: str | None = None

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "index": self.index,
            "outcome": self.outcome.value,
            "event_id": self.event_id,
        }
        if self.outcome in (Outcome.APPLIED, Outcome.DUPLICATE):
            data |= {
                "order_id": self.order_id,
                "order_status": self.order_status,
                "order_version": self.order_version,
                "effect": self.effect,
                "late": self.late,
            }
        else:
            data["error"] = {
                "code": self.error_code,
                "kind": self.error_kind,
                "message": self.message,
                "fields": self.field_errors,
                "quarantine_id": self.quarantine_id,
            }
        return data


@dataclass(frozen=True, slots=True)
class BatchSummary:
    applied: int
    duplicate: int
    rejected: int
    conflict: int

    @classmethod
    def of(cls, results: list[IngestResult]) -> BatchSummary:
        counts = dict.fromkeys(Outcome, 0)
        for result in results:
            counts[result.outcome] += 1
        return cls(
            applied=counts[Outcome.APPLIED],
            duplicate=counts[Outcome.DUPLICATE],
            rejected=counts[Outcome.REJECTED],
            conflict=counts[Outcome.CONFLICT],
        )
