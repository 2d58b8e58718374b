"""`ordertrail import`: apply a JSON Lines or CSV export, checked against its SHA-256 manifest.

The checksum is verified before anything is applied. Undecodable lines are quarantined, never
fatal. Progress is recorded after every batch, so running the same command again resumes.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ordertrail.adapters.files.checksum import (
    FileDigest,
    ManifestError,
    digest_file,
    expected_digest,
    read_sidecar,
    sidecar_of,
)
from ordertrail.adapters.files.readers import READERS, BatchFileError, format_of
from ordertrail.bootstrap import Ordertrail
from ordertrail.entrypoints.cli.common import DatabaseOption, console, fail, open_app
from ordertrail.services.batch_import import ImportReport, SourceRecord, import_records
from ordertrail.services.ingest import BATCH_SIZE_MAX
from ordertrail.services.keys import TENANT_PATTERN

BATCH_SIZE_DEFAULT = 500


class BatchFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def import_file(
    *,
    path: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="The .jsonl or .csv file."),
    ],
    tenant: Annotated[str, typer.Option(help="The tenant whose events the file holds.")],
    file_format: Annotated[
        BatchFormat | None,
        typer.Option("--format", help="Default: from the extension (.jsonl, .ndjson, .csv)."),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option(help="The file's expected SHA-256. Default: read from PATH.sha256."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=BATCH_SIZE_MAX, help="Events per transaction.")
    ] = BATCH_SIZE_DEFAULT,
    unverified: Annotated[
        bool, typer.Option("--unverified", help="Import even without a manifest checksum.")
    ] = False,
    database: DatabaseOption = None,
) -> None:
    """Import events from a batch file; a re-run of the same file resumes where it stopped."""
    if not TENANT_PATTERN.match(tenant):
        raise fail(f"tenant id {tenant!r} must be lowercase letters, digits, '-' or '_'", code=2)
    try:
        fmt = file_format.value if file_format is not None else format_of(path)
        expected, origin = _expected(path, sha256=sha256, unverified=unverified)
    except (BatchFileError, ManifestError) as error:
        raise fail(str(error), code=2) from None
    with path.open("rb") as file:
        digest = digest_file(file)
        if expected is not None and digest.sha256 != expected:
            raise fail(
                f"checksum mismatch for {path.name}: expected {expected} (from {origin}), "
                f"actual {digest.sha256}. Nothing was imported."
            )
        try:
            records = READERS[fmt](file)
        except BatchFileError as error:
            raise fail(f"{path.name}: {error}. Nothing was imported.") from None
        app = open_app(database)
        try:
            report = _run(
                app, records=records, path=path, tenant=tenant, digest=digest, batch_size=batch_size
            )
        except KeyboardInterrupt:
            raise fail(
                "interrupted. Every committed batch is recorded: run the same command to resume.",
                code=130,
            ) from None
        finally:
            app.close()
    _print_report(report, path=path, verified=expected is not None)


def _expected(path: Path, *, sha256: str | None, unverified: bool) -> tuple[str | None, str]:
    """The digest the file must have and where it came from: --sha256, else the sidecar.

    None only with --unverified and no sidecar; without --unverified that refuses instead.
    """
    if sha256 is not None:
        return expected_digest(sha256), "--sha256"
    from_sidecar = read_sidecar(path)
    if from_sidecar is not None or unverified:
        return from_sidecar, sidecar_of(path).name
    quoted, sidecar = shlex.quote(path.name), shlex.quote(sidecar_of(path).name)
    # sha256sum writes the name as given, so it is run beside the file to record the bare name.
    cd = "" if path.parent == Path() else f"cd {shlex.quote(str(path.parent))} && "
    raise fail(
        f"no manifest for {path.name}: pass --sha256 or put its checksum in {sidecar_of(path).name}"
        f" beside it: `{cd}sha256sum {quoted} > {sidecar}` (macOS: `shasum -a 256` instead of"
        " `sha256sum`). To import without a manifest, add --unverified.",
        code=2,
    )


def _run(
    app: Ordertrail,
    *,
    records: Iterator[SourceRecord],
    path: Path,
    tenant: str,
    digest: FileDigest,
    batch_size: int,
) -> ImportReport:
    columns = (
        TextColumn(f"Importing {path.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("import", total=digest.lines_count)
        report = import_records(
            uow_factory=app.uow_factory,
            import_log=app.import_log,
            clock=app.clock,
            new_id=app.new_id,
            records=records,
            tenant_id=tenant,
            file_name=path.name,
            file_sha256=digest.sha256,
            batch_size=batch_size,
            on_batch=lambda line: progress.update(task, completed=line),
        )
        progress.update(task, completed=digest.lines_count)
    return report


def _print_report(report: ImportReport, *, path: Path, verified: bool) -> None:
    totals = report.totals
    check = "verified" if verified else "[yellow]not verified: --unverified[/]"
    console.print(
        f"{path.name} for tenant [bold]{totals.tenant_id}[/]: sha256 {totals.file_sha256} "
        f"({check}); recorded as actor {totals.actor}",
        highlight=False,
    )
    if report.resumed_after_line:
        console.print(
            f"Resumed after line {report.resumed_after_line:,}, committed by an earlier run."
        )
    table = Table("", "this run", "all runs of this file", title="Import")
    rows = (
        ("applied", report.applied, totals.applied),
        ("duplicate (already applied)", report.duplicate, totals.duplicate),
        ("quarantined: rejected", report.rejected, totals.rejected),
        ("quarantined: conflict (event id reused)", report.conflict, totals.conflict),
        ("quarantined: unparseable line", report.unparseable, totals.unparseable),
        ("skipped (done by an earlier run)", report.skipped, None),
    )
    for label, this_run, all_runs in rows:
        table.add_row(label, f"{this_run:,}", "" if all_runs is None else f"{all_runs:,}")
    console.print(table)
    if report.quarantined:
        console.print(
            f"{report.quarantined:,} records are in quarantine with their reasons: "
            f"`ordertrail quarantine list --tenant {totals.tenant_id}` or GET /v1/quarantine.",
            highlight=False,
        )
    if report.skipped and not (report.applied or report.duplicate or report.quarantined):
        console.print("Nothing new to apply: an earlier run imported this file for this tenant.")
