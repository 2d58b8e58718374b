"""The ledger: chart of accounts, monthly periods, balanced immutable journal entries, balances.

It knows nothing of orders or revenue rules; revenue hands it postings, it keeps them honest.
"""

from ordertrail.domain.ledger.accounts import (
    DEFAULT_CHART,
    DEFAULT_CHART_ROWS,
    Account,
    ChartOfAccounts,
    chart_from_rows,
)
from ordertrail.domain.ledger.balances import (
    Finding,
    balance_of,
    totals_by_currency,
    trial_balance,
    validate,
)
from ordertrail.domain.ledger.entries import (
    JournalEntry,
    Posting,
    check_balanced,
    entry_id_for,
    entry_ids_for,
    journal_entry,
    reverse_entry,
)
from ordertrail.domain.ledger.errors import (
    ClosedPeriod,
    InvalidChart,
    InvalidEntry,
    InvalidPeriod,
    LedgerError,
    NoOpenPeriod,
    UnbalancedEntry,
    UnknownAccount,
)
from ordertrail.domain.ledger.periods import (
    ALL_OPEN,
    Period,
    PeriodCalendar,
    accounting_date,
    add_months,
    days_in_month,
    last_day,
    month_end,
    month_index,
    month_start,
    period_index,
    period_key,
)

__all__ = [
    "ALL_OPEN",
    "DEFAULT_CHART",
    "DEFAULT_CHART_ROWS",
    "Account",
    "ChartOfAccounts",
    "ClosedPeriod",
    "Finding",
    "InvalidChart",
    "InvalidEntry",
    "InvalidPeriod",
    "JournalEntry",
    "LedgerError",
    "NoOpenPeriod",
    "Period",
    "PeriodCalendar",
    "Posting",
    "UnbalancedEntry",
    "UnknownAccount",
    "accounting_date",
    "add_months",
    "balance_of",
    "chart_from_rows",
    "check_balanced",
    "days_in_month",
    "entry_id_for",
    "entry_ids_for",
    "journal_entry",
    "last_day",
    "month_end",
    "month_index",
    "month_start",
    "period_index",
    "period_key",
    "reverse_entry",
    "totals_by_currency",
    "trial_balance",
    "validate",
]
