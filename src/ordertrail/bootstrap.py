"""The composition root: settings are read here once, and every dependency is wired here.

Nothing connects to anything at import time. Tests call the same `bootstrap()` with an engine of
their own, a fixed clock or deterministic ids.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.trace import TracerProvider
from sqlalchemy import Engine, text

from ordertrail.adapters.alerting.settings import AlertingSettings
from ordertrail.adapters.alerting.wiring import make_monitoring
from ordertrail.adapters.audit_signing import CheckpointSigner
from ordertrail.adapters.brokers import DEFAULT_BROKER_URL, BrokerContext, make_broker
from ordertrail.adapters.carriers.mapping_tables import load_tables
from ordertrail.adapters.carriers.tracking_app import CarrierTracking
from ordertrail.adapters.clock import SystemClock, new_uuid
from ordertrail.adapters.db.audit_store import SqlAuditStore
from ordertrail.adapters.db.dead_letter_store import SqlDeadLetterStore
from ordertrail.adapters.db.engine import make_engine, sqlite_url
from ordertrail.adapters.db.event_log import SqlEventLog
from ordertrail.adapters.db.import_log import SqlImportLog
from ordertrail.adapters.db.key_store import SqlKeyStore
from ordertrail.adapters.db.migrate import upgrade
from ordertrail.adapters.db.outbox_store import SqlOutboxStore, relay_lock_for
from ordertrail.adapters.db.queries import SqlOrderQueries
from ordertrail.adapters.db.report_queries import SqlReportQueries
from ordertrail.adapters.db.shipment_store import SqlCarrierSecretStore, SqlTrackingUnitOfWork
from ordertrail.adapters.db.source_store import SqlSourceStore
from ordertrail.adapters.db.uow import SqlUnitOfWork
from ordertrail.adapters.files.drop_box import DropDirectories
from ordertrail.adapters.metrics import Metrics
from ordertrail.adapters.metrics_db import app_metrics
from ordertrail.adapters.tracing import (
    EXPORTERS,
    Tracing,
    TracingBroker,
    make_tracer_provider,
    messaging_system_for,
)
from ordertrail.services import dead_letters as dead_letter_service
from ordertrail.services import ingest as ingest_service
from ordertrail.services import quarantine as quarantine_service
from ordertrail.services import replay as replay_service
from ordertrail.services import sources as sources_service
from ordertrail.services.access import Role
from ordertrail.services.amendments import AMENDMENT_POST, check_amendment_payload
from ordertrail.services.approvals import Approvals, ExecutorRegistry
from ordertrail.services.consumer import BATCH_SIZE_MAX as CONSUMER_BATCH_SIZE_MAX
from ordertrail.services.consumer import HandlerRegistry
from ordertrail.services.controls import HOLD_RELEASE, Controls
from ordertrail.services.disputes import (
    DISPUTE_REINSTATE,
    Disputes,
    check_reinstate_payload,
    reinstate_executor,
)
from ordertrail.services.holds import check_release_payload, release_hold_executor
from ordertrail.services.keys import Principal
from ordertrail.services.messaging import (
    Broker,
    ConsumerUnitOfWork,
    DeadLetter,
    DeadLetterStore,
    Handler,
    OutboxStore,
    RelayLock,
    RetryPolicy,
)
from ordertrail.services.milestone_log import MilestoneLogHandler
from ordertrail.services.monitoring import Monitoring
from ordertrail.services.overrides import (
    DEFER_KIND,
    RECOGNIZE_NOW_KIND,
    check_defer_payload,
    check_recognize_now_payload,
    check_treatment_payload,
    defer_executor,
    recognize_now_executor,
    treatment_executor,
)
from ordertrail.services.ports import (
    Clock,
    EventLog,
    ImportLog,
    KeyStore,
    OrderQueries,
    UnitOfWork,
)
from ordertrail.services.recognition_rerun import post_amendment_executor
from ordertrail.services.relay import RelayConfig
from ordertrail.services.replay import ReplayResult
from ordertrail.services.report_ports import ReportQueries
from ordertrail.services.results import IngestResult
from ordertrail.services.revenue import RevenueHandler
from ordertrail.services.rules import RULE_CHANGE, check_rule_change_payload, rule_change_executor
from ordertrail.services.sources import SourceRun, SourceStore
from ordertrail.services.tracking_handler import TrackingHandler

DEFAULT_DATABASE = Path("ordertrail.db")
# Events per transaction when the scheduler imports a batch source's files (as `import` does).
SYNC_IMPORT_BATCH_SIZE = 500
REQUEST_BODY_MAX_BYTES = 8 * 1024 * 1024


def _flag(value: str) -> bool:
    flags = {"1": True, "true": True, "yes": True, "on": True}
    flags |= {"0": False, "false": False, "no": False, "off": False}
    if value.strip().lower() not in flags:
        raise ValueError(f"{value!r} is not a yes/no value (use true or false)")
    return flags[value.strip().lower()]


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


# Settings field <- environment variable, parsed by. The defaults live on the fields.
ENVIRONMENT: tuple[tuple[str, str, Callable[[str], Any]], ...] = (
    ("request_body_max_bytes", "ORDERTRAIL_REQUEST_BODY_MAX_BYTES", int),
    ("broker_url", "ORDERTRAIL_BROKER_URL", str),
    ("relay_batch_size", "ORDERTRAIL_RELAY_BATCH_SIZE", int),
    ("relay_linger_s", "ORDERTRAIL_RELAY_LINGER_S", float),
    ("relay_poll_s", "ORDERTRAIL_RELAY_POLL_S", float),
    ("worker_batch_size", "ORDERTRAIL_WORKER_BATCH_SIZE", int),
    ("worker_poll_s", "ORDERTRAIL_WORKER_POLL_S", float),
    ("worker_lease_s", "ORDERTRAIL_WORKER_LEASE_S", float),
    ("retry_attempts_max", "ORDERTRAIL_RETRY_ATTEMPTS_MAX", int),
    ("retry_backoff_initial_s", "ORDERTRAIL_RETRY_BACKOFF_INITIAL_S", float),
    ("retry_backoff_max_s", "ORDERTRAIL_RETRY_BACKOFF_MAX_S", float),
    ("embedded_workers", "ORDERTRAIL_EMBEDDED_WORKERS", _flag),
    ("handlers", "ORDERTRAIL_HANDLERS", _names),
    # The OpenTelemetry variable, so operators switch tracing on the way they do elsewhere.
    ("traces_exporter", "OTEL_TRACES_EXPORTER", str.lower),
    ("carrier_polling", "ORDERTRAIL_CARRIER_POLLING", str),
    ("sync_drop_root", "ORDERTRAIL_SYNC_DROP_ROOT", str),
    ("sync_poll_s", "ORDERTRAIL_SYNC_POLL_S", float),
    ("audit_signing_key", "ORDERTRAIL_AUDIT_SIGNING_KEY", str),
    ("audit_checkpoint_s", "ORDERTRAIL_AUDIT_CHECKPOINT_S", float),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the embedded defaults a newcomer needs."""

    database_url: str
    request_body_max_bytes: int = REQUEST_BODY_MAX_BYTES
    broker_url: str = DEFAULT_BROKER_URL
    relay_batch_size: int = 500
    relay_linger_s: float = 0.0
    # How long an idle relay or worker waits before looking again.
    relay_poll_s: float = 0.5
    worker_poll_s: float = 0.5
    worker_batch_size: int = 50
    # A worker that holds a delivery longer than this is presumed dead: the message is offered
    # again. Keep it above the slowest handler's time for a whole batch.
    worker_lease_s: float = 60.0
    retry_attempts_max: int = 8
    retry_backoff_initial_s: float = 1.0
    retry_backoff_max_s: float = 600.0
    # `serve` runs the relay and both lanes' workers beside the API.
    embedded_workers: bool = True
    # Extra consumers, as "module:factory"; each factory is called with clock= and returns one.
    handlers: tuple[str, ...] = ()
    # Where spans go: "none" (tracing off), "console" or "otlp" (see docs/operators/pipeline.md).
    traces_exporter: str = "none"
    # Alert sinks, evaluation cadence and the anomaly detector (ORDERTRAIL_ALERT_*).
    alerting: AlertingSettings = field(default_factory=AlertingSettings)
    # The carrier polling file: credentials, quotas, cadence (docs/operators/carriers-polling.md).
    carrier_polling: str | None = None
    # Batch sources' drop directories live under ROOT/TENANT/SOURCE (docs/operators/sources.md);
    # the scheduler looks for due batch sources this often.
    sync_drop_root: str = "drop"
    sync_poll_s: float = 30.0
    # Audit checkpoints (docs/security/audit.md): the Ed25519 PEM private key that signs them,
    # if any, and how often `ordertrail serve` takes one per tenant whose chain moved.
    audit_signing_key: str | None = None
    audit_checkpoint_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.traces_exporter not in EXPORTERS:
            raise ValueError(f"traces_exporter must be one of {', '.join(EXPORTERS)}")
        for name in ("relay_poll_s", "worker_poll_s", "sync_poll_s"):
            if not 0 < getattr(self, name) <= 60:
                raise ValueError(f"{name} must be between 0 and 60 seconds")
        if not self.audit_checkpoint_s > 0:
            raise ValueError("audit_checkpoint_s must be positive")
        if not 1 <= self.worker_batch_size <= CONSUMER_BATCH_SIZE_MAX:
            raise ValueError(f"worker_batch_size must be between 1 and {CONSUMER_BATCH_SIZE_MAX}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "database_url": env.get("ORDERTRAIL_DATABASE_URL")
            or sqlite_url(DEFAULT_DATABASE.resolve()),
        }
        for name, variable, parse in ENVIRONMENT:
            if env.get(variable):
                try:
                    values[name] = parse(env[variable])
                except ValueError as error:
                    raise ValueError(f"{variable}: {error}") from None
        values["alerting"] = AlertingSettings.from_env(env)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def relay(self) -> RelayConfig:
        return RelayConfig(batch_size=self.relay_batch_size, linger_s=self.relay_linger_s)

    @property
    def retry(self) -> RetryPolicy:
        return RetryPolicy(
            attempts_max=self.retry_attempts_max,
            backoff_initial_s=self.retry_backoff_initial_s,
            backoff_max_s=self.retry_backoff_max_s,
        )


