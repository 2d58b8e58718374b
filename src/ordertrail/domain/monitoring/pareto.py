"""The root-cause Pareto: causes ranked by how many shipments they hit, with cumulative shares.

The few causes that account for most problems are what to fix first; the cumulative percentage
says how far down the list a fix campaign has to go to cover, say, 80 % of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

PERCENT_DECIMALS = 2


@dataclass(frozen=True, slots=True)
class ParetoRow:
    rank: int
    cause: str
    count: int
    percent: float
    cumulative_count: int
    cumulative_percent: float


def pareto(counts: Mapping[str, int]) -> tuple[ParetoRow, ...]:
    """Rank causes by count, descending (ties by name, so the report is stable), with shares.

    Shares are computed exactly and rounded once for display: the cumulative percentage is the
    rounded exact running share, so the last row is exactly 100.0 and it never decreases.
    Causes with a zero count are left out; negative counts are a bug and raise ValueError.
    """
    if any(count < 0 for count in counts.values()):
        raise ValueError("a cause cannot have a negative count")
    ranked = sorted(((c, n) for c, n in counts.items() if n > 0), key=lambda i: (-i[1], i[0]))
    total = sum(n for _, n in ranked)
    rows: list[ParetoRow] = []
    running = 0
    for rank, (cause, count) in enumerate(ranked, start=1):
        running += count
        rows.append(
            ParetoRow(
                rank=rank,
                cause=cause,
                count=count,
                percent=round(float(Fraction(100 * count, total)), PERCENT_DECIMALS),
                cumulative_count=running,
                cumulative_percent=round(float(Fraction(100 * running, total)), PERCENT_DECIMALS),
            )
        )
    return tuple(rows)
