"""The import log on SQL: one row per (tenant, file SHA-256), advanced after each batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables import imports
from ordertrail.services.ports import ImportProgress

PROGRESS_COLUMNS = (
    "line_committed",
    "applied",
    "duplicate",
    "rejected",
    "conflict",
    "unparseable",
    "updated_at",
    "finished_at",
)


def _row(progress: ImportProgress) -> dict[str, Any]:
    return {name: getattr(progress, name) for name in progress.__dataclass_fields__}


class SqlImportLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _writer(self) -> Connection:
        return self._engine.connect().execution_options(**{WRITE_OPTION: True})

    def find(self, *, tenant_id: str, file_sha256: str) -> ImportProgress | None:
        with self._engine.connect() as connection:
            return self._find(connection, tenant_id=tenant_id, file_sha256=file_sha256)

    def _find(
        self, connection: Connection, *, tenant_id: str, file_sha256: str
    ) -> ImportProgress | None:
        query = select(imports).where(
            imports.c.tenant_id == tenant_id, imports.c.file_sha256 == file_sha256
        )
        row = connection.execute(query).first()
        return None if row is None else ImportProgress(**row._asdict())

    def begin(self, *, progress: ImportProgress) -> ImportProgress:
        key = {"tenant_id": progress.tenant_id, "file_sha256": progress.file_sha256}
        try:
            with self._writer() as connection:
                existing = self._find(connection, **key)
                if existing is not None:
                    return existing
                connection.execute(insert(imports).values(_row(progress)))
                connection.commit()
                return progress
        except IntegrityError:
            # Another run of the same file began between our read and insert: resume its row.
            found = self.find(**key)
            if found is None:
                raise
            return found

    def save(self, *, progress: ImportProgress) -> None:
        row = _row(progress)
        statement = (
            update(imports)
            .where(
                imports.c.tenant_id == progress.tenant_id,
                imports.c.file_sha256 == progress.file_sha256,
                # Never backwards: a slower concurrent run of the same file must not undo ours.
                imports.c.line_committed <= progress.line_committed,
            )
            .values({name: row[name] for name in PROGRESS_COLUMNS})
        )
        with self._writer() as connection:
            connection.execute(statement)
            connection.commit()
