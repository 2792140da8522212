"""The operator's sign-in: the admin password, checked by the gateway, for a session cookie.

Sessions live in this process only (a random id in an HttpOnly cookie, the server keeps the
rest), so signing out ends one for good and a restart signs everyone out. Failed sign-ins
are limited per client address with the `limits` library.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection
from starlette.responses import Response

from ordersaga.entrypoints.auth import basic_authorization

COOKIE = "ofs_session"
# Strict: the cookie is only ever needed by requests the app's own pages make, never on a
# navigation from another site, so no cross-site request can act as the operator.
SAME_SITE: Literal["strict"] = "strict"
MAX_SESSIONS = 1000


@dataclass
class Session:
    """A signed-in operator: the credentials the gateway accepted, until `expires_at`."""

    password: str
    expires_at: float

    @property
    def basic_auth(self) -> str:
        """The `Authorization` value for operator calls to the gateway."""
        return basic_authorization(self.password)


@dataclass
class Sessions:
    """Sessions by their random id, each ending after `ttl_s` (or when signed out)."""

    ttl_s: float
    clock: Callable[[], float] = time.time
    _by_id: dict[str, Session] = field(default_factory=dict)

    def create(self, password: str) -> tuple[str, Session]:
        """A new session and its id (256 random bits), dropping expired ones first."""
        self._drop_expired()
        if len(self._by_id) >= MAX_SESSIONS:
            oldest = min(self._by_id, key=lambda key: self._by_id[key].expires_at)
            del self._by_id[oldest]
        session_id = secrets.token_urlsafe(32)
        session = Session(password, self.clock() + self.ttl_s)
        self._by_id[session_id] = session
        return session_id, session

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (unknown, expired or signed out)."""
        session = self._by_id.get(session_id or "")
        if session is not None and session.expires_at <= self.clock():
            self._by_id.pop(session_id or "", None)
            return None
        return session

    def of(self, connection: HTTPConnection) -> Session | None:
        """The session a request's cookie names, if it is live."""
        return self.get(connection.cookies.get(COOKIE))

    def end(self, session_id: str | None) -> None:
        """Sign out: the id is forgotten at once."""
        self._by_id.pop(session_id or "", None)

    def _drop_expired(self) -> None:
        now = self.clock()
        for key in [k for k, s in self._by_id.items() if s.expires_at <= now]:
            del self._by_id[key]


def set_cookie(response: Response, session_id: str, session: Session, secure: bool) -> None:
    """The session cookie: HttpOnly (no script reads it), SameSite=Strict, expiring with it."""
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=max(1, round(session.expires_at - time.time())),
        path="/",
        httponly=True,
        samesite=SAME_SITE,
        secure=secure,
    )


def clear_cookie(response: Response, secure: bool) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite=SAME_SITE, secure=secure)


@dataclass
class FailedLogins:
    """Failed sign-ins per client: after `rate` of them (e.g. "5/minute") only 429s, for a while."""

    rate: str
    _limiter: MovingWindowRateLimiter = field(init=False)
    _item: RateLimitItem = field(init=False)

    def __post_init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._item = parse(self.rate)

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may try now."""
        if self._limiter.test(self._item, client):
            return None
        reset = self._limiter.get_window_stats(self._item, client).reset_time
        return max(1, int(reset - time.time()) + 1)

    def failed(self, client: str) -> None:
        """Count one failed sign-in of `client`."""
        self._limiter.hit(self._item, client)
