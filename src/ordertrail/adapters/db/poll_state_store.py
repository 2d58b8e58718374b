"""The poll-state store: due trackers, their rescheduling, and enrolment from the shipments table.

Trackers are claimed, not merely read: `due` pushes the rows it returns a lease into the future
in the same transaction (on PostgreSQL with SKIP LOCKED), so two pollers never poll one parcel at
once, and a poller that dies mid-round leaves its trackers to come back when the lease runs out.
Shipments are read, never written: the tracking service owns them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, false, func, insert, or_, select, update

from ordertrail.adapters.db.engine import WRITE_OPTION
from ordertrail.adapters.db.tables_carriers import shipments
from ordertrail.adapters.db.tables_polling import carrier_poll_state as polls
from ordertrail.domain.shipments.status import TERMINAL_STATUSES
from ordertrail.services.poll_policy import DONE, Cadence, tier_of
from ordertrail.services.polling_ports import PollResult, Tracker

# (tenant_id, carrier) -> (provider, credential) that polls it, or None when none is configured.
Route = Callable[[str, str], tuple[str, str] | None]
LEASE_S = 15 * 60
NO_CREDENTIAL = "no polling credential configured for this tenant and carrier"
_TERMINAL = tuple(str(status) for status in TERMINAL_STATUSES)


def _tracker(row: Any) -> Tracker:
    return Tracker(
        tenant_id=row.tenant_id,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        provider=row.provider,
        credential=row.credential,
        status=row.status,
        next_poll_at=row.next_poll_at,
        attempts=row.attempts,
        last_error=row.last_error,
    )


class SqlPollStateStore:
    """Implements services.polling.PollStateStore over SQLite or PostgreSQL."""

    def __init__(
        self,
        engine: Engine,
        *,
        route: Route,
        carriers: tuple[str, ...],
        credentials: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self._engine = engine
        self._route = route
        self._carriers = carriers  # the carriers some configured provider can poll
        self._credentials = credentials  # the configured (provider, credential) pairs

    def _write(self) -> Any:
        return self._engine.connect().execution_options(**{WRITE_OPTION: True})

    def due(self, *, now: datetime, limit: int) -> list[Tracker]:
        query = (
            select(polls)
            .where(polls.c.next_poll_at <= now)
            .order_by(polls.c.next_poll_at, polls.c.tenant_id, polls.c.tracking_number)
            .limit(limit)
        )
        if self._engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        lease_until = now + timedelta(seconds=LEASE_S)
        with self._write() as connection, connection.begin():
            trackers = [_tracker(row) for row in connection.execute(query)]
            for tracker in trackers:
                connection.execute(
                    update(polls)
                    .where(*self._key(tracker))
                    .values(next_poll_at=lease_until, updated_at=now)
                )
        return trackers

    @staticmethod
    def _key(tracker: Tracker) -> tuple[Any, ...]:
        return (
            polls.c.tenant_id == tracker.tenant_id,
            polls.c.carrier == tracker.carrier,
            polls.c.tracking_number == tracker.tracking_number,
        )

    def save(self, *, result: PollResult, now: datetime) -> None:
        values: dict[str, Any] = {
            "status": result.status,
            "tier": tier_of(result.status) if result.next_poll_at is not None else DONE,
            "next_poll_at": result.next_poll_at,
            "attempts": result.attempts,
            "last_error": result.error,
            "updated_at": now,
        }
        if result.polled_at is not None:
            values["last_polled_at"] = result.polled_at
            if result.error is not None:
                values["last_error_at"] = result.polled_at
        with self._write() as connection, connection.begin():
            connection.execute(update(polls).where(*self._key(result.tracker)).values(**values))

    def status_of(self, *, tenant_id: str, carrier: str, tracking_number: str) -> str | None:
        query = select(shipments.c.status).where(
            shipments.c.tenant_id == tenant_id,
            shipments.c.carrier == carrier,
            shipments.c.tracking_number == tracking_number,
        )
        with self._engine.connect() as connection:
            status: str | None = connection.execute(query).scalar_one_or_none()
        return status

    def refresh(self, *, now: datetime, cadence: Cadence, limit: int) -> int:
        """Enrol shipments not yet tracked, and follow status changes that came by webhook.

        Returns how many rows it wrote; both steps are bounded by `limit`.
        """
        return (
            self._enrol(now=now, limit=limit)
            + self._reroute(now=now, limit=limit)
            + self._follow(now=now, cadence=cadence, limit=limit)
        )

    def _reroute(self, *, now: datetime, limit: int) -> int:
        """Trackers whose credential left the configuration, or that had none: route them anew.

        A tenant given a credential later is then polled without re-enrolling anything, and a
        removed credential's trackers move to the one that replaces it (or say they have none).
        """
        configured = [
            and_(polls.c.provider == provider, polls.c.credential == credential)
            for provider, credential in self._credentials
        ]
        unrouted = polls.c.provider == ""
        stale = and_(polls.c.tier != DONE, ~or_(*configured)) if configured else false()
        query = select(polls).where(or_(unrouted, stale)).order_by(polls.c.updated_at).limit(limit)
        changed = 0
        with self._write() as connection, connection.begin():
            for row in list(connection.execute(query)):
                route = self._route(row.tenant_id, row.carrier)
                # Still without a credential: only touched, so the next refresh looks further.
                changed += route is not None or row.provider != ""
                if route is None:
                    values: dict[str, Any] = {
                        "provider": "",
                        "credential": "",
                        "tier": DONE,
                        "next_poll_at": None,
                        "last_error": NO_CREDENTIAL,
                    }
                else:
                    values = {
                        "provider": route[0],
                        "credential": route[1],
                        "tier": tier_of(row.status),
                        "next_poll_at": now,
                        "attempts": 0,
                        "last_error": None,
                    }
                connection.execute(
                    update(polls).where(*self._key(_tracker(row))).values(updated_at=now, **values)
                )
        return changed

    def _enrol(self, *, now: datetime, limit: int) -> int:
        tracked = select(polls.c.tracking_number).where(
            polls.c.tenant_id == shipments.c.tenant_id,
            polls.c.carrier == shipments.c.carrier,
            polls.c.tracking_number == shipments.c.tracking_number,
        )
        query = (
            select(
                shipments.c.tenant_id,
                shipments.c.carrier,
                shipments.c.tracking_number,
                shipments.c.status,
            )
            .where(
                shipments.c.carrier.in_(self._carriers),
                shipments.c.status.not_in(_TERMINAL),
                ~tracked.exists(),
            )
            .order_by(shipments.c.created_at)
            .limit(limit)
        )
        with self._write() as connection, connection.begin():
            rows = list(connection.execute(query))
            for row in rows:
                route = self._route(row.tenant_id, row.carrier)
                provider, credential = route if route is not None else ("", "")
                connection.execute(
                    insert(polls).values(
                        tenant_id=row.tenant_id,
                        carrier=row.carrier,
                        tracking_number=row.tracking_number,
                        provider=provider,
                        credential=credential,
                        status=row.status,
                        tier=tier_of(row.status) if route is not None else DONE,
                        # A new tracker is polled at once; one nobody can poll, never (said why).
                        next_poll_at=now if route is not None else None,
                        attempts=0,
                        last_error=None if route is not None else NO_CREDENTIAL,
                        last_error_at=None if route is not None else now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        return len(rows)

    def _follow(self, *, now: datetime, cadence: Cadence, limit: int) -> int:
        """Shipments whose status moved without a poll (a webhook): re-tier their trackers."""
        query = (
            select(
                polls.c.tenant_id,
                polls.c.carrier,
                polls.c.tracking_number,
                polls.c.next_poll_at,
                shipments.c.status,
            )
            .join(
                shipments,
                and_(
                    shipments.c.tenant_id == polls.c.tenant_id,
                    shipments.c.carrier == polls.c.carrier,
                    shipments.c.tracking_number == polls.c.tracking_number,
                ),
            )
            .where(
                func.coalesce(polls.c.status, "") != shipments.c.status,
                polls.c.provider != "",
            )
            .limit(limit)
        )
        with self._write() as connection, connection.begin():
            rows = list(connection.execute(query))
            for row in rows:
                soonest = cadence.next_poll_at(status=row.status, now=now)
                next_at = None if soonest is None else min(soonest, row.next_poll_at or soonest)
                connection.execute(
                    update(polls)
                    .where(
                        polls.c.tenant_id == row.tenant_id,
                        polls.c.carrier == row.carrier,
                        polls.c.tracking_number == row.tracking_number,
                    )
                    .values(
                        status=row.status,
                        tier=tier_of(row.status) if next_at is not None else DONE,
                        next_poll_at=next_at,
                        updated_at=now,
                    )
                )
        return len(rows)

    def active_counts(self) -> dict[tuple[str, str], dict[str, int]]:
        """Active (non-terminal) shipments by status, per (provider, credential) that polls them."""
        query = (
            select(shipments.c.tenant_id, shipments.c.carrier, shipments.c.status, func.count())
            .where(shipments.c.carrier.in_(self._carriers), shipments.c.status.not_in(_TERMINAL))
            .group_by(shipments.c.tenant_id, shipments.c.carrier, shipments.c.status)
        )
        counts: dict[tuple[str, str], dict[str, int]] = {}
        with self._engine.connect() as connection:
            for tenant_id, carrier, status, count in connection.execute(query):
                route = self._route(tenant_id, carrier)
                if route is not None:
                    by_status = counts.setdefault(route, {})
                    by_status[status] = by_status.get(status, 0) + count
        return counts

    def summary(self) -> Mapping[str, int]:
        """Trackers per tier, for the CLI."""
        query = select(polls.c.tier, func.count()).group_by(polls.c.tier)
        with self._engine.connect() as connection:
            return {row[0]: row[1] for row in connection.execute(query)}
