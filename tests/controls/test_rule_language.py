"""The rule language's safety: CEL only, no Python internals, bounded, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ordertrail.domain.controls.rule_language import (
    EXPRESSION_CHARS_MAX,
    RuleLanguageError,
    compile_criterion,
    evaluate,
)
from ordertrail.domain.controls.rules import InvalidRule, Rule, rule_for, rule_from

NOW = datetime(2026, 11, 28, tzinfo=UTC)
FACTS = {
    "order": {"id": "SO-1", "customer_id": "C", "status": "delivered", "disputed": False},
    "line": {"line_id": "1", "sku": "W", "delivered": 2, "accepted": 0},
    "delivery": {"delivered": True, "signed": True, "delivered_at": "2026-10-01T00:00:00+00:00"},
    "days_since_delivery": 58,
}


def check(text: str) -> bool:
    return evaluate(compile_criterion(text), facts=FACTS, now=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("delivery.signed && line.delivered > 0", True),
        ("line.accepted >= line.delivered", False),
        ("days_since_delivery >= 30 && !order.disputed", True),
        ('now - delivery.delivered_at > duration("720h")', True),
        ('order.status in ["delivered", "completed"]', True),
    ],
)
def test_criteria_over_an_orders_facts(text: str, expected: bool) -> None:
    assert check(text) is expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("line.__class__", "underscore"),
        ("line._private", "underscore"),
        ("__import__('os')", "underscore"),
        ("os.system('ls')", "unknown name 'os'"),
        ("[1, 2].exists(x, x > 1)", "macro"),
        ("[1, 2].map(line, line)", "macro"),
        ("line.delivered >", "does not parse"),
        ("", "empty"),
    ],
)
def test_unsafe_or_broken_criteria_are_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(RuleLanguageError, match=says):
        compile_criterion(text)


def test_an_over_long_criterion_is_refused_before_parsing() -> None:
    text = " || ".join(["line.delivered > 0"] * (EXPRESSION_CHARS_MAX // 10))
    with pytest.raises(RuleLanguageError, match="characters"):
        compile_criterion(text)


def test_a_non_boolean_result_or_a_missing_fact_is_an_error_not_a_yes() -> None:
    with pytest.raises(RuleLanguageError, match="true or false"):
        check("line.delivered + 1")
    with pytest.raises(RuleLanguageError, match="failed"):
        check("line.nonexistent > 0")


def test_a_rule_definition_is_checked_field_by_field() -> None:
    with pytest.raises(InvalidRule, match="rule_id"):
        rule_from({"criterion": "true"}, version=1)
    with pytest.raises(InvalidRule, match=r"fallback\.kind"):
        rule_from({"rule_id": "r", "criterion": "true", "fallback": {"kind": "x"}}, version=1)
    with pytest.raises(InvalidRule, match=r"fallback\.days"):
        rule_from(
            {"rule_id": "r", "criterion": "true", "fallback": {"kind": "escalate", "days": -1}},
            version=1,
        )


def test_the_most_specific_rule_covers_a_line() -> None:
    rules = [
        Rule(rule_id="default", version=1, criterion="true"),
        Rule(rule_id="sku", version=1, criterion="true", sku="W"),
        Rule(rule_id="both", version=1, criterion="true", sku="W", customer_id="C"),
        Rule(rule_id="customer", version=1, criterion="true", customer_id="C"),
    ]
    assert rule_for(rules, sku="W", customer_id="C").rule_id == "both"  # type: ignore[union-attr]
    assert rule_for(rules, sku="W", customer_id="D").rule_id == "sku"  # type: ignore[union-attr]
    assert rule_for(rules, sku="X", customer_id="C").rule_id == "customer"  # type: ignore[union-attr]
    assert rule_for(rules, sku="X", customer_id="D").rule_id == "default"  # type: ignore[union-attr]