def database_url_for(value: str) -> str:
    """Accept a URL or a plain file path (an SQLite database) from the command line."""
    return value if "://" in value else sqlite_url(Path(value).resolve())


@dataclass(slots=True)
class Pipeline:
    """The event pipeline's wired parts: what the relay, the workers and the DLQ commands use."""

    broker: Broker
    outbox: OutboxStore
    relay_lock: Callable[[], RelayLock]
    registry: HandlerRegistry
    uow_factory: Callable[[], ConsumerUnitOfWork]
    dead_letters: DeadLetterStore
    relay: RelayConfig
    retry: RetryPolicy


def default_approval_kinds() -> ExecutorRegistry:
    """Every override kind a request may name, with the role its approver must hold."""
    kinds = ExecutorRegistry()
    kinds.register_executor(
        "modification.treatment",
        Role.CONTROLLER,
        treatment_executor,
        check=check_treatment_payload,
    )
    kinds.register_executor(
        RECOGNIZE_NOW_KIND,
        Role.CONTROLLER,
        recognize_now_executor,
        check=check_recognize_now_payload,
    )
    kinds.register_executor(DEFER_KIND, Role.CONTROLLER, defer_executor, check=check_defer_payload)
    kinds.register_executor(
        HOLD_RELEASE, Role.CONTROLLER, release_hold_executor, check=check_release_payload
    )
    kinds.register_executor(
        RULE_CHANGE, Role.CONTROLLER, rule_change_executor, check=check_rule_change_payload
    )
    kinds.register_executor(
        AMENDMENT_POST, Role.CONTROLLER, post_amendment_executor, check=check_amendment_payload
    )
    kinds.register_executor(
        DISPUTE_REINSTATE, Role.CONTROLLER, reinstate_executor, check=check_reinstate_payload
    )
    return kinds


