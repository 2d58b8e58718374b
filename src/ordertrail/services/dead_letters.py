"""Dead letters: inspect them, replay them under their original message ids, purge them.

A dead letter is evidence and is never deleted: a purge records who purged it and when, and hides
it from the default listing. A replay publishes the message again with its original id, so every
consumer that had already processed it skips it through its inbox and only the ones that failed
run again; who replayed what is appended to the replay record only after the broker confirmed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from ordertrail.services.messaging import DeadLetter, DeadLetterStore, Publisher


class DeadLetterNotFound(LookupError):
    """No dead letter with that id for the tenant (another tenant's looks the same)."""


class DeadLetterPurged(Exception):
    """The dead letter was purged; it stays as evidence but is no longer replayed."""


def _existing(*, store: DeadLetterStore, tenant_id: str, dead_letter_id: int) -> DeadLetter:
    letter = store.get(tenant_id=tenant_id, dead_letter_id=dead_letter_id)
    if letter is None:
        raise DeadLetterNotFound(f"no dead letter {dead_letter_id} for tenant {tenant_id!r}")
    return letter


def show_dead_letter(*, store: DeadLetterStore, tenant_id: str, dead_letter_id: int) -> DeadLetter:
    """Return one of the tenant's dead letters, with its replays."""
    return _existing(store=store, tenant_id=tenant_id, dead_letter_id=dead_letter_id)


async def replay_dead_letter(
    *,
    store: DeadLetterStore,
    publisher: Publisher,
    tenant_id: str,
    dead_letter_id: int,
    actor: str,
    now: datetime,
) -> DeadLetter:
    """Publish a dead letter's message again under its original id and record the replay."""
    letter = await asyncio.to_thread(
        _existing, store=store, tenant_id=tenant_id, dead_letter_id=dead_letter_id
    )
    if letter.purged_at is not None:
        raise DeadLetterPurged(
            f"dead letter {dead_letter_id} was purged by {letter.purged_by} "
            f"at {letter.purged_at.isoformat()}"
        )
    # Confirmed first, recorded second: a record never claims a replay that did not happen.
    await publisher.publish(messages=[letter.message])
    await asyncio.to_thread(
        store.record_replay,
        tenant_id=tenant_id,
        dead_letter_id=dead_letter_id,
        message_id=letter.message.message_id,
        actor=actor,
        at=now,
    )
    return await asyncio.to_thread(
        _existing, store=store, tenant_id=tenant_id, dead_letter_id=dead_letter_id
    )


def purge_dead_letter(
    *, store: DeadLetterStore, tenant_id: str, dead_letter_id: int, actor: str, now: datetime
) -> DeadLetter:
    """Mark a dead letter purged (the first purge stands) and return it."""
    _existing(store=store, tenant_id=tenant_id, dead_letter_id=dead_letter_id)
    store.purge(tenant_id=tenant_id, dead_letter_id=dead_letter_id, actor=actor, purged_at=now)
    return _existing(store=store, tenant_id=tenant_id, dead_letter_id=dead_letter_id)
