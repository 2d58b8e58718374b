"""Stagnation rules: how long a shipment or an order may stay in one status before someone looks.

The defaults are a table a reader checks in one glance; a tenant's own rules (stored in the
database, edited by an admin) replace the default for the same subject and status. A disabled
rule is kept as a rule, so "we do not watch this" is a decision on record, not a missing row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ordertrail.domain.orders.status import LIFECYCLE, OrderStatus
from ordertrail.domain.shipments.status import TERMINAL_STATUSES, ShipmentStatus

THRESHOLD_MINUTES_MIN = 1
# Beyond 90 days a "stagnation" is an archive question, not an alert.
THRESHOLD_MINUTES_MAX = 90 * 24 * 60
RULES_PER_TENANT_MAX = 100
HOUR = 60


class SubjectType(StrEnum):
    SHIPMENT = "shipment"
    ORDER = "order"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class InvalidRule(ValueError):
    """A rule that cannot be applied: unknown or terminal status, threshold out of bounds."""


# The statuses a rule may watch: a terminal status never stagnates, it has ended.
WATCHABLE: dict[SubjectType, frozenset[str]] = {
    SubjectType.SHIPMENT: frozenset(s.value for s in ShipmentStatus if s not in TERMINAL_STATUSES),
    SubjectType.ORDER: frozenset(s.value for s in OrderStatus if not LIFECYCLE[s].terminal),
}


@dataclass(frozen=True, slots=True)
class StagnationRule:
    """Alert when a subject has stayed in `status` for `threshold_minutes` without an update."""

    subject_type: SubjectType
    status: str
    threshold_minutes: int
    severity: Severity = Severity.WARNING
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.status not in WATCHABLE[self.subject_type]:
            raise InvalidRule(
                f"{self.subject_type.value} status {self.status!r} cannot stagnate; use one of "
                + ", ".join(sorted(WATCHABLE[self.subject_type]))
            )
        if not THRESHOLD_MINUTES_MIN <= self.threshold_minutes <= THRESHOLD_MINUTES_MAX:
            raise InvalidRule(
                f"threshold_minutes must be between {THRESHOLD_MINUTES_MIN} and "
                f"{THRESHOLD_MINUTES_MAX} (90 days)"
            )

    @property
    def key(self) -> tuple[SubjectType, str]:
        return (self.subject_type, self.status)


SH, OR = SubjectType.SHIPMENT, SubjectType.ORDER
W, C = Severity.WARNING, Severity.CRITICAL

# subject, status, hours without an update, severity.
DEFAULT_RULES: tuple[StagnationRule, ...] = tuple(
    StagnationRule(
        subject_type=subject, status=status, threshold_minutes=hours * HOUR, severity=sev
    )
    for subject, status, hours, sev in (
        (SH, "label_created", 48, W),
        (SH, "pre_transit", 48, W),
        (SH, "in_transit", 72, W),
        (SH, "out_for_delivery", 24, C),
        (SH, "delivery_attempted", 48, W),
        (SH, "available_for_pickup", 48, W),
        (SH, "exception", 24, C),
        # Orders: confirmed but not shipped, placed but never confirmed, waiting for stock.
        (OR, "pending", 24, W),
        (OR, "confirmed", 48, W),
        (OR, "backordered", 168, W),
        (OR, "partially_fulfilled", 72, W),
    )
)


def effective_rules(
    *, overrides: Iterable[StagnationRule], defaults: Iterable[StagnationRule] = DEFAULT_RULES
) -> tuple[StagnationRule, ...]:
    """Return the rules in force: the defaults, each replaced by the tenant's rule for its key."""
    merged = {rule.key: rule for rule in defaults}
    merged.update({rule.key: rule for rule in overrides})
    return tuple(sorted(merged.values(), key=lambda r: (r.subject_type.value, r.status)))


def check_rule_set(rules: Iterable[StagnationRule]) -> tuple[StagnationRule, ...]:
    """Return the rules if one tenant may store them together; raise InvalidRule otherwise."""
    rules = tuple(rules)
    if len(rules) > RULES_PER_TENANT_MAX:
        raise InvalidRule(f"at most {RULES_PER_TENANT_MAX} rules per tenant")
    keys = [rule.key for rule in rules]
    duplicates = sorted({f"{s.value}/{st}" for s, st in keys if keys.count((s, st)) > 1})
    if duplicates:
        raise InvalidRule(f"one rule per subject and status; repeated: {', '.join(duplicates)}")
    return rules
