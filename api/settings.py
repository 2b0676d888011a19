"""Typed settings, parsed once from the environment and an optional `.env` file.

Every field is named after its environment variable, so a validation error names the variable
a person has to fix. No variable is required: the defaults run everything embedded.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

import msgspec
from dotenv import dotenv_values

from api.synergies.scoring import parse_weights

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
PoolSize = Annotated[int, msgspec.Meta(ge=1, le=200)]


_ORIGIN = re.compile(r"https?://[^/\s:,]+(:[0-9]{1,5})?")


class SettingsError(Exception):
    """The environment holds a value the service cannot run with."""


class Settings(msgspec.Struct, kw_only=True, frozen=True, rename="upper"):
    """Runtime configuration. See the README for what each variable does."""

    database_url: str | None = None
    database_pool_min_size: PoolSize = 2
    database_pool_max_size: PoolSize = 10
    symbiose_data_dir: str = "var"
    symbiose_host: str = "127.0.0.1"
    symbiose_port: Port = 8000
    symbiose_public_url: str | None = None
    log_level: LogLevel = "INFO"
    oidc_issuer: str | None = None
    oidc_audience: str = "symbiose"
    oidc_leeway_seconds: Annotated[int, msgspec.Meta(ge=0, le=300)] = 30
    log_format: Literal["text", "json"] = "text"
    """`json`: one JSON object a line, with the request id, for a log collector."""
    rate_limit_anonymous_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 120
    rate_limit_authenticated_per_minute: Annotated[int, msgspec.Meta(ge=1)] = 600
    """Requests a minute per user with a valid token (those without one count as anonymous)."""
    request_timeout_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=600)] = 30
    """Seconds a request may take before its answer starts; past it, 503."""
    trusted_proxies: str = ""
    """Comma-separated addresses or networks of the reverse proxies whose `X-Forwarded-For` names
    the client; from any other peer the header is ignored."""
    search_backend: Literal["postgres", "meilisearch"] | None = None
    meilisearch_url: str | None = None
    meilisearch_api_key: str | None = None
    meilisearch_index: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,100}$")] = "listings"
    search_cache_entries: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 500
    """Search results the PostgreSQL backend keeps across the changes that cannot touch them
    (least recently used first out); 0 turns the cache off. An entry holds one page of hits."""
    search_index: bool = True
    """Whether the PostgreSQL backend answers from the in-memory index each worker keeps current
    from the change log (search/postgres/index.py); false computes every search in SQL."""
    stripe_api_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    """Where the `stripe` library sends its calls (default: Stripe's own https://api.stripe.com)."""
    transfer_payment_hours: Annotated[int, msgspec.Meta(ge=1, le=8760)] = 72
    """Hours a taker has to pay an accepted priced transfer; past them the sweep cancels it."""
    cors_allow_origins: str = ""
    """Comma-separated origins (`https://carte.example.org`) of browser frontends allowed to call the
    API; empty sends no CORS headers; `*` allows any origin, without credentials."""
    sweep_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=86_400)] = 60
    """Seconds between the API's in-process sweeps (listing expiry, reservations' clock, unpaid
    transfers' deadline); 0 turns them off, e.g. when `symbiose sweep` runs from cron instead."""
    event_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 90
    """Days the event feed keeps an event (and its webhook deliveries); the sweep prunes older ones."""
    webhook_allow_insecure: bool = False
    """Accept http webhook URLs and private, loopback and link-local addresses (development, tests)."""
    webhook_worker_in_process: bool = True
    """Deliver webhooks from the API process (with the sweeps); false when `symbiose deliver` runs."""

    synergy_weights: str = ""
    """Weights of the synergy score's components, `name=weight` comma-separated (README, Synergies);
    the ones not named keep their defaults."""
    synergy_half_distance_km: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 33
    """Distance at which a synergy's distance component is 0.5."""
    synergy_max_distance_km: Annotated[float, msgspec.Meta(gt=0, le=2000)] = 100
    """Sites farther apart than this are never paired by detection."""
    synergy_pooling_radius_km: Annotated[float, msgspec.Meta(ge=0, le=100)] = 5
    """Members outside any zone pool a need with the members within this distance; 0: by zone only."""
    synergy_staff_category: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")] = (
        "services.staff"
    )
    """The category of shared staff: its needs pair by complementary months (opposite seasons)."""

    def __post_init__(self) -> None:
        if self.database_pool_min_size > self.database_pool_max_size:
            raise msgspec.ValidationError("DATABASE_POOL_MIN_SIZE must not exceed DATABASE_POOL_MAX_SIZE")
        if self.database_url is not None and not self.database_url.startswith(
            ("postgresql://", "postgres://")
        ):
            raise msgspec.ValidationError("DATABASE_URL must start with postgresql:// or postgres://")
        if self.meilisearch_url is not None and not self.meilisearch_url.startswith(("https://", "http://")):
            raise msgspec.ValidationError("MEILISEARCH_URL must be an http(s) URL")
        if self.search_backend == "meilisearch" and self.meilisearch_url is None:
            raise msgspec.ValidationError("SEARCH_BACKEND=meilisearch needs MEILISEARCH_URL")
        if self.stripe_api_base is not None and not self.stripe_api_base.startswith(("https://", "http://")):
            raise msgspec.ValidationError("STRIPE_API_BASE must be an http(s) URL")
        if self.oidc_issuer is not None and not self.oidc_issuer.startswith(("https://", "http://")):
            raise msgspec.ValidationError("OIDC_ISSUER must be an http(s) URL")
        for entry in self.trusted_proxy_list:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise msgspec.ValidationError(
                    f"TRUSTED_PROXIES: {entry!r} is not an address or network"
                ) from exc
        try:
            parse_weights(self.synergy_weights)
        except ValueError as exc:
            raise msgspec.ValidationError(str(exc)) from exc
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise msgspec.ValidationError(
                    f"CORS_ALLOW_ORIGINS: {origin!r} is not an origin like https://carte.example.org "
                    "(scheme and host, optional port, no path or trailing slash)"
                )

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [entry.strip() for entry in self.trusted_proxies.split(",") if entry.strip()]

    @property
    def cors_origins(self) -> tuple[str, ...]:
        return tuple(o.strip() for o in self.cors_allow_origins.split(",") if o.strip())

    @property
    def data_dir(self) -> Path:
        return Path(self.symbiose_data_dir)

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def public_url(self) -> str:
        url = self.symbiose_public_url or f"http://{self.symbiose_host}:{self.symbiose_port}"
        return url.rstrip("/")

    @property
    def payments_configured(self) -> bool:
        """Whether priced services can be booked: both Stripe settings are set."""
        return self.stripe_api_key is not None and self.stripe_webhook_secret is not None

    @property
    def search(self) -> Literal["postgres", "meilisearch"]:
        """The search backend: Meilisearch when it is configured, unless `SEARCH_BACKEND` says."""
        if self.search_backend is not None:
            return self.search_backend
        return "meilisearch" if self.meilisearch_url is not None else "postgres"

    @property
    def key_dir(self) -> Path:
        return self.data_dir / "keys"


_FIELDS = frozenset(Settings.__struct_encode_fields__)


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")) -> Settings:
    """Read settings from `environ` (default: the process environment) over the `.env` file.

    Empty values count as unset, so `DATABASE_URL=` falls back to the embedded server.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    relevant = {k: v for k, v in values.items() if k in _FIELDS and v != ""}
    try:
        return msgspec.convert(relevant, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid configuration: {_name_variable(str(exc))}") from exc


def _name_variable(message: str) -> str:
    """Turn msgspec's `... - at `$.PORT`` into `PORT: ...`."""
    head, sep, path = message.rpartition(" - at `$.")
    if sep:
        return f"{path.rstrip('`')}: {head}"
    return message
