"""In-memory event log, key store and import log over the shared memory database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from ordertrail.adapters.memory.database import (
    KEYS_LIST_MAX,
    MemoryDatabase,
    as_utc,
    utc_or_none,
)
from ordertrail.services.ports import (
    ApiKeyRecord,
    ImportProgress,
    LoggedEvent,
    ProjectionRow,
)


class MemoryEventLog:
    """Sequential reads of the committed event log and projection, in bounded pages."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def read(self, *, tenant_id: str | None, after_seq: int, limit: int) -> list[LoggedEvent]:
        with self._database.lock:
            rows = [
                r
                for r in self._database.events
                if r.seq > after_seq and (tenant_id is None or r.event.tenant_id == tenant_id)
            ][:limit]
        return [
            LoggedEvent(
                seq=r.seq,
                tenant_id=r.event.tenant_id,
                order_id=r.event.order_id,
                body=r.event.body,
                checksum_sha256=r.event.checksum_sha256,
                recorded_at=r.event.recorded_at,
            )
            for r in rows
        ]

    def projections(
        self, *, tenant_id: str | None, after: tuple[str, str] | None, limit: int
    ) -> list[ProjectionRow]:
        with self._database.lock:
            keys = sorted(
                key
                for key in self._database.orders
                if (tenant_id is None or key[0] == tenant_id) and (after is None or key > after)
            )[:limit]
            rows = [self._database.orders[key] for key in keys]
        return [
            ProjectionRow(
                tenant_id=row.tenant_id,
                order_id=row.order_id,
                status=row.status,
                version=row.version,
                state=json.loads(row.state),
            )
            for row in rows
        ]


class MemoryKeyStore:
    """API key records; each call is its own committed transaction, as on SQL."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def add(self, *, key: ApiKeyRecord) -> None:
        with self._database.lock:
            if key.key_id in self._database.api_keys:
                raise ValueError(f"key {key.key_id} already exists")
            self._database.api_keys[key.key_id] = replace(
                key,
                roles=tuple(key.roles),
                created_at=as_utc(key.created_at),
                revoked_at=utc_or_none(key.revoked_at),
            )

    def get(self, *, key_id: str) -> ApiKeyRecord | None:
        with self._database.lock:
            return self._database.api_keys.get(key_id)

    def list(self, *, tenant_id: str | None) -> list[ApiKeyRecord]:
        with self._database.lock:
            records = [
                r
                for r in self._database.api_keys.values()
                if tenant_id is None or r.tenant_id == tenant_id
            ]
        records.sort(key=lambda r: (r.created_at, r.key_id))
        return records[:KEYS_LIST_MAX]

    def revoke(self, *, key_id: str, revoked_at: datetime) -> bool:
        with self._database.lock:
            record = self._database.api_keys.get(key_id)
            if record is None or record.revoked_at is not None:
                return False
            self._database.api_keys[key_id] = replace(record, revoked_at=as_utc(revoked_at))
            return True


class MemoryImportLog:
    """Progress of batch-file imports, one record per (tenant, file SHA-256)."""

    def __init__(self, database: MemoryDatabase) -> None:
        self._database = database

    def find(self, *, tenant_id: str, file_sha256: str) -> ImportProgress | None:
        with self._database.lock:
            return self._database.imports.get((tenant_id, file_sha256))

    def begin(self, *, progress: ImportProgress) -> ImportProgress:
        key = (progress.tenant_id, progress.file_sha256)
        with self._database.lock:
            existing = self._database.imports.get(key)
            if existing is not None:
                return existing
            self._database.imports[key] = _import_value(progress)
            return progress

    def save(self, *, progress: ImportProgress) -> None:
        key = (progress.tenant_id, progress.file_sha256)
        with self._database.lock:
            existing = self._database.imports.get(key)
            # Never backwards: a slower concurrent run of the same file must not undo ours.
            if existing is None or existing.line_committed > progress.line_committed:
                return
            self._database.imports[key] = replace(
                _import_value(progress),
                file_name=existing.file_name,
                actor=existing.actor,
                started_at=existing.started_at,
            )


def _import_value(progress: ImportProgress) -> ImportProgress:
    return replace(
        progress,
        started_at=as_utc(progress.started_at),
        updated_at=as_utc(progress.updated_at),
        finished_at=utc_or_none(progress.finished_at),
    )
