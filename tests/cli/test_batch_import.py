"""The resumable import service: interrupted runs resume without applying anything twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ordertrail.adapters.db.import_log import SqlImportLog
from ordertrail.adapters.files.checksum import digest_file
from ordertrail.adapters.files.readers import read_jsonl
from ordertrail.adapters.traffic import Traffic, generate_traffic, last_complete_month
from ordertrail.bootstrap import Ordertrail
from ordertrail.services.batch_import import ImportReport, import_records
from ordertrail.services.ports import ImportProgress
from tests.cli.support import quarantined, stored_events, write_jsonl
from tests.conftest import NOW

BATCH_SIZE = 40
BROKEN_LINE = '{"event_id": "cut-off-mid'


class Crash(Exception):
    """Stands in for the process dying."""


@pytest.fixture
def traffic() -> Traffic:
    return generate_traffic(
        seed=21, orders_count=25, month_start=last_complete_month(NOW), tenant_id="acme"
    )


@pytest.fixture
def export(tmp_path: Path, traffic: Traffic) -> Path:
    return write_jsonl(tmp_path / "erp.jsonl", traffic.events, raw_lines={7: BROKEN_LINE})


def run(app: Ordertrail, path: Path, *, uow_factory=None, import_log=None) -> ImportReport:
    with path.open("rb") as file:
        digest = digest_file(file)
        return import_records(
            uow_factory=uow_factory or app.uow_factory,
            import_log=import_log or SqlImportLog(app.engine),
            clock=app.clock,
            new_id=app.new_id,
            records=read_jsonl(file),
            tenant_id="acme",
            file_name=path.name,
            file_sha256=digest.sha256,
            batch_size=BATCH_SIZE,
        )


def expected_totals(traffic: Traffic) -> Counter:
    return Counter(intent.outcome for intent in traffic.intents) + Counter(unparseable=1)


def assert_applied_exactly_once(app: Ordertrail, traffic: Traffic, report: ImportReport) -> None:
    expected = expected_totals(traffic)
    totals = report.totals
    assert (totals.applied, totals.rejected, totals.conflict, totals.unparseable) == (
        expected["applied"],
        expected["rejected"],
        expected["conflict"],
        1,
    )
    stored = [event.checksum_sha256 for event in stored_events(app, tenant_id="acme")]
    assert len(stored) == expected["applied"]
    refused = expected["rejected"] + expected["conflict"] + expected["unparseable"]
    assert len(quarantined(app, tenant_id="acme")) == refused
    assert totals.finished_at is not None


def test_a_whole_file_is_applied_with_every_outcome_counted(sqlite_app, traffic, export):
    report = run(sqlite_app, export)
    assert report.skipped == 0
    assert report.duplicate == expected_totals(traffic)["duplicate"]
    assert_applied_exactly_once(sqlite_app, traffic, report)


def test_an_import_that_fails_mid_file_resumes_without_applying_anything_twice(
    app, traffic, export
):
    opened = Counter()

    def failing_fourth_transaction():
        opened["units"] += 1
        if opened["units"] == 4:
            raise Crash("the database went away")
        return app.uow_factory()

    with pytest.raises(Crash):
        run(app, export, uow_factory=failing_fourth_transaction)
    progress = SqlImportLog(app.engine).find(tenant_id="acme", file_sha256=digest_of(export))
    assert progress is not None
    assert progress.finished_at is None
    assert 0 < progress.line_committed < len(traffic.events)
    resumed = run(app, export)
    assert resumed.resumed_after_line == progress.line_committed
    assert resumed.skipped == progress.line_committed  # no blank lines: one record per line
    assert_applied_exactly_once(app, traffic, resumed)


class ForgetfulLog(SqlImportLog):
    """Commits the first batch's progress, then dies before recording the second's."""

    def save(self, *, progress: ImportProgress) -> None:
        if progress.line_committed > BATCH_SIZE:
            raise Crash("killed between the batch commit and its progress record")
        super().save(progress=progress)


def test_a_crash_between_a_batch_and_its_progress_record_is_covered_by_idempotency(
    sqlite_app, traffic, export
):
    with pytest.raises(Crash):
        run(sqlite_app, export, import_log=ForgetfulLog(sqlite_app.engine))
    applied_before = len(stored_events(sqlite_app, tenant_id="acme"))
    resumed = run(sqlite_app, export)
    assert resumed.resumed_after_line == BATCH_SIZE
    # The second batch committed but was not recorded, so it is sent again: its events come
    # back as duplicates, and only what neither run applied is applied now.
    expected_applied = expected_totals(traffic)["applied"]
    assert resumed.applied == expected_applied - applied_before
    assert len(stored_events(sqlite_app, tenant_id="acme")) == expected_applied


def digest_of(path: Path) -> str:
    with path.open("rb") as file:
        return digest_file(file).sha256
