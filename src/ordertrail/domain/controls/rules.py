"""Recognition rules: a completion criterion per SKU and/or customer, versioned, with a fallback.

A rule says when the revenue of a line's obligations may be recognized, over the order's facts
(carrier delivery, a signed receipt, customer acceptance, days since delivery, a dispute). The
most specific active rule applies to a line: SKU and customer, then SKU, then customer, then
the tenant's default (neither). A line no rule covers follows the engine's own trigger alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

from ordertrail.domain.controls.rule_language import RuleLanguageError, compile_criterion

FallbackKind = Literal["none", "estimated_delivery", "escalate"]
FALLBACK_KINDS: tuple[str, ...] = get_args(FallbackKind)
RuleStatus = Literal["proposed", "active", "rejected", "superseded"]
FALLBACK_DAYS_MAX = 365
RULE_ID_MAX = 64


class InvalidRule(Exception):
    """A rule definition cannot be stored: the message says which field and why."""


@dataclass(frozen=True, slots=True)
class Fallback:
    """What to do when tracking cannot show the criterion met.

    `estimated_delivery`: recognize shipped units as delivered `days` after the carrier's
    estimated delivery when no exception, return or dispute is known (flagged; trued up later).
    `escalate`: keep deferred and escalate `days` after the estimate (or after shipping).
    """

    kind: FallbackKind = "none"
    days: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    """One version of a recognition rule."""

    rule_id: str
    version: int
    criterion: str
    sku: str | None = None
    customer_id: str | None = None
    fallback: Fallback = Fallback()
    description: str = ""

    def matches(self, *, sku: str, customer_id: str) -> bool:
        return (self.sku is None or self.sku == sku) and (
            self.customer_id is None or self.customer_id == customer_id
        )

    @property
    def specificity(self) -> int:
        return (2 if self.sku is not None else 0) + (1 if self.customer_id is not None else 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "version": self.version,
            "criterion": self.criterion,
            "sku": self.sku,
            "customer_id": self.customer_id,
            "fallback": {"kind": self.fallback.kind, "days": self.fallback.days},
            "description": self.description,
        }


def rule_from(definition: Mapping[str, Any], *, version: int) -> Rule:
    """A rule from its JSON/YAML definition, checked; raises InvalidRule with the reason."""
    if not isinstance(definition, Mapping):
        raise InvalidRule("a rule is an object with rule_id and criterion")
    rule_id = definition.get("rule_id")
    if not isinstance(rule_id, str) or not 0 < len(rule_id) <= RULE_ID_MAX:
        raise InvalidRule(f"rule_id must be a string of 1 to {RULE_ID_MAX} characters")
    criterion = definition.get("criterion")
    if not isinstance(criterion, str):
        raise InvalidRule("criterion must be a CEL expression (a string)")
    try:
        compile_criterion(criterion)
    except RuleLanguageError as exc:
        raise InvalidRule(str(exc)) from exc
    raw = definition.get("fallback") or {}
    if not isinstance(raw, Mapping):
        raise InvalidRule("fallback must be an object with kind and days")
    kind = raw.get("kind", "none")
    days = raw.get("days", 0)
    if kind not in FALLBACK_KINDS:
        raise InvalidRule(f"fallback.kind must be one of {', '.join(FALLBACK_KINDS)}")
    if not isinstance(days, int) or not 0 <= days <= FALLBACK_DAYS_MAX:
        raise InvalidRule(f"fallback.days must be a whole number from 0 to {FALLBACK_DAYS_MAX}")
    for name in ("sku", "customer_id", "description"):
        if definition.get(name) is not None and not isinstance(definition.get(name), str):
            raise InvalidRule(f"{name} must be a string")
    return Rule(
        rule_id=rule_id,
        version=version,
        criterion=criterion,
        sku=definition.get("sku"),
        customer_id=definition.get("customer_id"),
        fallback=Fallback(kind=kind, days=days),
        description=str(definition.get("description") or ""),
    )


def rule_for(rules: Iterable[Rule], *, sku: str, customer_id: str) -> Rule | None:
    """The most specific rule covering a line; ties go to the lower rule id (deterministic)."""
    matching = [r for r in rules if r.matches(sku=sku, customer_id=customer_id)]
    if not matching:
        return None
    return min(matching, key=lambda r: (-r.specificity, r.rule_id))


def whole_days(*, since: datetime | None, now: datetime) -> int:
    """Whole days from `since` to `now`, or -1 when `since` is unknown."""
    return -1 if since is None else max((now - since).days, 0)
