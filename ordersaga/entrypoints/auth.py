"""Operator calls: HTTP basic auth `admin:<gateway password>`, as on the gateway's `/system/*`.

The one basic-auth check of the project: the gateway's `/system/*`, the operator functions
(`ops-summary`, `dead-letters`, a scheduled function run by hand) and the web UI's sign-in
(through the gateway) all use it; the password is compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import TYPE_CHECKING

from ordersaga.domain.errors import Unauthorized

if TYPE_CHECKING:
    # Not at run time: the web UI's image uses this module and has no pymongo or redis, which
    # the functions' HTTP runtime imports.
    from ordersaga.entrypoints.http import Event

ADMIN_USER = "admin"


def check_admin(authorization: str, password: str) -> None:
    """Refuse (401) unless `authorization` is `Basic admin:<password>` (and a password is set)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("send Authorization: Basic admin:<gateway password>", "Authorization")
    try:
        user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized(
            "the Authorization header is not valid basic auth", "Authorization"
        ) from exc
    if (
        not password
        or user != ADMIN_USER
        or not hmac.compare_digest(given.encode(), password.encode())
    ):
        raise Unauthorized("wrong user or password", "Authorization")


def basic_authorization(password: str, user: str = ADMIN_USER) -> str:
    """The `Authorization` value that `check_admin` accepts for this password."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def is_admin(authorization: str, password: str) -> bool:
    """Whether `authorization` carries the operator's credentials (see `check_admin`)."""
    try:
        check_admin(authorization, password)
    except Unauthorized:
        return False
    return True


def require_admin(event: Event, password: str) -> None:
    """Refuse (401) a call without `Authorization: Basic admin:<password>` (or with no password)."""
    from ordersaga.entrypoints.http import header  # here, for the reason above

    check_admin(header(event, "Authorization"), password)
