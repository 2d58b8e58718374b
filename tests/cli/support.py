"""Helpers for batch-file tests: write JSON Lines, CSV and manifests, and count what was stored."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

from ordertrail.adapters.files.readers import CSV_COLUMNS
from ordertrail.bootstrap import Ordertrail

EVENTS_MAX = 100_000


def write_jsonl(path: Path, events: list[Any], *, raw_lines: dict[int, str] | None = None) -> Path:
    """Write one event per line; `raw_lines` inserts verbatim text before the given event index."""
    raw_lines = raw_lines or {}
    with path.open("w", encoding="utf-8") as file:
        for index, event in enumerate(events):
            if index in raw_lines:
                file.write(raw_lines[index] + "\n")
            file.write(json.dumps(event) + "\n")
    return path


def csv_row(event: dict[str, Any]) -> list[Any]:
    return [*(event[c] for c in CSV_COLUMNS[:-1]), json.dumps(event["payload"])]


def write_csv(path: Path, rows: list[list[Any]], *, header: tuple[str, ...] = CSV_COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_sidecar(path: Path, *, bare: bool = False) -> str:
    """Write PATH.sha256 as `sha256sum` does (or a bare digest) and return the digest."""
    digest = sha256_of(path)
    text = digest if bare else f"{digest}  {path.name}"
    path.with_name(path.name + ".sha256").write_text(text + "\n", encoding="utf-8")
    return digest


def stored_events(app: Ordertrail, *, tenant_id: str) -> list[Any]:
    return app.event_log.read(tenant_id=tenant_id, after_seq=0, limit=EVENTS_MAX)


def quarantined(app: Ordertrail, *, tenant_id: str) -> list[dict[str, Any]]:
    page = app.queries.list_quarantine(
        tenant_id=tenant_id, order_id=None, reason_code=None, limit=500, cursor=None
    )
    return page.items
