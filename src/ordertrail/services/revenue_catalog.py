"""Catalog rows as the engine reads them: versions that later ones overlap are cut back.

Stored catalog rows are append-only: a change is a new version of the same key (SKU for
templates; SKU, component and currency for SSPs). Where a new version's effective range
overlaps earlier ones, the new version wins on the overlap and the earlier ones keep only the
days outside it, so the domain catalogs never see two rows effective on one day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from ordertrail.domain.revenue import Catalogs, SspRow, TemplateVersion, catalogs_of
from ordertrail.services.revenue_ports import CatalogRecord

Segment = tuple[date, date | None, TemplateVersion | SspRow]


def _minus(segment: Segment, start: date, end: date | None) -> list[Segment]:
    """The parts of `segment` outside [start, end)."""
    s_from, s_to, body = segment
    parts: list[Segment] = []
    if s_from < start:
        parts.append((s_from, start if s_to is None or s_to > start else s_to, body))
    if end is not None and (s_to is None or s_to > end):
        parts.append((max(s_from, end), s_to, body))
    return [p for p in parts if p[1] is None or p[0] < p[1]]


def _key(record: CatalogRecord) -> tuple[str, str, str, str]:
    return (record.kind, record.sku, record.component, record.currency)


def effective_rows(records: Iterable[CatalogRecord]) -> list[TemplateVersion | SspRow]:
    """Resolve versions per key, latest first on any overlap, into non-overlapping rows."""
    by_key: dict[tuple[str, str, str, str], list[CatalogRecord]] = {}
    for record in records:
        by_key.setdefault(_key(record), []).append(record)
    rows: list[TemplateVersion | SspRow] = []
    for key in sorted(by_key):
        segments: list[Segment] = []
        for record in sorted(by_key[key], key=lambda r: r.version):
            start, end = record.effective_from, record.effective_to
            segments = [part for seg in segments for part in _minus(seg, start, end)]
            segments.append((start, end, record.body))
        for start, end, body in sorted(segments, key=lambda seg: seg[0]):
            rows.append(replace(body, effective_from=start, effective_to=end))
    return rows


def catalogs_from(records: Iterable[CatalogRecord]) -> Catalogs:
    """Build the domain catalogs from stored rows."""
    rows = effective_rows(records)
    return catalogs_of(
        versions=[r for r in rows if isinstance(r, TemplateVersion)],
        ssp_rows=[r for r in rows if isinstance(r, SspRow)],
    )


def key_of(body: TemplateVersion | SspRow) -> tuple[str, str, str, str]:
    """(kind, sku, component, currency) of a catalog row: templates have no component or
    currency of their own."""
    if isinstance(body, TemplateVersion):
        return ("template", body.sku, "", "")
    return ("ssp", body.sku, body.component, body.currency)
