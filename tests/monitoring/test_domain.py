"""The pure monitoring domain: rules, escalation paths, alert states, the Pareto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordertrail.domain.monitoring.alerts import (
    Alert,
    AlertKind,
    AlertState,
    AlertTransitionRefused,
    check_transition,
)
from ordertrail.domain.monitoring.escalation import (
    DEFAULT_PATH,
    EscalationLevel,
    InvalidEscalation,
    check_path,
    due_level,
)
from ordertrail.domain.monitoring.pareto import pareto
from ordertrail.domain.monitoring.rules import (
    DEFAULT_RULES,
    InvalidRule,
    Severity,
    StagnationRule,
    SubjectType,
    check_rule_set,
    effective_rules,
)

T = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_the_default_thresholds_are_the_agreed_ones():
    hours = {(r.subject_type.value, r.status): r.threshold_minutes / 60 for r in DEFAULT_RULES}
    assert hours[("shipment", "in_transit")] == 72
    assert hours[("shipment", "pre_transit")] == hours[("shipment", "label_created")] == 48
    assert hours[("shipment", "out_for_delivery")] == 24
    assert hours[("shipment", "delivery_attempted")] == 48
    assert hours[("shipment", "available_for_pickup")] == 48
    assert hours[("shipment", "exception")] == 24
    assert hours[("order", "confirmed")] == 48


@pytest.mark.parametrize(
    ("subject", "status"),
    [
        (SubjectType.SHIPMENT, "delivered"),
        (SubjectType.ORDER, "cancelled"),
        (SubjectType.ORDER, "x"),
    ],
)
def test_a_rule_on_a_terminal_or_unknown_status_is_refused(subject, status):
    with pytest.raises(InvalidRule, match="cannot stagnate"):
        StagnationRule(subject_type=subject, status=status, threshold_minutes=60)


@pytest.mark.parametrize("minutes", [0, 90 * 24 * 60 + 1])
def test_a_threshold_outside_a_minute_to_ninety_days_is_refused(minutes):
    with pytest.raises(InvalidRule, match="threshold_minutes"):
        StagnationRule(subject_type=SubjectType.ORDER, status="pending", threshold_minutes=minutes)


def test_a_tenant_rule_replaces_the_default_for_its_status_only():
    own = StagnationRule(
        subject_type=SubjectType.SHIPMENT, status="in_transit", threshold_minutes=60, enabled=False
    )
    rules = {r.key: r for r in effective_rules(overrides=[own])}
    assert rules[own.key] == own
    assert len(rules) == len(DEFAULT_RULES)
    with pytest.raises(InvalidRule, match="repeated"):
        check_rule_set([own, own])


def test_escalation_levels_are_reached_by_elapsed_time():
    assert due_level(path=DEFAULT_PATH, opened_at=T, now=T) == 1
    assert due_level(path=DEFAULT_PATH, opened_at=T, now=T + timedelta(hours=3, minutes=59)) == 1
    assert due_level(path=DEFAULT_PATH, opened_at=T, now=T + timedelta(hours=4)) == 2
    assert due_level(path=DEFAULT_PATH, opened_at=T, now=T + timedelta(hours=24)) == 3
    late = (EscalationLevel(level=1, delay_minutes=30, target_role="ops"),)
    assert due_level(path=late, opened_at=T, now=T) == 0


def test_a_path_with_gaps_or_delays_going_back_is_refused():
    one = EscalationLevel(level=1, delay_minutes=60, target_role="ops")
    with pytest.raises(InvalidEscalation, match="without gaps"):
        check_path([one, EscalationLevel(level=3, delay_minutes=90, target_role="x")])
    with pytest.raises(InvalidEscalation, match="before"):
        check_path([one, EscalationLevel(level=2, delay_minutes=30, target_role="x")])
    with pytest.raises(InvalidEscalation, match="email"):
        EscalationLevel(level=1, delay_minutes=0, target_role="ops", email_to=("not-an-address",))
    with pytest.raises(InvalidEscalation, match="target_role"):
        EscalationLevel(level=1, delay_minutes=0, target_role="Ops Team")


def _alert(state: AlertState) -> Alert:
    return Alert(
        id=1,
        tenant_id="acme",
        kind=AlertKind.SHIPMENT_STAGNANT,
        subject="S1",
        severity=Severity.WARNING,
        state=state,
        summary="s",
        opened_at=T,
        escalation_level=0,
    )


def test_alert_states_move_forward_only():
    check_transition(alert=_alert(AlertState.OPEN), wanted=AlertState.ACKNOWLEDGED)
    check_transition(alert=_alert(AlertState.ACKNOWLEDGED), wanted=AlertState.RESOLVED)
    for state, wanted in [
        (AlertState.ACKNOWLEDGED, AlertState.ACKNOWLEDGED),
        (AlertState.RESOLVED, AlertState.RESOLVED),
        (AlertState.RESOLVED, AlertState.ACKNOWLEDGED),
    ]:
        with pytest.raises(AlertTransitionRefused):
            check_transition(alert=_alert(state), wanted=wanted)


def test_the_pareto_ranks_by_count_with_cumulative_percentages():
    rows = pareto({"carrier": 50, "customer": 30, "data": 15, "system": 5, "warehouse": 0})
    assert [(r.rank, r.cause, r.count) for r in rows] == [
        (1, "carrier", 50),
        (2, "customer", 30),
        (3, "data", 15),
        (4, "system", 5),
    ]
    assert [r.percent for r in rows] == [50.0, 30.0, 15.0, 5.0]
    assert [r.cumulative_percent for r in rows] == [50.0, 80.0, 95.0, 100.0]
    assert [r.cumulative_count for r in rows] == [50, 80, 95, 100]


def test_pareto_ties_rank_by_name_and_thirds_round_once():
    rows = pareto({"b": 1, "a": 1, "c": 1})
    assert [r.cause for r in rows] == ["a", "b", "c"]
    assert [r.cumulative_percent for r in rows] == [33.33, 66.67, 100.0]
    assert pareto({}) == ()


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers(0, 10_000), max_size=12))
def test_pareto_counts_never_rise_and_the_cumulative_share_ends_at_one_hundred(counts):
    rows = pareto(counts)
    assert [r.count for r in rows] == sorted((r.count for r in rows), reverse=True)
    cumulative = [r.cumulative_percent for r in rows]
    assert cumulative == sorted(cumulative)
    if rows:
        assert cumulative[-1] == 100.0
        assert rows[-1].cumulative_count == sum(counts.values())
