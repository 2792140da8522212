"""The one settings object: environment variables, a `.env` file, or OpenFaaS secret files."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ordersaga.adapters import ports

OPENFAAS_SECRETS = Path("/var/openfaas/secrets")


class Settings(BaseSettings):
    """Configuration shared by every function and service; names match the environment."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        secrets_dir=str(OPENFAAS_SECRETS) if OPENFAAS_SECRETS.is_dir() else None,
    )

    # Full URLs with credentials; on OpenFaaS they come from the secrets `mongo-url`, `redis-url`.
    mongo_url: str = Field(
        default="mongodb://127.0.0.1:27017/?directConnection=true",
        validation_alias=AliasChoices("mongo_url", "mongo-url"),
    )
    mongo_db: str = "orders"
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("redis_url", "redis-url"),
    )
    stream_name: str = "orders.events"
    dead_letter_stream: str = "orders.dead"
    connector_group: str = "saga-connector"

    # Where each server listens (`python -m gateway`, `notify`, `webui`) and where the others
    # reach it; a URL left empty is loopback on that port.
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=ports.GATEWAY_PORT, ge=1, le=65535)
    gateway_url: str = ""
    # The gateway runs stack.yml's schedules itself unless GATEWAY_CRON=off (an external
    # cron-connector runs them then).
    gateway_cron: bool = True
    # The long-lived WebSocket/SSE service; the web UI server proxies `/ws/*` and `/sse/*` to it.
    notify_host: str = "127.0.0.1"
    notify_port: int = Field(default=ports.NOTIFY_PORT, ge=1, le=65535)
    notify_url: str = ""
    # The web UI server: the built frontend it serves (empty: the repo's frontend/dist), and
    # where operators find Prometheus (the operations view links to it; empty: no link).
    frontend_host: str = "127.0.0.1"
    frontend_dist: str = ""
    prometheus_url: str = ""

    # Every process: its log level, its name as the python3-http template's `context.hostname`,
    # and where spans go (OpenTelemetry's own variable; empty: spans are not exported).
    log_level: str = "INFO"
    hostname: str = "localhost"
    otel_exporter_otlp_endpoint: str = ""
    # Secrets have no usable default: a service that needs one refuses to start without it
    # (`require_secrets`). `make up` generates them under data/secrets/; see README "Security".
    # Shared secret for connector → function HMAC signatures (OpenFaaS secret `saga-signing-key`).
    saga_signing_key: str = Field(
        default="",
        validation_alias=AliasChoices("saga_signing_key", "saga-signing-key"),
    )
    # Basic-auth password of the gateway's /system/* (OpenFaaS secret `gateway-password`); the
    # connector lists functions with it and the dead-letters function checks replays against it.
    gateway_password: str = Field(
        default="",
        validation_alias=AliasChoices("gateway_password", "gateway-password"),
    )
    # The operator token of notify's all-orders feeds (OpenFaaS secret `notify-token`); the web UI
    # presents it on behalf of a signed-in operator.
    notify_token: str = Field(
        default="",
        validation_alias=AliasChoices("notify_token", "notify-token"),
    )
    max_body_bytes: int = 64 * 1024
    # The gateway (gateway/): the hosts an async call's X-Callback-Url may name (comma-separated
    # `host` or `host:port`; empty: no callbacks), the body limit of a function without its own
    # `com.orders-faas.max-body-bytes`, its connection ceiling, and how long a client may take to
    # send a request's headers, and all of it with the body.
    gateway_callback_hosts: str = ""
    gateway_max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    gateway_connection_limit: int = Field(default=4096, ge=1)
    gateway_header_timeout_s: float = Field(default=10.0, gt=0)
    gateway_body_timeout_s: float = Field(default=30.0, gt=0)
    mongo_timeout_ms: int = 5000

    # The Redis Streams connector (connector/). Its HTTP timeout must stay below the reclaim
    # min-idle time, or a slow step is reclaimed by another replica and runs twice.
    connector_concurrency: int = Field(default=16, ge=1, le=512)
    connector_max_deliveries: int = Field(default=5, ge=1)
    connector_http_timeout_s: float = Field(default=10.0, gt=0)
    connector_min_idle_ms: int = Field(default=30_000, ge=1)
    connector_backoff_base_s: float = Field(default=0.5, ge=0)
    connector_backoff_cap_s: float = Field(default=8.0, ge=0)
    # A call the function never got (gateway down or restarting) counts no delivery: it is
    # repeated, waiting up to the cap between calls, until the function answers or the entry
    # has waited this long; after that such calls count like failures.
    connector_unreachable_deadline_s: float = Field(default=600.0, ge=0)
    connector_unreachable_cap_s: float = Field(default=2.0, gt=0)
    # Consumers of the group silent this long with nothing pending (dead replicas) are removed.
    connector_consumer_idle_s: float = Field(default=120.0, gt=0)
    connector_refresh_s: float = Field(default=10.0, gt=0)
    connector_trim_interval_s: float = Field(default=30.0, gt=0)
    # `/metrics`, `/healthz` and `/readyz` of a connector replica; 0 serves none.
    connector_metrics_host: str = "127.0.0.1"
    connector_metrics_port: int = Field(default=0, ge=0, le=65535)
    # /readyz fails when the read loop has not come back from Redis for this long.
    connector_ready_deadline_s: float = Field(default=30.0, gt=0)
    # Entries younger than this stay in the stream even when acknowledged (notify replays them).
    connector_stream_retention_s: float = Field(default=3600.0, ge=0)
    # The dead-letter stream holds copies (the letters themselves live in MongoDB): copies older
    # than this are trimmed with the stream, besides the cap on its length.
    dead_letter_retention_s: float = Field(default=7 * 86400.0, ge=0)
    # How long the stream remembers which event ids it holds: an event (a follow-up answered
    # again, a re-announcement) whose id was appended within this time is not appended twice.
    event_ids_ttl_s: float = Field(default=86400.0, gt=0)

    # Scheduled functions: their cron schedule (stack.yml sets it from the `schedule`
    # annotation), so that a call claims the slot it falls in and a second one does nothing.
    cron_schedule: str = "* * * * *"

    # dispatch-delivery: share of orders whose delivery fails (decided per order id, 0..1).
    delivery_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # payment: share of orders the simulated payment provider declines (per order id, 0..1).
    payment_decline_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # refill: skus below the threshold are topped up to the target (0: their initial stock).
    refill_threshold: int = Field(default=5, ge=0)
    refill_target: int = Field(default=0, ge=0)
    # simulate: seconds from one delivery step to the next, and synthetic orders per minute.
    sim_preparing_after_s: float = Field(default=20.0, ge=0)
    sim_in_transit_after_s: float = Field(default=40.0, ge=0)
    sim_delivered_after_s: float = Field(default=60.0, ge=0)
    sim_order_rate: int = Field(default=0, ge=0, le=600)
    # reconcile: how long a saga may sit in one status that is not final before it times out;
    # how long an order must be untouched before its trail is checked against the stream; and
    # how far back the orders that became final are looked at.
    saga_timeout_s: float = Field(default=300.0, gt=0)
    reconcile_stale_seconds: float = Field(default=30.0, ge=0)
    reconcile_window_seconds: float = Field(default=3600.0, gt=0)

    # Where browsers load the web UI (scheme://host[:port]); notify allows this Origin by
    # default. Empty: http://127.0.0.1 and http://localhost on FRONTEND_PORT.
    ui_origin: str = ""
    frontend_port: int = Field(default=ports.FRONTEND_PORT, ge=1, le=65535)
    # The web UI's operator sign-in: how long a session lasts, and how many failed sign-ins
    # one client may make (a `limits` rate such as "5/minute") before it gets 429s.
    ui_session_ttl_s: float = Field(default=8 * 3600.0, gt=0)
    admin_login_rate: str = "5/minute"
    # Reverse proxies whose X-Forwarded-For/-Proto the web UI believes (comma-separated
    # addresses or CIDRs, "*" for any): the client address failed sign-ins are counted by, and
    # https for the Secure cookie. Empty: none, the connection's peer is the client.
    forwarded_allow_ips: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """A mounted secret file wins over the environment.

        stack.yml gives every function non-secret defaults such as `MONGO_URL` without
        credentials; the secret `mongo-url` mounted next to it must be the one that counts.
        """
        return init_settings, file_secret_settings, env_settings, dotenv_settings

    @model_validator(mode="after")
    def _loopback_urls(self) -> Settings:
        """GATEWAY_URL and NOTIFY_URL default to loopback on GATEWAY_PORT and NOTIFY_PORT."""
        self.gateway_url = self.gateway_url or f"http://127.0.0.1:{self.gateway_port}"
        self.notify_url = self.notify_url or f"http://127.0.0.1:{self.notify_port}"
        return self

    def ui_origins(self) -> tuple[str, ...]:
        """The origins browsers load the web UI from (UI_ORIGIN, else loopback on FRONTEND_PORT)."""
        if self.ui_origin:
            return (self.ui_origin.rstrip("/"),)
        port = self.frontend_port
        return (f"http://127.0.0.1:{port}", f"http://localhost:{port}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
