"""Secrets have no usable default: a process that needs one refuses to start without it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named: a process checking a secret need not load pydantic
    from ordersaga.adapters.settings import Settings

# Values that were ever published (the old built-in signing key, examples in docs and tests'
# look-alikes): anyone can read them, so a process holding one is as open as one holding none.
SAMPLE_VALUES = frozenset(
    {
        "dev-signing-key-change-me",
        "change-me",
        "changeme",
        "change-this",
        "secret",
        "s3cret",
        "password",
        "admin",
        "token",
    }
)

# Settings field → (environment variable, OpenFaaS/Kubernetes secret name).
SECRETS: dict[str, tuple[str, str]] = {
    "saga_signing_key": ("SAGA_SIGNING_KEY", "saga-signing-key"),
    "gateway_password": ("GATEWAY_PASSWORD", "gateway-password"),
    "notify_token": ("NOTIFY_TOKEN", "notify-token"),
}


class MissingSecret(SystemExit):
    """A needed secret is missing or public; raised at start, it ends the process with one line."""


def secret_problem(field: str, value: str | None) -> str | None:
    """Why `value` cannot serve as the secret `field`, or None when it can."""
    env, secret = SECRETS[field]
    where = f"{env} (secret {secret})"
    if value is None or not value.strip():
        return f"{where} is not set; `make up` generates it, on OpenFaaS create the secret"
    if value.strip().lower() in SAMPLE_VALUES:
        return f"{where} is a published sample value; generate your own"
    return None


def require_secrets(settings: Settings, *fields: str) -> None:
    """Raise MissingSecret naming the first of `fields` that has no usable value."""
    for field in fields:
        problem = secret_problem(field, getattr(settings, field))
        if problem:
            raise MissingSecret(f"refusing to start: {problem}")
