"""The one settings object: environment variables, a `.env` file, or OpenFaaS secret files."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

OPENFAAS_SECRETS = Path("/var/openfaas/secrets")


class Settings(BaseSettings):
    """Configuration shared by every function and service; names match the environment."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        secrets_dir=str(OPENFAAS_SECRETS) if OPENFAAS_SECRETS.is_dir() else None,
    )

    mongo_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongo_db: str = "orders"
    redis_url: str = "redis://127.0.0.1:6379/0"
    stream_name: str = "orders.events"
    dead_letter_stream: str = "orders.dead"
    connector_group: str = "saga-connector"
    gateway_url: str = "http://127.0.0.1:8080"
    # Shared secret for connector → function HMAC signatures (OpenFaaS secret `saga-signing-key`).
    saga_signing_key: str = Field(
        default="dev-signing-key-change-me",
        validation_alias=AliasChoices("saga_signing_key", "saga-signing-key"),
    )
    max_body_bytes: int = 64 * 1024
    mongo_timeout_ms: int = 5000

    # dispatch-delivery: share of orders whose delivery fails (decided per order id, 0..1).
    delivery_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # refill: skus below the threshold are topped up to the target (0: their initial stock).
    refill_threshold: int = Field(default=5, ge=0)
    refill_target: int = Field(default=0, ge=0)
    # simulate: seconds from one delivery step to the next, synthetic orders per minute, and
    # how long a saga may sit in one non-final status before it is cancelled.
    sim_preparing_after_s: float = Field(default=20.0, ge=0)
    sim_in_transit_after_s: float = Field(default=40.0, ge=0)
    sim_delivered_after_s: float = Field(default=60.0, ge=0)
    sim_order_rate: int = Field(default=0, ge=0, le=600)
    saga_timeout_s: float = Field(default=300.0, gt=0)

    @property
    def mongo_url_is_default(self) -> bool:
        """True when no MONGO_URL was given (the local stack then starts its own server)."""
        return "MONGO_URL" not in os.environ


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process."""
    return Settings()
