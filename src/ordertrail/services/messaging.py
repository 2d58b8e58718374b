"""The event pipeline's ports: what the relay, the consumers and the dead-letter queue need.

Every broker (the embedded `db://` queue, RabbitMQ and Kafka) implements `Broker`:
asynchronous publishing that returns only once the broker has confirmed, and leased deliveries
that a consumer acknowledges, schedules for retry or dead-letters. Storage stays synchronous,
like every other repository port; the async loops call it through `asyncio.to_thread`.

Ordering contract: messages carry their order id as the routing (partition) key, and a broker
hands out a message of an order only when every earlier message of that order in the same lane
has been acknowledged or dead-lettered, or, on Kafka only, handed to a retry topic. So `db://` and
RabbitMQ hold an order's later messages back while an earlier one waits for its retry, and Kafka
lets them overtake it (adapters/brokers/kafka.py says why); the broker contract suite
(tests/pipeline/test_broker_contract.py) checks each broker against what it promises here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ordertrail.services.ports import Page, UnitOfWork

# Revenue-critical facts and informational updates travel on separate lanes (see
# services/milestones.py for which event types are critical). Critical is listed first: a loop
# that serves both lanes serves it first in every round.
LANES = ("critical", "bulk")


def message_id_of(*, tenant_id: str, event_id: str) -> str:
    """Return the message id of an accepted event: the same one its milestone body carries."""
    return f"{tenant_id}/{event_id}"


@dataclass(frozen=True, slots=True)
class Message:
    """One milestone message as it travels through a broker; `order_id` is its routing key."""

    message_id: str
    tenant_id: str
    order_id: str
    lane: str
    event_type: str
    body: str
    created_at: datetime
    # W3C trace context and similar transport metadata; never business data.
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message handed to one consumer process, leased until acknowledged or rescheduled."""

    message: Message
    # Failed attempts before this one.
    attempts: int
    first_failed_at: datetime | None
    # Opaque to the services: what the broker needs to find the delivery again.
    tag: str


class PublishFailed(Exception):
    """The broker did not confirm every message; the first `confirmed` ones it did confirm."""

    def __init__(self, message: str, *, confirmed: int) -> None:
        super().__init__(message)
        self.confirmed = confirmed


class BrokerNotAvailable(ValueError):
    """The broker URL names a scheme that is unknown or has no adapter yet."""


class Publisher(Protocol):
    async def publish(self, *, messages: Sequence[Message]) -> None:
        """Publish `messages` in order and return once the broker has confirmed all of them.

        Raise PublishFailed with the count of the confirmed leading messages when only some were
        confirmed; any other exception means none may be taken as confirmed. Publishing a message
        id again is allowed (at-least-once): consumers deduplicate.
        """
        ...


class Receiver(Protocol):
    async def receive(self, *, lane: str, limit: int) -> list[Delivery]:
        """Lease up to `limit` deliveries of `lane`, at most one per order, oldest first."""
        ...

    async def ack(self, *, delivery: Delivery) -> None:
        """Remove a delivery whose effects have committed."""
        ...

    async def retry(self, *, delivery: Delivery, error: str, delay_s: float) -> None:
        """Count a failed attempt and offer the delivery again after `delay_s`."""
        ...

    async def dead_letter(self, *, delivery: Delivery, consumer: str, error: str) -> None:
        """Move a delivery that `consumer` gave up on to the dead letters, with its history."""
        ...


class Broker(Publisher, Receiver, Protocol):
    async def close(self) -> None: ...


class OutboxStore(Protocol):
    """The transactional outbox, as the relay sees it."""

    def unpublished(self, *, lane: str, limit: int) -> list[tuple[int, Message]]:
        """Return up to `limit` unpublished rows of `lane` as (outbox id, message), by id.

        A scan for `published_at IS NULL`, never "ids above the last one published": on
        PostgreSQL a lower id can commit after a higher one, and a high-water mark would skip it.
        """
        ...

    def mark_published(self, *, ids: Sequence[int], published_at: datetime) -> None: ...


class RelayLock(Protocol):
    """Makes sure at most one relay publishes at a time."""

    def acquire(self) -> bool:
        """Take the lock if it is free; say whether this process now holds it."""
        ...

    def still_held(self) -> bool:
        """Say whether the lock is still ours (a lost database session loses it)."""
        ...

    def release(self) -> None: ...


