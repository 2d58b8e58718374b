"""The milestone log consumer's table on SQL, written inside the consumer's unit of work."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Connection, insert

from ordertrail.adapters.db.tables import milestone_log
from ordertrail.services.messaging import MilestoneEntry


class SqlMilestoneLog:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def append(self, *, entry: MilestoneEntry) -> None:
        self._connection.execute(insert(milestone_log).values(**asdict(entry)))
