"""The chart of accounts as data, the trial balance, and validations as findings."""

from __future__ import annotations

from datetime import date

import pytest

from ordertrail.domain.ledger import (
    ALL_OPEN,
    DEFAULT_CHART,
    InvalidChart,
    JournalEntry,
    Posting,
    UnknownAccount,
    balance_of,
    chart_from_rows,
    journal_entry,
    totals_by_currency,
    trial_balance,
    validate,
)


def make(cause: str, *pairs: tuple[str, int], obligation: str | None = "L1/unit") -> JournalEntry:
    return journal_entry(
        kind="recognition",
        contract_id="ctr-1",
        obligation_id=obligation,
        cause_event_id=cause,
        occurred_on=date(2024, 3, 1),
        postings=[Posting(a, m, "USD", "ctr-1", obligation, cause) for a, m in pairs],
        calendar=ALL_OPEN,
    )


def test_the_default_chart_has_every_account_the_engine_posts_to_with_gl_codes():
    for code in (
        "receivables",
        "contract_assets",
        "contract_liabilities",
        "refund_liabilities",
        "return_assets",
        "inventory",
        "cost_of_sales",
        "revenue_goods",
        "revenue_services",
        "revenue_licences",
        "revenue_subscriptions",
        "revenue_installation",
        "revenue_warranty_services",
    ):
        assert DEFAULT_CHART[code].gl_code.isdigit()
    assert DEFAULT_CHART["contract_liabilities"].normal_sign == -1
    assert DEFAULT_CHART["contract_assets"].normal_sign == 1


def test_a_chart_is_edited_as_rows():
    chart = chart_from_rows([("revenue_goods", "Sales", "revenue", "7000")])
    assert chart["revenue_goods"].gl_code == "7000"
    with pytest.raises(UnknownAccount):
        chart["receivables"]


@pytest.mark.parametrize(
    "rows",
    [
        [("a", "A", "asset", "1"), ("a", "A again", "asset", "2")],
        [("a", "A", "income", "1")],
    ],
)
def test_a_chart_with_duplicate_codes_or_unknown_kinds_is_refused(rows):
    with pytest.raises(InvalidChart):
        chart_from_rows(rows)


def test_the_trial_balance_of_balanced_entries_sums_to_zero():
    entries = [
        make("e1", ("receivables", 1200), ("contract_liabilities", -1200), obligation=None),
        make("e2", ("contract_liabilities", 1000), ("revenue_goods", -1000)),
    ]
    balances = trial_balance(entries)
    assert balances[("contract_liabilities", "USD")] == -200
    assert totals_by_currency(balances) == {"USD": 0}
    assert balance_of(entries, account="revenue_goods", obligation_id="L1/unit") == -1000


def test_a_sound_ledger_has_no_findings():
    entries = [make("e1", ("contract_assets", 10), ("revenue_goods", -10))]
    assert validate(entries, chart=DEFAULT_CHART) == []


def test_validations_report_unknown_accounts_dangling_reversals_and_id_conflicts():
    good = make("e1", ("contract_assets", 10), ("revenue_goods", -10))
    unknown = make("e2", ("mystery", 10), ("revenue_goods", -10))
    dangling = JournalEntry(**{**_fields(good), "entry_id": "r1", "reverses": "nope"})
    conflict = JournalEntry(**{**_fields(good), "memo": "changed"})
    checks = {f.check for f in validate([good, unknown, dangling, conflict], chart=DEFAULT_CHART)}
    assert checks == {"unknown_account", "dangling_reversal", "conflicting_id"}


def test_validations_report_an_unbalanced_entry_that_bypassed_construction():
    forged = JournalEntry(
        "x",
        "recognition",
        "ctr-1",
        None,
        "e",
        date(2024, 3, 1),
        date(2024, 3, 1),
        (Posting("receivables", 5, "USD", "ctr-1", None, "e"),),
    )
    checks = [f.check for f in validate([forged], chart=DEFAULT_CHART)]
    assert checks == ["unbalanced", "trial_balance_not_zero"]


def _fields(entry: JournalEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in JournalEntry.__dataclass_fields__}