class Inbox(Protocol):
    def record(self, *, consumer: str, message: Message, processed_at: datetime) -> bool:
        """Record that `consumer` processed `message`; False when it already had.

        Runs in the consumer's unit of work, so the record commits or rolls back with the effect.
        """
        ...


@dataclass(frozen=True, slots=True)
class MilestoneEntry:
    tenant_id: str
    consumer: str
    message_id: str
    order_id: str
    event_type: str
    lane: str
    created_at: datetime
    handled_at: datetime


class MilestoneLog(Protocol):
    def append(self, *, entry: MilestoneEntry) -> None: ...


class ConsumerUnitOfWork(UnitOfWork, Protocol):
    """The unit of work a message handler gets: its effects and the inbox commit together."""

    inbox: Inbox
    milestone_log: MilestoneLog

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (never if it rolls back)."""
        ...


class Handler(Protocol):
    """A consumer: a stable name (the inbox key) and an effect done through the unit of work.

    `handle` must not commit: the consumer loop records the message in the inbox and commits
    both together, and acknowledges the delivery only after that commit. The loop may handle
    several messages (in delivery order) in one unit of work, so a handler must read through
    the unit of work rather than keep state between calls; one that cannot sets an optional
    class attribute `batchable = False` and gets one transaction per message
    (services/consumer.py).
    """

    @property
    def consumer(self) -> str: ...

    @property
    def lanes(self) -> frozenset[str]: ...

    def handle(self, *, message: Message, uow: ConsumerUnitOfWork) -> None: ...


ConsumerUnitOfWorkFactory = Callable[[], ConsumerUnitOfWork]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: attempt n (1-based) that fails waits initial * 2**(n-1), capped."""

    attempts_max: int = 8
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 600.0

    def __post_init__(self) -> None:
        if not 1 <= self.attempts_max <= 100:
            raise ValueError("attempts_max must be between 1 and 100")
        if not 0 <= self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("backoff must satisfy 0 <= initial <= max")

    def delay_s(self, *, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` before the next one."""
        return float(min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1)))

    def exhausted(self, *, attempt: int) -> bool:
        """Say whether failed attempt number `attempt` was the last one allowed."""
        return attempt >= self.attempts_max


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    tenant_id: str
    consumer: str
    message: Message
    error: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    dead_at: datetime
    purged_at: datetime | None
    purged_by: str | None
    # (replayed_by, replayed_at), oldest first.
    replays: tuple[tuple[str, datetime], ...] = ()

    def as_dict(self, *, with_body: bool = True) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "message_id": self.message.message_id,
            "lane": self.message.lane,
            "consumer": self.consumer,
            "order_id": self.message.order_id,
            "event_type": self.message.event_type,
            "error": self.error,
            "attempts": self.attempts,
            "first_failed_at": self.first_failed_at.isoformat(),
            "last_failed_at": self.last_failed_at.isoformat(),
            "dead_at": self.dead_at.isoformat(),
            "purged_at": None if self.purged_at is None else self.purged_at.isoformat(),
            "purged_by": self.purged_by,
            "replays": [
                {"replayed_by": by, "replayed_at": at.isoformat()} for by, at in self.replays
            ],
        }
        if with_body:
            document["body"] = self.message.body
            document["headers"] = dict(self.message.headers)
        return document


class DeadLetterStore(Protocol):
    """Dead letters on the database, whatever the broker: evidence that is never deleted."""

    def list(
        self, *, tenant_id: str | None, include_purged: bool, limit: int, cursor: str | None
    ) -> Page:
        """Dead letters newest first; `tenant_id` None lists every tenant (operators only)."""
        ...

    def get(self, *, tenant_id: str, dead_letter_id: int) -> DeadLetter | None: ...

    def purge(
        self, *, tenant_id: str, dead_letter_id: int, actor: str, purged_at: datetime
    ) -> bool:
        """Mark a dead letter purged; False when it already was (the first purge stands)."""
        ...

    def record_replay(
        self, *, tenant_id: str, dead_letter_id: int, message_id: str, actor: str, at: datetime
    ) -> None: ...
