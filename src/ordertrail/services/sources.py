"""Synchronisation modes: per source, events pushed as they happen, or files pulled on a schedule.

A source is a system that sends a tenant's events (`oms`, `wms`, `billing`, `carrier:ups`: the
`source` field of the events). Each is configured as

- `event`: event-driven. The source pushes every event as it happens (API, webhook, broker);
  Ordertrail only receives. The default for a source nobody configured.
- `batch`: the source drops files (JSON Lines or CSV, the batch-file formats) into its drop
  directory, and the scheduler imports whatever is there every `interval_s`, through the same
  resumable batch import as `ordertrail import`.

The mode decides what Ordertrail pulls; it never refuses what a source pushes. An event that a
`batch` source sends over the API is validated and applied at once like any other, so a source
can move from one mode to the other without a window in which its events are lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from ordertrail.services.batch_import import ImportReport, SourceRecord, import_records
from ordertrail.services.ports import Clock, ImportLog, UnitOfWorkFactory

SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._:-]{0,63}$")
INTERVAL_S_MIN = 60
INTERVAL_S_MAX = 7 * 24 * 3600
INTERVAL_S_DEFAULT = 15 * 60
# Bounds on one scheduler round: sources taken, files imported per source.
DUE_LIMIT = 100
# How long a claimed run may take before another scheduler may run the source again.
RUN_LEASE_S = 600
FILES_PER_RUN_MAX = 100
SUMMARY_CHARS_MAX = 2_000


class SyncMode(StrEnum):
    EVENT = "event"
    BATCH = "batch"


class InvalidSource(ValueError):
    """A source name or setting that cannot be configured; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Source:
    """One source's configuration for one tenant, with its scheduler state."""

    tenant_id: str
    source: str
    mode: SyncMode
    # Batch only: how often its drop directory is imported.
    interval_s: int | None
    updated_at: datetime
    updated_by: str
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    last_run_summary: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "source": self.source,
            "mode": self.mode.value,
            "interval_minutes": None if self.interval_s is None else self.interval_s / 60,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
            "last_run_at": None if self.last_run_at is None else self.last_run_at.isoformat(),
            "next_run_at": None if self.next_run_at is None else self.next_run_at.isoformat(),
            "last_run_summary": self.last_run_summary,
        }


class SourceStore(Protocol):
    def list_sources(self, *, tenant_id: str | None) -> list[Source]:
        """Every configured source, of one tenant or (None) of all, by tenant and name."""
        ...

    def get(self, *, tenant_id: str, source: str) -> Source | None: ...

    def put(self, *, source: Source) -> None:
        """Insert or replace a source's configuration and schedule."""
        ...

    def claim_due(self, *, now: datetime, lease_s: int, limit: int) -> list[Source]:
        """Claim batch sources whose next run is due, the longest-waiting first.

        A claim moves the source's next run `lease_s` ahead, so a second scheduler (`serve` and
        `sync` side by side) does not run it too; a scheduler that dies mid-run leaves it to be
        claimed again once the lease has passed.
        """
        ...

    def record_run(
        self, *, tenant_id: str, source: str, ran_at: datetime, next_run_at: datetime, summary: str
    ) -> bool:
        """Save a run's outcome; False if the source stopped being batch meanwhile."""
        ...


@dataclass(frozen=True, slots=True)
class DroppedFile:
    """A complete file in a source's drop directory, ready to import."""

    name: str
    sha256: str
    # None when no `NAME.sha256` came with it; a mismatch is reported by the drop box itself.
    expected_sha256: str | None


class DropBox(Protocol):
    """Where a batch source's files arrive, and where imported ones go."""

    def ready(self, *, tenant_id: str, source: str, limit: int) -> list[DroppedFile]:
        """Complete files waiting, oldest first (never a file still being written)."""
        ...

    def records(
        self, *, tenant_id: str, source: str, file: DroppedFile
    ) -> AbstractContextManager[Iterator[SourceRecord]]:
        """Open a file's records (it raises ValueError for a file that cannot be read at all)."""
        ...

    def done(self, *, tenant_id: str, source: str, file: DroppedFile, failed: str | None) -> None:
        """Move an imported file out of the way: to `done/`, or with a reason to `failed/`."""
        ...


def check_source_name(source: str) -> str:
    if not SOURCE_PATTERN.match(source):
        raise InvalidSource(
            f"source {source!r} must be 1-64 lowercase letters, digits, '.', '_', ':' or '-', "
            "starting with a letter or digit (for example oms, wms, carrier:ups)"
        )
    return source


