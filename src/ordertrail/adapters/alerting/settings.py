"""Alerting settings: sinks, the evaluation cadence and the anomaly detector, from the environment.

Read once by `Settings.from_env` in bootstrap; the secrets (webhook key, SMTP password) come only
from the environment, never from the database or the command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ordertrail.domain.monitoring.anomaly import AnomalySettings

FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False}


@dataclass(frozen=True, slots=True)
class AlertingSettings:
    evaluate_interval_s: float = 60.0
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_timeout_s: float = 5.0
    webhook_attempts_max: int = 4
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "ordertrail@localhost"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_s: float = 10.0
    # Minutes after an hour ends before it is assessed, so late delivery scans are counted.
    anomaly_settle_minutes: int = 60
    anomaly: AnomalySettings = field(default_factory=AnomalySettings)

    def __post_init__(self) -> None:
        if self.webhook_url and len(self.webhook_secret) < 16:
            raise ValueError(
                "ORDERTRAIL_ALERT_WEBHOOK_SECRET must be set (16 characters or more) "
                "when ORDERTRAIL_ALERT_WEBHOOK_URL is"
            )
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("ORDERTRAIL_ALERT_WEBHOOK_URL must be an http(s) URL")
        if not 1 <= self.webhook_attempts_max <= 10:
            raise ValueError("ORDERTRAIL_ALERT_WEBHOOK_ATTEMPTS_MAX must be between 1 and 10")
        if not 1 <= self.evaluate_interval_s <= 3600:
            raise ValueError("ORDERTRAIL_ALERT_EVALUATE_INTERVAL_S must be between 1 and 3600")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertingSettings:
        def get(name: str) -> str | None:
            return env.get(f"ORDERTRAIL_ALERT_{name}") or None

        values: dict[str, object] = {}
        parsers: tuple[tuple[str, str, type | object], ...] = (
            ("evaluate_interval_s", "EVALUATE_INTERVAL_S", float),
            ("webhook_url", "WEBHOOK_URL", str),
            ("webhook_secret", "WEBHOOK_SECRET", str),
            ("webhook_timeout_s", "WEBHOOK_TIMEOUT_S", float),
            ("webhook_attempts_max", "WEBHOOK_ATTEMPTS_MAX", int),
            ("smtp_host", "SMTP_HOST", str),
            ("smtp_port", "SMTP_PORT", int),
            ("smtp_from", "SMTP_FROM", str),
            ("smtp_username", "SMTP_USERNAME", str),
            ("smtp_password", "SMTP_PASSWORD", str),
            ("anomaly_settle_minutes", "ANOMALY_SETTLE_MINUTES", int),
        )
        for attribute, name, parse in parsers:
            raw = get(name)
            if raw is not None:
                try:
                    values[attribute] = parse(raw)  # type: ignore[operator]
                except ValueError:
                    raise ValueError(f"ORDERTRAIL_ALERT_{name}: {raw!r} is not valid") from None
        starttls = get("SMTP_STARTTLS")
        if starttls is not None:
            if starttls.lower() not in FLAGS:
                raise ValueError("ORDERTRAIL_ALERT_SMTP_STARTTLS must be true or false")
            values["smtp_starttls"] = FLAGS[starttls.lower()]
        anomaly: dict[str, object] = {}
        for attribute, name, parse in (
            ("min_volume", "ANOMALY_MIN_VOLUME", int),
            ("baseline_weeks", "ANOMALY_BASELINE_WEEKS", int),
            ("z_critical", "ANOMALY_Z_CRITICAL", float),
            ("ewma_lambda", "ANOMALY_EWMA_LAMBDA", float),
            ("ewma_width", "ANOMALY_EWMA_WIDTH", float),
        ):
            raw = get(name)
            if raw is not None:
                anomaly[attribute] = parse(raw)
        values["anomaly"] = AnomalySettings(**anomaly)  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]