@dataclass(slots=True)
class Ordertrail:
    """The wired application that entry points use."""

    settings: Settings
    engine: Engine
    uow_factory: Callable[[], UnitOfWork]
    queries: OrderQueries
    keys: KeyStore
    event_log: EventLog
    import_log: ImportLog
    clock: Clock
    new_id: Callable[[], str]
    pipeline: Pipeline
    monitoring: Monitoring
    # None when tracing is off: then no span is started anywhere.
    tracing: Tracing | None = None
    # This app's Prometheus series, on a registry of its own (never the global one).
    metrics: Metrics = field(default_factory=Metrics)
    # Carrier webhooks and scans (None only for an Ordertrail wired by hand without tracking).
    tracking: CarrierTracking | None = None
    # The dual-approval kinds: each one's approver role and executor (docs/revenue/approvals.md).
    approval_kinds: ExecutorRegistry = field(default_factory=default_approval_kinds)

    @property
    def approvals(self) -> Approvals:
        """Dual approval's use cases over this app's units of work and kinds."""
        return Approvals(
            uow_factory=self.uow_factory, registry=self.approval_kinds, new_id=self.new_id
        )

    @property
    def controls(self) -> Controls:
        """Holds, decisions and recognition rules over this app's units of work."""
        return Controls(
            uow_factory=self.uow_factory, registry=self.approval_kinds, new_id=self.new_id
        )

    @property
    def disputes(self) -> Disputes:
        """Disputes, their evidence and resolution over this app's units of work."""
        return Disputes(
            uow_factory=self.uow_factory, registry=self.approval_kinds, new_id=self.new_id
        )

    @property
    def reports(self) -> ReportQueries:
        """The revenue reports' read-only queries (stateless over the engine, built on use)."""
        return SqlReportQueries(self.engine)

    @property
    def audit(self) -> SqlAuditStore:
        """The audit chains' committed rows (stateless over the engine, built on use)."""
        return SqlAuditStore(self.engine)

    @property
    def audit_signer(self) -> CheckpointSigner | None:
        """The checkpoint signer of ORDERTRAIL_AUDIT_SIGNING_KEY, or None when none is set."""
        path = self.settings.audit_signing_key
        return None if path is None else CheckpointSigner.from_pem_file(path)

    @property
    def sources(self) -> SourceStore:
        """Each source's synchronisation mode (stateless over the engine, built on use)."""
        return SqlSourceStore(self.engine)

    @property
    def drop_box(self) -> DropDirectories:
        return DropDirectories(Path(self.settings.sync_drop_root), clock=self.clock)

    def run_due_sources(self) -> list[SourceRun]:
        """Import the drop directories of the batch sources that are due (services/sources.py)."""
        return sources_service.run_due_sources(
            store=self.sources,
            drop_box=self.drop_box,
            uow_factory=self.uow_factory,
            import_log=self.import_log,
            clock=self.clock,
            new_id=self.new_id,
            batch_size=SYNC_IMPORT_BATCH_SIZE,
        )

    def ingest(
        self, *, raw_events: Sequence[Any], principal: Principal, traceparent: str | None = None
    ) -> list[IngestResult]:
        return ingest_service.ingest(
            uow_factory=self.uow_factory,
            raw_events=raw_events,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            now=self.clock.now(),
            new_id=self.new_id,
            traceparent=traceparent,
        )

    def quarantine_unparseable(
        self, *, body: str, principal: Principal, code: str, message: str
    ) -> str:
        return quarantine_service.quarantine_unparseable(
            uow_factory=self.uow_factory,
            body=body,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            now=self.clock.now(),
            new_id=self.new_id,
            code=code,
            message=message,
        )

    def replay_quarantined(
        self,
        *,
        principal: Principal,
        quarantine_ids: list[str] | None = None,
        order_id: str | None = None,
    ) -> list[ReplayResult]:
        return replay_service.replay_quarantined(
            uow_factory=self.uow_factory,
            queries=self.queries,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            now=self.clock.now(),
            new_id=self.new_id,
            quarantine_ids=quarantine_ids,
            order_id=order_id,
        )

    def dead_letter(self, *, tenant_id: str, dead_letter_id: int) -> DeadLetter:
        return dead_letter_service.show_dead_letter(
            store=self.pipeline.dead_letters, tenant_id=tenant_id, dead_letter_id=dead_letter_id
        )

    async def replay_dead_letter(
        self, *, tenant_id: str, dead_letter_id: int, actor: str
    ) -> DeadLetter:
        return await dead_letter_service.replay_dead_letter(
            store=self.pipeline.dead_letters,
            publisher=self.pipeline.broker,
            tenant_id=tenant_id,
            dead_letter_id=dead_letter_id,
            actor=actor,
            now=self.clock.now(),
        )

    def purge_dead_letter(self, *, tenant_id: str, dead_letter_id: int, actor: str) -> DeadLetter:
        return dead_letter_service.purge_dead_letter(
            store=self.pipeline.dead_letters,
            tenant_id=tenant_id,
            dead_letter_id=dead_letter_id,
            actor=actor,
            now=self.clock.now(),
        )

    def database_ok(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # health checks report, they do not raise
            return False
        return True

    def close(self) -> None:
        if self.tracing is not None:
            self.tracing.flush()
        self.engine.dispose()


def _plugin(path: str, *, clock: Clock) -> Handler:
    """Build a consumer from "module:factory" (ORDERTRAIL_HANDLERS)."""
    module_name, separator, attribute = path.partition(":")
    if not separator:
        raise ValueError(f"ORDERTRAIL_HANDLERS entry {path!r} must read module:factory")
    factory = getattr(importlib.import_module(module_name), attribute)
    handler: Handler = factory(clock=clock)
    return handler


def _pipeline(
    *,
    settings: Settings,
    engine: Engine,
    clock: Clock,
    handlers: Sequence[Handler],
    tracing: Tracing | None,
    metrics: Metrics,
    new_id: Callable[[], str],
) -> Pipeline:
    broker = make_broker(
        BrokerContext(
            url=settings.broker_url, engine=engine, clock=clock, lease_s=settings.worker_lease_s
        )
    )
    if tracing is not None:
        broker = TracingBroker(broker, tracing=tracing)
    registry = HandlerRegistry(
        [
            MilestoneLogHandler(clock=clock),
            TrackingHandler(clock=clock, new_id=new_id),
            RevenueHandler(clock=clock),
            *handlers,
        ],
        tracing=tracing,
        observer=metrics,
    )
    for path in settings.handlers:
        registry.register(_plugin(path, clock=clock))
    return Pipeline(
        broker=broker,
        outbox=SqlOutboxStore(engine),
        relay_lock=lambda: relay_lock_for(engine),
        registry=registry,
        # Consumers get the shipments repository too (the tracking consumer registers shipments).
        uow_factory=lambda: SqlTrackingUnitOfWork(engine),
        dead_letters=SqlDeadLetterStore(engine),
        relay=settings.relay,
        retry=settings.retry,
    )


def bootstrap(
    *,
    settings: Settings,
    engine: Engine | None = None,
    clock: Clock | None = None,
    new_id: Callable[[], str] | None = None,
    migrate: bool = True,
    handlers: Sequence[Handler] = (),
    tracer_provider: TracerProvider | None = None,
) -> Ordertrail:
    """Wire the application. Applies migrations first unless `migrate` is False.

    `handlers` are consumers added to the registry beside the built-in milestone log (and any
    named in the settings); each lane's workers run the ones that consume that lane.
    Tracing is on when `tracer_provider` is given or the settings name a traces exporter; the
    provider is used as given and never installed as the global one.
    """
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    tracer_provider = tracer_provider or make_tracer_provider(exporter=settings.traces_exporter)
    tracing = (
        None
        if tracer_provider is None
        else Tracing(
            provider=tracer_provider, messaging_system=messaging_system_for(settings.broker_url)
        )
    )
    metrics = app_metrics(engine=engine, clock=clock, broker_url=settings.broker_url)
    new_id = new_id or new_uuid
    return Ordertrail(
        settings=settings,
        engine=engine,
        uow_factory=lambda: SqlUnitOfWork(engine),
        queries=SqlOrderQueries(engine),
        keys=SqlKeyStore(engine),
        event_log=SqlEventLog(engine),
        import_log=SqlImportLog(engine),
        clock=clock,
        new_id=new_id,
        pipeline=_pipeline(
            settings=settings,
            engine=engine,
            clock=clock,
            handlers=handlers,
            tracing=tracing,
            metrics=metrics,
            new_id=new_id,
        ),
        monitoring=make_monitoring(
            engine=engine, settings=settings.alerting, clock=clock, metrics=metrics
        ),
        tracing=tracing,
        metrics=metrics,
        tracking=CarrierTracking(
            uow_factory=lambda: SqlTrackingUnitOfWork(engine),
            secrets=SqlCarrierSecretStore(engine),
            tables=load_tables(),
            clock=clock,
            new_id=new_id,
            metrics=metrics,
        ),
    )
