"""The database itself keeps the journal honest: balanced entries, known accounts, no edits."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from ordertrail.adapters.db.engine import make_engine
from ordertrail.adapters.db.ledger_store import SqlLedgerStore
from ordertrail.adapters.db.tables_revenue import REVENUE_APPEND_ONLY_TABLES
from ordertrail.services.revenue_ports import UnbalancedJournal
from tests.conftest import NOW, truncate_postgres

ENTRY = (
    "INSERT INTO journal_entries (tenant_id, entry_id, kind, contract_id, obligation_id, "
    "cause_event_id, occurred_on, posted_on, period, reverses, memo, recorded_at) VALUES "
    "('acme', :id, 'invoice', 'ctr-1', NULL, 'e-1', '2026-11-02', '2026-11-02', '2026-11', "
    "NULL, '', '2026-11-28 12:00:00')"
)
POSTING = (
    "INSERT INTO journal_postings (tenant_id, entry_id, line_no, account, amount_minor, currency, "
    "contract_id, obligation_id, customer_id, cause_event_id, period, posted_on) VALUES "
    "('acme', :id, :line, :account, :amount, 'USD', 'ctr-1', NULL, 'c', 'e-1', '2026-11', "
    "'2026-11-02')"
)


def seeded(engine: Engine) -> None:
    with engine.begin() as connection:
        SqlLedgerStore(connection).chart(tenant_id="acme", now=NOW)


def write(connection: Connection, entry_id: str, *lines: tuple[str, int]) -> None:
    connection.execute(text(ENTRY), {"id": entry_id})
    for number, (account, amount) in enumerate(lines, start=1):
        connection.execute(
            text(POSTING), {"id": entry_id, "line": number, "account": account, "amount": amount}
        )


def committed(engine: Engine, work: Callable[[Connection], None]) -> None:
    with engine.connect() as connection:
        work(connection)
        connection.commit()


def entry_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM journal_entries")).scalar_one())


BALANCED = (("receivables", 100), ("contract_liabilities", -100))


@pytest.mark.postgres
class TestPostgresCommitCheck:
    @pytest.fixture
    def pg(self, postgres_url: str) -> Iterator[Engine]:
        engine = make_engine(postgres_url)
        truncate_postgres(engine)
        seeded(engine)
        yield engine
        engine.dispose()

    def test_a_balanced_entry_commits(self, pg: Engine) -> None:
        committed(pg, lambda c: write(c, "e1", *BALANCED))
        assert entry_count(pg) == 1

    @pytest.mark.parametrize(
        "lines",
        [
            (("receivables", 100), ("contract_liabilities", -99)),
            (("receivables", 100),),
            (),
        ],
        ids=["unbalanced", "one-posting", "no-posting"],
    )
    def test_an_entry_that_does_not_balance_is_refused_at_commit(
        self, pg: Engine, lines: tuple[tuple[str, int], ...]
    ) -> None:
        with pytest.raises(DBAPIError, match="unbalanced or has fewer than two postings"):
            committed(pg, lambda c: write(c, "e2", *lines))
        assert entry_count(pg) == 0

    def test_a_posting_cannot_be_added_to_a_committed_entry(self, pg: Engine) -> None:
        committed(pg, lambda c: write(c, "e1", *BALANCED))

        def add(connection: Connection) -> None:
            connection.execute(
                text(POSTING), {"id": "e1", "line": 3, "account": "receivables", "amount": 5}
            )

        with pytest.raises(DBAPIError, match="not new in this transaction"):
            committed(pg, add)

    def test_the_check_cannot_be_made_immediate_to_skip_entries(self, pg: Engine) -> None:
        def sneak(connection: Connection) -> None:
            write(connection, "e1", *BALANCED)
            connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
            write(connection, "e2", ("receivables", 5))

        with pytest.raises(DBAPIError):
            committed(pg, sneak)
        assert entry_count(pg) == 0


def test_sqlite_entries_are_checked_by_the_repository_before_commit(sqlite_engine: Engine) -> None:
    seeded(sqlite_engine)
    with sqlite_engine.connect() as connection:
        write(connection, "e2", ("receivables", 100), ("contract_liabilities", -99))
        with pytest.raises(UnbalancedJournal):
            SqlLedgerStore(connection).check_written(tenant_id="acme", entry_ids=["e2"])
        connection.rollback()
    assert entry_count(sqlite_engine) == 0


def test_a_posting_to_an_unknown_account_is_refused(engine: Engine) -> None:
    seeded(engine)
    with pytest.raises(DBAPIError):
        committed(engine, lambda c: write(c, "e1", ("receivables", 100), ("nowhere", -100)))
    assert entry_count(engine) == 0


@pytest.mark.parametrize("table", REVENUE_APPEND_ONLY_TABLES)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET tenant_id = 'm'", "DELETE FROM {table}"])
def test_history_tables_refuse_update_and_delete(
    engine: Engine, table: str, statement: str
) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement.format(table=table)))  # empty: nothing to refuse yet
    seeded(engine)
    committed(engine, lambda c: write(c, "e1", *BALANCED))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO revenue_contract_versions VALUES ('acme', 'ctr-1', 1, '2026-11-02', "
                "'inception', 'r', 'e-1', 100, 'USD', '{}', '2026-11-28 12:00:00')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO revenue_catalog VALUES ('acme', 'ssp', 'W', 'u', 'USD', 1, "
                "'2026-01-01', NULL, '{}', '2026-11-28 12:00:00', 't')"
            )
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement.format(table=table)))
