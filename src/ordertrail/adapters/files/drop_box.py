"""Drop directories of batch sources: `ROOT/TENANT/SOURCE/`, with `done/` and `failed/` inside.

A producer writes a file under a name the scheduler ignores (starting with `.`, or ending in
`.part` or `.tmp`) and renames it to `NAME.jsonl`, `NAME.ndjson` or `NAME.csv` when it is
complete; a rename within a directory is atomic, so a file is never read half-written. An
optional `NAME.EXT.sha256` beside it (sha256sum output) is checked before anything is imported.
Imported files move to `done/`, files that could not be imported to `failed/` with a
`NAME.reason.txt` saying why. Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ordertrail.adapters.files.checksum import ManifestError, digest_file, read_sidecar, sidecar_of
from ordertrail.adapters.files.readers import FORMAT_OF_SUFFIX, READERS
from ordertrail.services.batch_import import SourceRecord
from ordertrail.services.ports import Clock
from ordertrail.services.sources import DroppedFile, check_source_name

IGNORED_SUFFIXES = (".part", ".tmp")


class DropDirectories:
    def __init__(self, root: Path, *, clock: Clock) -> None:
        self.root = root
        self._clock = clock

    def directory(self, *, tenant_id: str, source: str) -> Path:
        """Where `source` of `tenant_id` drops its files (source names are safe path parts)."""
        return self.root / tenant_id / check_source_name(source)

    def ready(self, *, tenant_id: str, source: str, limit: int) -> list[DroppedFile]:
        directory = self.directory(tenant_id=tenant_id, source=source)
        if not directory.is_dir():
            return []
        candidates = sorted(
            (
                path
                for path in directory.iterdir()
                if path.is_file()
                and not path.name.startswith(".")
                and not path.name.endswith(IGNORED_SUFFIXES)
                and path.suffix.lower() in FORMAT_OF_SUFFIX
            ),
            key=lambda path: (path.stat().st_mtime, path.name),
        )[:limit]
        return [self._dropped(path) for path in candidates]

    def _dropped(self, path: Path) -> DroppedFile:
        with path.open("rb") as file:
            digest = digest_file(file)
        try:
            expected = read_sidecar(path)
        except ManifestError as error:
            # An unreadable manifest fails the file as a mismatch would: never imported blind.
            expected = f"unreadable manifest ({error})"
        return DroppedFile(name=path.name, sha256=digest.sha256, expected_sha256=expected)

    @contextmanager
    def records(
        self, *, tenant_id: str, source: str, file: DroppedFile
    ) -> Iterator[Iterator[SourceRecord]]:
        path = self.directory(tenant_id=tenant_id, source=source) / file.name
        with path.open("rb") as opened:
            yield READERS[FORMAT_OF_SUFFIX[path.suffix.lower()]](opened)

    def done(self, *, tenant_id: str, source: str, file: DroppedFile, failed: str | None) -> None:
        directory = self.directory(tenant_id=tenant_id, source=source)
        target = directory / ("done" if failed is None else "failed")
        target.mkdir(exist_ok=True)
        # A timestamp prefix keeps a second file of the same name from replacing the first.
        moved = target / f"{stamp_of(self._clock.now())}-{file.name}"
        (directory / file.name).rename(moved)
        sidecar = sidecar_of(directory / file.name)
        if sidecar.exists():
            sidecar.rename(sidecar_of(moved))
        if failed is not None:
            moved.with_name(moved.name + ".reason.txt").write_text(failed + "\n", encoding="utf-8")


def stamp_of(at: datetime) -> str:
    """A sortable UTC timestamp for a file name."""
    return at.strftime("%Y%m%dT%H%M%S.%fZ")