def configure_source(
    *,
    store: SourceStore,
    tenant_id: str,
    source: str,
    mode: SyncMode,
    interval_s: int | None,
    actor: str,
    now: datetime,
) -> Source:
    """Set a source's mode (and, for batch, its interval); a batch source's first run is now."""
    check_source_name(source)
    if mode is SyncMode.EVENT and interval_s is not None:
        raise InvalidSource("an event-driven source has no interval: leave it out")
    if mode is SyncMode.BATCH:
        interval_s = INTERVAL_S_DEFAULT if interval_s is None else interval_s
        if not INTERVAL_S_MIN <= interval_s <= INTERVAL_S_MAX:
            raise InvalidSource(
                f"a batch interval must be between {INTERVAL_S_MIN // 60} minute and "
                f"{INTERVAL_S_MAX // 86400} days"
            )
    previous = store.get(tenant_id=tenant_id, source=source)
    configured = Source(
        tenant_id=tenant_id,
        source=source,
        mode=mode,
        interval_s=interval_s,
        updated_at=now,
        updated_by=actor,
        last_run_at=None if previous is None else previous.last_run_at,
        next_run_at=now if mode is SyncMode.BATCH else None,
        last_run_summary=None if previous is None else previous.last_run_summary,
    )
    store.put(source=configured)
    return configured


@dataclass(frozen=True, slots=True)
class SourceRun:
    """What one scheduled run of one batch source did."""

    tenant_id: str
    source: str
    files: int
    applied: int
    duplicate: int
    quarantined: int
    failed_files: tuple[str, ...]

    def summary(self) -> str:
        text = (
            f"{self.files} file(s): {self.applied} applied, {self.duplicate} duplicate, "
            f"{self.quarantined} quarantined"
        )
        if self.failed_files:
            text += f"; failed: {', '.join(self.failed_files)}"
        return text[:SUMMARY_CHARS_MAX]


def run_source(
    *,
    source: Source,
    drop_box: DropBox,
    uow_factory: UnitOfWorkFactory,
    import_log: ImportLog,
    clock: Clock,
    new_id: Callable[[], str],
    batch_size: int,
) -> SourceRun:
    """Import every ready file of one batch source, oldest first; move each out of the way."""
    files = drop_box.ready(
        tenant_id=source.tenant_id, source=source.source, limit=FILES_PER_RUN_MAX
    )
    reports: list[ImportReport] = []
    failed: list[str] = []
    for file in files:
        problem = _mismatch(file)
        if problem is None:
            try:
                with drop_box.records(
                    tenant_id=source.tenant_id, source=source.source, file=file
                ) as records:
                    reports.append(
                        import_records(
                            uow_factory=uow_factory,
                            import_log=import_log,
                            clock=clock,
                            new_id=new_id,
                            records=records,
                            tenant_id=source.tenant_id,
                            file_name=f"{source.source}/{file.name}",
                            file_sha256=file.sha256,
                            batch_size=batch_size,
                        )
                    )
            except ValueError as error:  # the file as a whole cannot be read in its format
                problem = str(error)
        if problem is not None:
            failed.append(file.name)
        drop_box.done(tenant_id=source.tenant_id, source=source.source, file=file, failed=problem)
    return SourceRun(
        tenant_id=source.tenant_id,
        source=source.source,
        files=len(files),
        applied=sum(r.applied for r in reports),
        duplicate=sum(r.duplicate for r in reports),
        quarantined=sum(r.quarantined for r in reports),
        failed_files=tuple(failed),
    )


def _mismatch(file: DroppedFile) -> str | None:
    if file.expected_sha256 is None or file.expected_sha256 == file.sha256:
        return None
    return f"checksum mismatch: expected {file.expected_sha256}, actual {file.sha256}"


def run_due_sources(
    *,
    store: SourceStore,
    drop_box: DropBox,
    uow_factory: UnitOfWorkFactory,
    import_log: ImportLog,
    clock: Clock,
    new_id: Callable[[], str],
    batch_size: int,
) -> list[SourceRun]:
    """Run every batch source that is due, and schedule each one's next run from now."""
    runs: list[SourceRun] = []
    for source in store.claim_due(now=clock.now(), lease_s=RUN_LEASE_S, limit=DUE_LIMIT):
        run = run_source(
            source=source,
            drop_box=drop_box,
            uow_factory=uow_factory,
            import_log=import_log,
            clock=clock,
            new_id=new_id,
            batch_size=batch_size,
        )
        ran_at = clock.now()
        interval = timedelta(seconds=source.interval_s or INTERVAL_S_DEFAULT)
        store.record_run(
            tenant_id=source.tenant_id,
            source=source.source,
            ran_at=ran_at,
            next_run_at=ran_at + interval,
            summary=run.summary(),
        )
        runs.append(run)
    return runs
