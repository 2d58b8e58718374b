"""Consumers: idempotent handlers run over leased deliveries, with retries and dead letters.

Each handler runs in a unit of work of its own that records the message in the inbox, unique per
(consumer, message id), in the same transaction as the handler's effect: a redelivered message
finds its inbox row and is skipped, and a handler that raises rolls both back. A delivery is
acknowledged only after every handler of its lane has committed. A failure is retried with
exponential backoff until the policy's attempts are spent, then dead-lettered under the handler
that failed; handlers that had already succeeded skip it when it is replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ordertrail.services.messaging import (
    LANES,
    ConsumerUnitOfWorkFactory,
    Delivery,
    Handler,
    Message,
    Receiver,
    RetryPolicy,
)
from ordertrail.services.ports import Clock

logger = logging.getLogger("ordertrail.consumer")

BATCH_SIZE_MAX = 1_000
# The error kept with a retry or a dead letter: enough to diagnose, bounded in size.
ERROR_CHARS_MAX = 4_000


class DeliveryTracing(Protocol):
    """Spans around a delivery's processing; the adapter continues the trace in its headers."""

    def process(self, *, message: Message) -> AbstractContextManager[object]:
        """Span the processing of `message` by every handler of its lane."""
        ...

    def handle(self, *, consumer: str, message: Message) -> AbstractContextManager[object]:
        """Span one handler's run on `message`, inside its `process` span."""
        ...


class NoTracing:
    """Tracing switched off: nothing is started, nothing is recorded."""

    def process(self, *, message: Message) -> AbstractContextManager[object]:  # noqa: ARG002
        return nullcontext()

    def handle(
        self,
        *,
        consumer: str,  # noqa: ARG002
        message: Message,  # noqa: ARG002
    ) -> AbstractContextManager[object]:
        return nullcontext()


class HandlingObserver(Protocol):
    """Told of each handler run once it has committed or failed; metrics listen here.

    The services stay free of any metrics library: bootstrap passes an adapter that records
    what it is told. A message the inbox had already seen is not a run and is not reported.
    """

    def handled(
        self, *, consumer: str, message: Message, handled_at: datetime, ok: bool
    ) -> None: ...


class HandlerRegistry:
    """The table of consumer name -> handler that bootstrap fills; lanes pick their handlers.

    It also carries how their runs are traced, so every loop that runs the handlers traces them
    the same way without being told.
    """

    def __init__(
        self,
        handlers: Iterable[Handler] = (),
        *,
        tracing: DeliveryTracing | None = None,
        observer: HandlingObserver | None = None,
    ) -> None:
        self.tracing: DeliveryTracing = tracing or NoTracing()
        self.observer = observer
        self._handlers: dict[str, Handler] = {}
        for handler in handlers:
            self.register(handler)

    def register(self, handler: Handler) -> None:
        if handler.consumer in self._handlers:
            raise ValueError(f"a consumer named {handler.consumer!r} is already registered")
        unknown = set(handler.lanes) - set(LANES)
        if unknown:
            raise ValueError(f"consumer {handler.consumer!r} names unknown lanes {sorted(unknown)}")
        self._handlers[handler.consumer] = handler

    def names(self) -> list[str]:
        return list(self._handlers)

    def for_lane(self, lane: str) -> tuple[Handler, ...]:
        """The handlers that consume `lane`, in registration order."""
        return tuple(h for h in self._handlers.values() if lane in h.lanes)


@dataclass(frozen=True, slots=True)
class ConsumeReport:
    handled: int = 0
    retried: int = 0
    dead_lettered: int = 0

    @property
    def received(self) -> int:
        return self.handled + self.retried + self.dead_lettered

    def __add__(self, other: ConsumeReport) -> ConsumeReport:
        return ConsumeReport(
            handled=self.handled + other.handled,
            retried=self.retried + other.retried,
            dead_lettered=self.dead_lettered + other.dead_lettered,
        )


@dataclass(frozen=True, slots=True)
class _Failure:
    consumer: str
    error: str


def apply_handlers(
    *,
    delivery: Delivery,
    handlers: Iterable[Handler],
    uow_factory: ConsumerUnitOfWorkFactory,
    clock: Clock,
    tracing: DeliveryTracing | None = None,
    observer: HandlingObserver | None = None,
) -> _Failure | None:
    """Run each handler on the delivery in its own transaction; stop at the first failure."""
    message = delivery.message
    tracing = tracing or NoTracing()
    with tracing.process(message=message):
        for handler in handlers:
            ran = False
            try:
                # The span closes on the exception, so it records the failure before we keep it.
                with (
                    tracing.handle(consumer=handler.consumer, message=message),
                    uow_factory() as uow,
                ):
                    ran = uow.inbox.record(
                        consumer=handler.consumer, message=message, processed_at=clock.now()
                    )
                    if ran:
                        handler.handle(message=message, uow=uow)
                        uow.commit()
            except Exception as error:  # any handler failure is retried, then dead-lettered
                if observer is not None:
                    observer.handled(
                        consumer=handler.consumer, message=message, handled_at=clock.now(), ok=False
                    )
                logger.warning(
                    "consumer %s failed on %s (attempt %d)",
                    handler.consumer,
                    message.message_id,
                    delivery.attempts + 1,
                    exc_info=True,
                )
                text = f"{type(error).__name__}: {error}"
                return _Failure(consumer=handler.consumer, error=text[:ERROR_CHARS_MAX])
            if ran and observer is not None:
                observer.handled(
                    consumer=handler.consumer, message=message, handled_at=clock.now(), ok=True
                )
    return None


async def consume_round(
    *,
    receiver: Receiver,
    registry: HandlerRegistry,
    uow_factory: ConsumerUnitOfWorkFactory,
    clock: Clock,
    policy: RetryPolicy,
    lane: str,
    batch_size: int,
) -> ConsumeReport:
    """Receive one batch of `lane` and settle each delivery: ack, retry or dead-letter."""
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise ValueError(f"the consumer batch size must be between 1 and {BATCH_SIZE_MAX}")
    handlers = registry.for_lane(lane)
    report = ConsumeReport()
    for delivery in await receiver.receive(lane=lane, limit=batch_size):
        failure = await asyncio.to_thread(
            apply_handlers,
            delivery=delivery,
            handlers=handlers,
            uow_factory=uow_factory,
            clock=clock,
            tracing=registry.tracing,
            observer=registry.observer,
        )
        attempt = delivery.attempts + 1
        if failure is None:
            await receiver.ack(delivery=delivery)
            report += ConsumeReport(handled=1)
        elif policy.exhausted(attempt=attempt):
            await receiver.dead_letter(
                delivery=delivery, consumer=failure.consumer, error=failure.error
            )
            report += ConsumeReport(dead_lettered=1)
        else:
            await receiver.retry(
                delivery=delivery, error=failure.error, delay_s=policy.delay_s(attempt=attempt)
            )
            report += ConsumeReport(retried=1)
    return report
