"""The root-cause Pareto report: which causes hit most shipments, overall and per carrier.

Counts come from `shipments.root_cause` (set by tracking from each problem scan's reason); each
cause also lists its reasons, so "carrier: 60 %" can be read as "mostly lost parcels".
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ordertrail.domain.monitoring.pareto import ParetoRow, pareto
from ordertrail.services.alert_ports import RootCauseCount, RootCauseQueries

OVERALL = "all"
CSV_COLUMNS = (
    "scope",
    "rank",
    "root_cause",
    "count",
    "percent",
    "cumulative_count",
    "cumulative_percent",
)


class InvalidRange(ValueError):
    """The report's range is empty or inverted."""


@dataclass(frozen=True, slots=True)
class RootCauseReport:
    start: datetime
    end: datetime
    overall: tuple[ParetoRow, ...]
    by_carrier: dict[str, tuple[ParetoRow, ...]]
    reasons: dict[str, dict[str, int]]  # cause -> reason -> count, over every carrier

    def as_dict(self) -> dict[str, Any]:
        def rows(items: tuple[ParetoRow, ...], *, with_reasons: bool) -> list[dict[str, Any]]:
            out = []
            for row in items:
                item: dict[str, Any] = {
                    "rank": row.rank,
                    "root_cause": row.cause,
                    "count": row.count,
                    "percent": row.percent,
                    "cumulative_count": row.cumulative_count,
                    "cumulative_percent": row.cumulative_percent,
                }
                if with_reasons:
                    item["reasons"] = self.reasons.get(row.cause, {})
                out.append(item)
            return out

        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "total": sum(row.count for row in self.overall),
            "overall": rows(self.overall, with_reasons=True),
            "carriers": {
                carrier: rows(items, with_reasons=False)
                for carrier, items in sorted(self.by_carrier.items())
            },
        }

    def as_csv(self) -> str:
        """One line per scope (`all`, then each carrier) and cause, in rank order."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        scopes = [(OVERALL, self.overall), *sorted(self.by_carrier.items())]
        for scope, items in scopes:
            for row in items:
                writer.writerow(
                    (
                        scope,
                        row.rank,
                        row.cause,
                        row.count,
                        f"{row.percent:.2f}",
                        row.cumulative_count,
                        f"{row.cumulative_percent:.2f}",
                    )
                )
        return buffer.getvalue()


def build_report(
    *, counts: list[RootCauseCount], start: datetime, end: datetime
) -> RootCauseReport:
    overall: dict[str, int] = defaultdict(int)
    carriers: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    reasons: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for count in counts:
        overall[count.root_cause] += count.count
        carriers[count.carrier][count.root_cause] += count.count
        reasons[count.root_cause][count.reason] += count.count
    return RootCauseReport(
        start=start,
        end=end,
        overall=pareto(overall),
        by_carrier={carrier: pareto(causes) for carrier, causes in carriers.items()},
        reasons={cause: dict(sorted(found.items())) for cause, found in reasons.items()},
    )


def root_cause_report(
    *,
    queries: RootCauseQueries,
    tenant_id: str,
    start: datetime,
    end: datetime,
    carrier: str | None = None,
) -> RootCauseReport:
    """The Pareto of root causes of shipments created in [start, end), overall and per carrier."""
    if end <= start:
        raise InvalidRange("the report's `to` must be after its `from`")
    counts = queries.counts(tenant_id=tenant_id, start=start, end=end, carrier=carrier)
    return build_report(counts=counts, start=start, end=end)
