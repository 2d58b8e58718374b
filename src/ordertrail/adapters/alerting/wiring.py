"""Monitoring wired on SQL with the configured sinks: what bootstrap calls."""

from __future__ import annotations

from sqlalchemy import Engine

from ordertrail.adapters.alerting import make_sinks
from ordertrail.adapters.alerting.settings import AlertingSettings
from ordertrail.adapters.db.alert_store import SqlAlertStore
from ordertrail.adapters.db.completion_queries import SqlCompletionQueries
from ordertrail.adapters.db.monitoring_config_store import SqlMonitoringConfig
from ordertrail.adapters.db.root_cause_queries import SqlRootCauseQueries
from ordertrail.adapters.db.stagnation_queries import SqlStagnationQueries
from ordertrail.adapters.metrics import Metrics
from ordertrail.services.monitoring import Monitoring
from ordertrail.services.ports import Clock


def make_monitoring(
    *, engine: Engine, settings: AlertingSettings, clock: Clock, metrics: Metrics | None
) -> Monitoring:
    def on_raised(kind: str, severity: str, count: int) -> None:
        if metrics is not None:
            metrics.alerts_raised.labels(kind=kind, severity=severity).inc(count)

    return Monitoring(
        store=SqlAlertStore(engine),
        config=SqlMonitoringConfig(engine),
        stagnation=SqlStagnationQueries(engine),
        completion=SqlCompletionQueries(engine),
        root_causes=SqlRootCauseQueries(engine),
        sinks=make_sinks(settings),
        clock=clock,
        anomaly=settings.anomaly,
        anomaly_settle_minutes=settings.anomaly_settle_minutes,
        on_raised=on_raised,
    )
