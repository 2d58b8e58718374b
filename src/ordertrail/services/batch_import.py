"""Import a batch file (JSON Lines or CSV records) through ingest, resumably.

Records are applied in batches through the one ingest path. After each batch commits, the import
log records the last line it covered, so a re-run of the same file (same SHA-256) for the same
tenant skips what is already done.

The progress write is a second transaction right after each batch, not part of the batch's own:
ingest owns its unit of work and has no place for it. The gap is covered by idempotency: if the
process dies between the two, the re-run sends that batch again and its applied events come back
as duplicates. Only its rejected and unparseable records are quarantined a second time, which
keeps both submissions rather than losing one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ordertrail.services.ingest import BATCH_SIZE_MAX, ingest
from ordertrail.services.ports import Clock, ImportLog, ImportProgress, UnitOfWorkFactory
from ordertrail.services.quarantine import quarantine_unparseable
from ordertrail.services.results import BatchSummary

FILE_NAME_IN_ACTOR_MAX = 100
FILE_NAME_MAX = 255


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One JSON Lines line or CSV row: the decoded event, or why it could not be decoded."""

    line_number: int
    event: Any
    text: str
    problem: str | None = None
    code: str = "malformed_record"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one run did, and the totals over every run of this file for this tenant."""

    resumed_after_line: int
    skipped: int
    applied: int
    duplicate: int
    rejected: int
    conflict: int
    unparseable: int
    totals: ImportProgress

    @property
    def quarantined(self) -> int:
        return self.rejected + self.conflict + self.unparseable


def import_actor(*, file_name: str, file_sha256: str) -> str:
    """Name the import as the actor of what it applies: the file and the start of its digest.

    Not a `key:` actor: no API key sent these events; whoever could run the import could read the
    file and write the database, and the file is what the record can honestly name.
    """
    return f"import:{file_name[:FILE_NAME_IN_ACTOR_MAX]}@{file_sha256[:12]}"


def import_records(
    *,
    uow_factory: UnitOfWorkFactory,
    import_log: ImportLog,
    clock: Clock,
    new_id: Callable[[], str],
    records: Iterable[SourceRecord],
    tenant_id: str,
    file_name: str,
    file_sha256: str,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> ImportReport:
    """Apply a file's records for one tenant, resuming after the last committed line.

    `on_batch` is called with the last line of each committed batch (for progress bars).
    """
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise ValueError(f"the batch size must be between 1 and {BATCH_SIZE_MAX}")
    start = import_log.begin(
        progress=_fresh(
            tenant_id=tenant_id, file_name=file_name, file_sha256=file_sha256, clock=clock
        )
    )
    skipped = 0

    def pending() -> Iterator[SourceRecord]:
        nonlocal skipped
        for record in records:
            if record.line_number > start.line_committed:
                yield record
            else:
                skipped += 1

    progress = start
    for batch in _batches(pending(), size=batch_size):
        progress = _apply_batch(
            batch, progress=progress, uow_factory=uow_factory, clock=clock, new_id=new_id
        )
        import_log.save(progress=progress)
        if on_batch is not None:
            on_batch(progress.line_committed)
    if progress.finished_at is None:
        progress = replace(progress, finished_at=clock.now(), updated_at=clock.now())
        import_log.save(progress=progress)
    return ImportReport(
        resumed_after_line=start.line_committed,
        skipped=skipped,
        applied=progress.applied - start.applied,
        duplicate=progress.duplicate - start.duplicate,
        rejected=progress.rejected - start.rejected,
        conflict=progress.conflict - start.conflict,
        unparseable=progress.unparseable - start.unparseable,
        totals=progress,
    )


def _fresh(*, tenant_id: str, file_name: str, file_sha256: str, clock: Clock) -> ImportProgress:
    now = clock.now()
    return ImportProgress(
        tenant_id=tenant_id,
        file_sha256=file_sha256,
        file_name=file_name[:FILE_NAME_MAX],
        actor=import_actor(file_name=file_name, file_sha256=file_sha256),
        line_committed=0,
        applied=0,
        duplicate=0,
        rejected=0,
        conflict=0,
        unparseable=0,
        started_at=now,
        updated_at=now,
    )


def _batches(records: Iterator[SourceRecord], *, size: int) -> Iterator[list[SourceRecord]]:
    batch: list[SourceRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _apply_batch(
    batch: list[SourceRecord],
    *,
    progress: ImportProgress,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    new_id: Callable[[], str],
) -> ImportProgress:
    """Ingest a batch's decodable records, quarantine the rest; return the advanced progress."""
    decoded = [record.event for record in batch if record.problem is None]
    results = ingest(
        uow_factory=uow_factory,
        raw_events=decoded,
        tenant_id=progress.tenant_id,
        actor=progress.actor,
        now=clock.now(),
        new_id=new_id,
    )
    undecodable = [record for record in batch if record.problem is not None]
    for record in undecodable:
        quarantine_unparseable(
            uow_factory=uow_factory,
            body=record.text,
            tenant_id=progress.tenant_id,
            actor=progress.actor,
            now=clock.now(),
            new_id=new_id,
            code=record.code,
            message=f"line {record.line_number} of {progress.file_name}: {record.problem}",
        )
    summary = BatchSummary.of(results)
    return replace(
        progress,
        line_committed=batch[-1].line_number,
        applied=progress.applied + summary.applied,
        duplicate=progress.duplicate + summary.duplicate,
        rejected=progress.rejected + summary.rejected,
        conflict=progress.conflict + summary.conflict,
        unparseable=progress.unparseable + len(undecodable),
        updated_at=clock.now(),
    )
