"""The polling configuration file: credentials, their quotas, the cadence, and the clients.

One TOML file (path in $ORDERTRAIL_CARRIER_POLLING) says which provider credentials poll which
tenants' parcels, what each may send (a documented plan, or the windows the carrier granted),
and how often each tier is polled. Secrets are named by environment variable, so the file can be
committed; a literal secret is accepted for the simulator, which takes any.

    [polling]
    embedded = true          # poll inside `ordertrail serve`
    [polling.cadence]        # seconds between polls, per tier
    urgent = 1800
    moving = 14400
    waiting = 43200
    [[polling.credentials]]
    provider = "dhl"
    name = "main"
    plan = "starter"
    api_key = { env = "DHL_API_KEY" }
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ordertrail.adapters.carriers import poll_dhl, poll_ups, poll_usps
from ordertrail.adapters.carriers.rate_limits import DOCUMENTED_LIMITS, LimiterKey, documented_quota
from ordertrail.services.poll_policy import Cadence
from ordertrail.services.polling_budget import CredentialQuota, QuotaWindow
from ordertrail.services.polling_ports import TrackingClient
from ordertrail.services.ports import Clock

SECRETS: Mapping[str, tuple[str, ...]] = {
    "ups": ("client_id", "client_secret"),
    "dhl": ("api_key",),
    "usps": ("client_id", "client_secret"),
}
PRODUCTION_URLS = {
    "ups": poll_ups.PRODUCTION_URL,
    "dhl": poll_dhl.PRODUCTION_URL,
    "usps": poll_usps.PRODUCTION_URL,
}
ANY_TENANT = "*"


class PollingConfigInvalid(ValueError):
    """The polling file cannot be used as written; the message says where and why."""


@dataclass(frozen=True, slots=True)
class CredentialConfig:
    provider: str
    name: str
    base_url: str
    secrets: Mapping[str, str] = field(repr=False)
    windows: tuple[QuotaWindow, ...]
    bursts: Mapping[str, int]
    tenants: tuple[str, ...] = (ANY_TENANT,)
    carriers: tuple[str, ...] = ()

    def serves(self, *, tenant_id: str, carrier: str) -> bool:
        tenant_ok = ANY_TENANT in self.tenants or tenant_id in self.tenants
        return tenant_ok and carrier in self.carriers

    @property
    def quota(self) -> CredentialQuota:
        return CredentialQuota(provider=self.provider, credential=self.name, windows=self.windows)


@dataclass(frozen=True, slots=True)
class PollingConfig:
    credentials: tuple[CredentialConfig, ...] = ()
    cadence: Cadence = field(default_factory=Cadence)
    batch_size: int = 100
    idle_s: float = 5.0  # pause between rounds when nothing was due
    embedded: bool = False

    def route(self, tenant_id: str, carrier: str) -> tuple[str, str] | None:
        """The (provider, credential) that polls this tenant's parcels of this carrier."""
        for credential in self.credentials:
            if credential.serves(tenant_id=tenant_id, carrier=carrier):
                return credential.provider, credential.name
        return None

    def carriers(self) -> tuple[str, ...]:
        return tuple(sorted({c for credential in self.credentials for c in credential.carriers}))

    def quotas(self) -> dict[LimiterKey, CredentialQuota]:
        return {LimiterKey(c.provider, c.name): c.quota for c in self.credentials}

    def bursts(self) -> dict[LimiterKey, Mapping[str, int]]:
        return {LimiterKey(c.provider, c.name): c.bursts for c in self.credentials}


def _secret(value: object, *, where: str, environ: Mapping[str, str]) -> str:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, dict) and isinstance(value.get("env"), str):
        found = environ.get(value["env"], "")
        if not found:
            raise PollingConfigInvalid(f"{where}: environment variable {value['env']} is not set")
        return found
    raise PollingConfigInvalid(f'{where}: give a string or {{ env = "VARIABLE" }}')


