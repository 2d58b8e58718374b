"""The report arithmetic: waterfall buckets, RPO bands, the rollforward and the trial balance."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordertrail.domain.ledger import period_index, period_key
from ordertrail.domain.ledger.reports import (
    AccountTotal,
    TrialBalanceNotZero,
    trial_balance_report,
)
from ordertrail.domain.revenue.reports import (
    ObligationPosition,
    PositionMovement,
    expected_of,
    positions_total,
    remaining_performance_obligations,
    role_of,
    rollforward,
    waterfall,
)

NOV = period_index("2026-11")


def support(
    *,
    obligation_id: str = "1/support",
    contract_id: str = "ctr-SO-1",
    customer_id: str = "CUST-1",
    recognized: int = 0,
    first: int = NOV,
    amounts: tuple[int, ...] = (100,) * 12,
    currency: str = "USD",
) -> ObligationPosition:
    return ObligationPosition(
        contract_id=contract_id,
        obligation_id=obligation_id,
        customer_id=customer_id,
        sku="SUP-12",
        component="support",
        nature="service",
        timing="over_time",
        currency=currency,
        allocated_minor=sum(amounts),
        recognized_minor=recognized,
        deferred_minor=sum(amounts) - recognized,
        schedule_first_period=first,
        schedule_amounts_minor=amounts,
    )


def goods(
    *, deferred: int, obligation_id: str = "1/unit", contract_id: str = "ctr-SO-1"
) -> ObligationPosition:
    return ObligationPosition(
        contract_id=contract_id,
        obligation_id=obligation_id,
        customer_id="CUST-1",
        sku="KB-1",
        component="unit",
        nature="goods",
        timing="point_in_time",
        currency="USD",
        allocated_minor=deferred + 50,
        recognized_minor=50,
        deferred_minor=deferred,
    )


class TestExpected:
    def test_a_schedule_on_track_is_expected_month_by_month_with_the_rest_later(self):
        e = expected_of(support(recognized=200), first_period=NOV + 2, periods=3)
        assert (e.amounts_minor, e.later_minor, e.unscheduled_minor) == ((100, 100, 100), 700, 0)

    def test_months_the_close_has_not_caught_up_yet_are_expected_in_the_first_period(self):
        e = expected_of(support(recognized=0), first_period=NOV + 2, periods=2)
        assert (e.amounts_minor, e.later_minor) == ((300, 100), 800)

    def test_revenue_recognized_ahead_of_the_schedule_is_not_expected_again(self):
        e = expected_of(support(recognized=250), first_period=NOV + 2, periods=3)
        assert (e.amounts_minor, e.later_minor) == ((50, 100, 100), 700)

    def test_a_horizon_past_the_end_of_the_schedule_expects_nothing_there(self):
        e = expected_of(support(recognized=1000), first_period=NOV + 10, periods=4)
        assert (e.amounts_minor, e.later_minor) == ((100, 100, 0, 0), 0)

    def test_goods_not_yet_transferred_are_expected_at_fulfilment(self):
        e = expected_of(goods(deferred=700), first_period=NOV, periods=2)
        assert (e.amounts_minor, e.later_minor, e.unscheduled_minor) == ((0, 0), 0, 700)

    @given(
        amounts=st.lists(st.integers(0, 10_000), min_size=1, max_size=30),
        recognized_share=st.integers(0, 100),
        start_offset=st.integers(-40, 40),
        periods=st.integers(1, 24),
    )
    def test_buckets_are_never_negative_and_always_sum_to_what_is_deferred(
        self, amounts, recognized_share, start_offset, periods
    ):
        recognized = sum(amounts) * recognized_share // 100
        position = support(recognized=recognized, amounts=tuple(amounts))
        e = expected_of(position, first_period=NOV + start_offset, periods=periods)
        assert min((*e.amounts_minor, e.later_minor, e.unscheduled_minor)) >= 0
        assert e.total_minor == position.deferred_minor


class TestWaterfall:
    def positions(self) -> list[ObligationPosition]:
        return [
            support(recognized=100),
            goods(deferred=900),
            support(obligation_id="1/support", contract_id="ctr-SO-2", customer_id="CUST-1"),
            support(contract_id="ctr-SO-3", customer_id="CUST-2", currency="EUR"),
        ]

    def test_by_contract_each_contract_in_its_currency_with_totals_per_currency(self):
        report = waterfall(self.positions(), group_by="contract", first_period=NOV, periods=2)
        assert report.periods == ("2026-11", "2026-12")
        assert [(dict(r.key)["contract_id"], r.currency) for r in report.rows] == [
            ("ctr-SO-3", "EUR"),
            ("ctr-SO-1", "USD"),
            ("ctr-SO-2", "USD"),
        ]
        so1 = report.rows[1]
        assert (so1.amounts_minor, so1.later_minor, so1.unscheduled_minor) == ((0, 100), 1000, 900)
        assert so1.total_minor == 1100 + 900
        usd = report.totals[1]
        assert (usd.currency, usd.amounts_minor, usd.unscheduled_minor) == ("USD", (100, 200), 900)
        assert usd.total_minor == positions_total(self.positions())["USD"]

    def test_by_customer_adds_up_a_customers_contracts(self):
        report = waterfall(self.positions(), group_by="customer", first_period=NOV, periods=1)
        assert [(r.key, r.currency, r.total_minor, r.obligations) for r in report.rows] == [
            ((("customer_id", "CUST-2"),), "EUR", 1200, 1),
            ((("customer_id", "CUST-1"),), "USD", 1100 + 900 + 1200, 3),
        ]

    def test_by_obligation_names_the_obligation_and_leaves_out_what_is_fully_recognized(self):
        done = support(obligation_id="2/support", recognized=1200)
        report = waterfall([goods(deferred=900), done], group_by="obligation", first_period=NOV,
                           periods=1)  # fmt: skip
        [row] = report.rows
        assert dict(row.key) == {
            "obligation_id": "1/unit",
            "contract_id": "ctr-SO-1",
            "customer_id": "CUST-1",
            "sku": "KB-1",
            "component": "unit",
            "nature": "goods",
            "timing": "point_in_time",
        }


class TestRpo:
    def test_bands_start_the_month_after_as_of(self):
        rpo = remaining_performance_obligations(
            [support(recognized=100, amounts=(100,) * 24), goods(deferred=900)],
            as_of_period=NOV,
        )
        assert rpo.band_periods == ("2026-12", "2027-11")
        [total] = rpo.totals
        assert (total.within_12_months_minor, total.beyond_12_months_minor) == (1200, 1100)
        assert (total.unscheduled_minor, total.total_minor) == (900, 3200)


def move(period: str, kind: str, account: str, amount: int, currency: str = "USD"):
    return PositionMovement(period, currency, kind, account, amount)


class TestRollforward:
    def test_opening_plus_billed_less_recognized_plus_adjustments_is_the_ledger_closing(self):
        rows = [
            move("2026-10", "invoice", "contract_liabilities", -1000),
            move("2026-11", "recognition", "contract_liabilities", 1000),
            move("2026-11", "recognition", "contract_assets", 200),
            move("2026-11", "invoice", "contract_assets", -200),
            move("2026-11", "invoice", "contract_liabilities", -500),
            move("2026-11", "return", "contract_liabilities", -80),
            move("2026-12", "close", "contract_liabilities", 100),
        ]
        lines = rollforward(rows, first_period=NOV, last_period=NOV + 1)
        nov, dec = lines
        assert (nov.opening_minor, nov.billed_minor, nov.recognized_minor) == (1000, 700, 1200)
        assert (nov.adjustments_minor, nov.adjustments_by_kind) == (80, (("return", 80),))
        assert (nov.closing_minor, nov.closing_liabilities_minor, nov.closing_assets_minor) == (
            580,
            580,
            0,
        )
        assert (dec.opening_minor, dec.recognized_minor, dec.closing_minor) == (580, 100, 480)

    def test_a_period_without_movements_carries_its_opening_and_other_accounts_are_ignored(self):
        rows = [
            move("2026-09", "invoice", "contract_liabilities", -300, "EUR"),
            move("2026-09", "invoice", "receivables", 300, "EUR"),
        ]
        [line] = rollforward(rows, first_period=NOV, last_period=NOV)
        assert (line.currency, line.opening_minor, line.closing_minor) == ("EUR", 300, 300)

    def test_entry_kinds_map_to_columns(self):
        assert [role_of(k) for k in ("invoice", "credit_note", "close", "progress")] == [
            "billed", "billed", "recognized", "recognized",
        ]  # fmt: skip
        assert {role_of(k) for k in ("return", "modification", "reversal")} == {"adjustments"}


KINDS = ("invoice", "credit_note", "recognition", "close", "return", "modification", "reversal")


@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 5),
            st.sampled_from(("USD", "EUR")),
            st.sampled_from(KINDS),
            st.sampled_from(("contract_liabilities", "contract_assets")),
            st.integers(-(10**6), 10**6),
        ),
        max_size=40,
    ),
    first=st.integers(0, 5),
    span=st.integers(0, 4),
)
def test_each_rollforward_line_closes_at_the_position_accounts_balance_through_its_period(
    rows, first, span
):
    start = period_index("2026-01")
    movements = [
        PositionMovement(period_key(start + month), cur, kind, account, amount)
        for month, cur, kind, account, amount in rows
    ]
    lines = rollforward(movements, first_period=start + first, last_period=start + first + span)
    for line in lines:
        through = [m for m in movements if m.currency == line.currency and m.period <= line.period]
        assert line.closing_minor == -sum(m.amount_minor for m in through)
        assert line.closing_liabilities_minor == -sum(
            m.amount_minor for m in through if m.account == "contract_liabilities"
        )
        assert (
            line.opening_minor + line.billed_minor - line.recognized_minor + line.adjustments_minor
            == line.closing_minor
        )


class TestTrialBalance:
    def test_debits_and_credits_by_account_sum_to_zero_per_currency(self):
        report = trial_balance_report(
            [
                AccountTotal("receivables", "USD", 1000, "Trade receivables", "asset", "1200"),
                AccountTotal("revenue_goods", "USD", -700, "Revenue: goods", "revenue", "4000"),
                AccountTotal("contract_liabilities", "USD", -300, "CL", "liability", "2300"),
                AccountTotal("contract_assets", "USD", 0, "CA", "asset", "1250"),
            ]
        )
        assert [(li.account, li.debit_minor, li.credit_minor) for li in report.lines] == [
            ("receivables", 1000, 0),
            ("contract_liabilities", 0, 300),
            ("revenue_goods", 0, 700),
        ]
        [usd] = report.totals
        assert (usd.debit_minor, usd.credit_minor, usd.difference_minor) == (1000, 1000, 0)

    def test_a_ledger_that_does_not_balance_is_refused(self):
        with pytest.raises(TrialBalanceNotZero, match="USD"):
            trial_balance_report([AccountTotal("receivables", "USD", 5)])
