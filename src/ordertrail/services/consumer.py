"""Consumers: idempotent handlers run over leased deliveries, with retries and dead letters.

Each handler records a message in the inbox, unique per (consumer, message id), in the same
transaction as the handler's effect: a redelivered message finds its inbox row and is skipped, and
a handler that raises rolls both back. A delivery is acknowledged only after every handler of its
lane has committed. A failure is retried with exponential backoff until the policy's attempts are
spent, then dead-lettered under the handler that failed; handlers that had already succeeded skip
it when it is replayed.

Throughput: a durable commit costs milliseconds, so one transaction per message and handler caps
a worker at a few dozen messages a second. `consume_round` therefore runs each handler over the
whole batch it received in ONE transaction (inbox rows and effects of every message, in delivery
order), and commits once. If the handler raises on a message, that batch transaction rolls back,
the message fails with that error, and the handler runs the batch's other messages again one
transaction each, so only the failing message is retried or dead-lettered and the others commit:
failures keep the per-message semantics. The price: a batch transaction holds its row locks (a
tenant's audit head, a contract row) until the batch commits, and the messages before a failing one
are handled twice (once rolled back). A handler that cannot share a transaction between messages
says so with `batchable = False` (see messaging.Handler) and always runs one message per
transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ordertrail.services.messaging import (
    LANES,
    ConsumerUnitOfWork,
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


def _apply_one(
    *,
    delivery: Delivery,
    handler: Handler,
    uow_factory: ConsumerUnitOfWorkFactory,
    clock: Clock,
    tracing: DeliveryTracing,
    observer: HandlingObserver | None,
) -> _Failure | None:
    """Run one handler on one delivery in a transaction of its own, inside its `process` span."""
    message = delivery.message
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
        return _failed(
            delivery=delivery,
            consumer=handler.consumer,
            error=error,
            clock=clock,
            observer=observer,
        )
    if ran and observer is not None:
        observer.handled(
            consumer=handler.consumer, message=message, handled_at=clock.now(), ok=True
        )
    return None


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
    tracing = tracing or NoTracing()
    with tracing.process(message=delivery.message):
        for handler in handlers:
            failure = _apply_one(
                delivery=delivery,
                handler=handler,
                uow_factory=uow_factory,
                clock=clock,
                tracing=tracing,
                observer=observer,
            )
            if failure is not None:
                return failure
    return None


def _handle_in_batch(
    *,
    handler: Handler,
    message: Message,
    uow: ConsumerUnitOfWork,
    clock: Clock,
    tracing: DeliveryTracing,
) -> bool:
    """Record and handle `message` in the batch transaction; say whether it ran (not a repeat).

    The inbox sees the batch's own uncommitted rows, so a message id that comes twice in one
    batch runs once.
    """
    with tracing.handle(consumer=handler.consumer, message=message):
        ran = uow.inbox.record(consumer=handler.consumer, message=message, processed_at=clock.now())
        if ran:
            handler.handle(message=message, uow=uow)
        return ran


def apply_handlers_batch(
    *,
    deliveries: Sequence[Delivery],
    handlers: Iterable[Handler],
    uow_factory: ConsumerUnitOfWorkFactory,
    clock: Clock,
    tracing: DeliveryTracing | None = None,
    observer: HandlingObserver | None = None,
) -> list[_Failure | None]:
    """Run each handler over `deliveries` in one transaction; return each delivery's failure.

    Handlers run one after the other, each over the deliveries no earlier handler failed on, in
    delivery order (an order's messages keep their order). A handler's batch transaction commits
    once. If the handler raises on a message, the transaction rolls back, that message fails with
    the error (the state it saw is the one single-message transactions would have shown it: its
    predecessors' effects), and the handler runs the batch's other messages again one transaction
    each, so only the failing message is retried and its later handlers do not run on it, as with
    `apply_handlers`. If the commit itself fails, every message is run again that way.

    Each delivery keeps one `process` span for its whole processing, with the handler spans as
    its children: the span is opened in a context of the delivery's own (contextvars), and every
    handler run on that delivery happens in that context.
    """
    tracing = tracing or NoTracing()
    failures: list[_Failure | None] = [None] * len(deliveries)
    contexts = [contextvars.copy_context() for _ in deliveries]
    opened: list[tuple[contextvars.Context, AbstractContextManager[object]]] = []
    try:
        for delivery, context in zip(deliveries, contexts, strict=True):
            span = tracing.process(message=delivery.message)
            context.run(span.__enter__)
            opened.append((context, span))
        for handler in handlers:
            pending = [i for i, failure in enumerate(failures) if failure is None]
            if not pending:
                break
            if getattr(handler, "batchable", True) and len(pending) > 1:
                outcome = _run_batch(
                    handler=handler,
                    deliveries=[deliveries[i] for i in pending],
                    contexts=[contexts[i] for i in pending],
                    uow_factory=uow_factory,
                    clock=clock,
                    tracing=tracing,
                )
                if isinstance(outcome, list):
                    if observer is not None:
                        handled_at = clock.now()
                        for message in outcome:
                            observer.handled(
                                consumer=handler.consumer,
                                message=message,
                                handled_at=handled_at,
                                ok=True,
                            )
                    continue
                if outcome is not None:
                    index, error = outcome
                    failed = pending.pop(index)
                    failures[failed] = _failed(
                        delivery=deliveries[failed],
                        consumer=handler.consumer,
                        error=error,
                        clock=clock,
                        observer=observer,
                    )
            for i in pending:
                failures[i] = contexts[i].run(
                    _apply_one,
                    delivery=deliveries[i],
                    handler=handler,
                    uow_factory=uow_factory,
                    clock=clock,
                    tracing=tracing,
                    observer=observer,
                )
    finally:
        for context, span in reversed(opened):
            context.run(span.__exit__, None, None, None)
    return failures


def _failed(
    *,
    delivery: Delivery,
    consumer: str,
    error: Exception,
    clock: Clock,
    observer: HandlingObserver | None,
) -> _Failure:
    """Report and log a handler's failure on a delivery; return what the retry keeps of it."""
    message = delivery.message
    if observer is not None:
        observer.handled(consumer=consumer, message=message, handled_at=clock.now(), ok=False)
    logger.warning(
        "consumer %s failed on %s (attempt %d)",
        consumer,
        message.message_id,
        delivery.attempts + 1,
        exc_info=error,
    )
    text = f"{type(error).__name__}: {error}"
    return _Failure(consumer=consumer, error=text[:ERROR_CHARS_MAX])


def _run_batch(
    *,
    handler: Handler,
    deliveries: Sequence[Delivery],
    contexts: Sequence[contextvars.Context],
    uow_factory: ConsumerUnitOfWorkFactory,
    clock: Clock,
    tracing: DeliveryTracing,
) -> list[Message] | tuple[int, Exception] | None:
    """Run `handler` over `deliveries` in one transaction and commit it.

    Return the messages it ran (not inbox repeats) once committed; or, when it rolled back,
    (index, error) of the delivery the handler raised on, or None when the commit itself failed.
    """
    ran: list[Message] = []
    index = -1
    try:
        with uow_factory() as uow:
            for position, (delivery, context) in enumerate(zip(deliveries, contexts, strict=True)):
                index = position  # kept for the except clause: which message raised
                if context.run(
                    _handle_in_batch,
                    handler=handler,
                    message=delivery.message,
                    uow=uow,
                    clock=clock,
                    tracing=tracing,
                ):
                    ran.append(delivery.message)
            index = len(deliveries)
            uow.commit()
    except Exception as error:  # the failing message is retried, the others run one by one
        if 0 <= index < len(deliveries):
            return index, error
        logger.warning(
            "consumer %s could not commit a batch of %d; handling it one message at a time",
            handler.consumer,
            len(deliveries),
            exc_info=True,
        )
        return None
    return ran


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
    """Receive one batch of `lane`, handle it in batch transactions, then settle each delivery.

    Every handler has committed (or failed) on every delivery of the batch before the first ack:
    an ack never precedes its commit, and a process killed in between redelivers the batch,
    which the inbox then skips.
    """
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise ValueError(f"the consumer batch size must be between 1 and {BATCH_SIZE_MAX}")
    handlers = registry.for_lane(lane)
    report = ConsumeReport()
    deliveries = await receiver.receive(lane=lane, limit=batch_size)
    if not deliveries:
        return report
    failures = await asyncio.to_thread(
        apply_handlers_batch,
        deliveries=deliveries,
        handlers=handlers,
        uow_factory=uow_factory,
        clock=clock,
        tracing=registry.tracing,
        observer=registry.observer,
    )
    for delivery, failure in zip(deliveries, failures, strict=True):
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