def _windows(
    entry: Mapping[str, Any], *, where: str
) -> tuple[tuple[QuotaWindow, ...], dict[str, int]]:
    provider = entry["provider"]
    # Without a plan, the provider's first documented one (DHL: starter, the others: default).
    plan = str(entry.get("plan") or next(iter(DOCUMENTED_LIMITS[provider])))
    limits = entry.get("limits")
    if limits is None:
        try:
            windows = documented_quota(provider=provider, plan=plan, credential="").windows
        except ValueError as error:
            raise PollingConfigInvalid(f"{where}: {error}") from None
        return windows, {}
    try:
        windows = tuple(
            QuotaWindow(str(w["label"]), int(w["window_s"]), int(w["requests"])) for w in limits
        )
        bursts = {str(w["label"]): int(w["burst"]) for w in limits if "burst" in w}
    except (KeyError, TypeError, ValueError) as error:
        raise PollingConfigInvalid(
            f"{where}: each limit needs label, window_s and requests ({error})"
        ) from None
    if not windows:
        raise PollingConfigInvalid(f"{where}: limits is empty")
    return windows, bursts


def _credential(
    entry: Mapping[str, Any], *, index: int, environ: Mapping[str, str]
) -> CredentialConfig:
    where = f"polling.credentials[{index}]"
    provider = str(entry.get("provider", ""))
    if provider not in SECRETS:
        raise PollingConfigInvalid(f"{where}: provider must be one of {', '.join(SECRETS)}")
    name = str(entry.get("name", "default"))
    secrets = {
        key: _secret(entry.get(key), where=f"{where}.{key}", environ=environ)
        for key in SECRETS[provider]
    }
    windows, bursts = _windows(entry, where=where)
    return CredentialConfig(
        provider=provider,
        name=name,
        base_url=str(entry.get("base_url", PRODUCTION_URLS[provider])),
        secrets=secrets,
        windows=windows,
        bursts=bursts,
        tenants=tuple(entry.get("tenants", [ANY_TENANT])),
        carriers=tuple(entry.get("carriers", [provider])),
    )


def parse_polling_config(
    document: Mapping[str, Any], *, environ: Mapping[str, str]
) -> PollingConfig:
    polling = document.get("polling", {})
    credentials = tuple(
        _credential(entry, index=index, environ=environ)
        for index, entry in enumerate(polling.get("credentials", []))
    )
    names = [(c.provider, c.name) for c in credentials]
    if len(names) != len(set(names)):
        raise PollingConfigInvalid("polling.credentials: a provider's credential names must differ")
    try:
        cadence = Cadence(**({"intervals_s": polling["cadence"]} if "cadence" in polling else {}))
    except ValueError as error:
        raise PollingConfigInvalid(f"polling.cadence: {error}") from None
    return PollingConfig(
        credentials=credentials,
        cadence=cadence,
        batch_size=int(polling.get("batch_size", 100)),
        idle_s=float(polling.get("idle_s", 5.0)),
        embedded=bool(polling.get("embedded", False)),
    )


def load_polling_config(path: Path, *, environ: Mapping[str, str]) -> PollingConfig:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise PollingConfigInvalid(f"{path}: {error}") from None
    return parse_polling_config(document, environ=environ)


def make_clients(
    config: PollingConfig, *, http: httpx.AsyncClient, clock: Clock
) -> dict[tuple[str, str], TrackingClient]:
    """One tracking client per configured credential, keyed by (provider, credential)."""
    clients: dict[tuple[str, str], TrackingClient] = {}
    for c in config.credentials:
        s = c.secrets
        client: TrackingClient
        if c.provider == "ups":
            client = poll_ups.UpsTrackingClient(
                http=http, client_id=s["client_id"], client_secret=s["client_secret"],
                clock=clock, base_url=c.base_url,
            )  # fmt: skip
        elif c.provider == "dhl":
            client = poll_dhl.DhlTrackingClient(
                http=http, api_key=s["api_key"], clock=clock, base_url=c.base_url
            )
        else:
            client = poll_usps.UspsTrackingClient(
                http=http, client_id=s["client_id"], client_secret=s["client_secret"],
                clock=clock, base_url=c.base_url,
            )  # fmt: skip
        clients[(c.provider, c.name)] = client
    return clients
