"""The gateway's HTTP server: waitress with read deadlines, a high connection ceiling, and body
limits applied before a byte of the body is buffered.

waitress reads every request on one asyncore thread and hands only complete requests to the
worker threads, so slow clients cost a socket, not a thread. What it lacks is a deadline for
a request still arriving (its `channel_timeout` counts inactivity, which a client trickling a
byte at a time never shows) and a body limit per function. Both are added here, on the seams
waitress offers (its parser, channel, error task and periodic maintenance); docs/DESIGN.md
says why waitress stays.
"""

from __future__ import annotations

import json
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge

from ordersaga.domain.responses import ErrorBody

# path → the largest body a request to it may carry, in bytes.
BodyLimit = Callable[[str], int]

_ERROR_NAMES = {
    400: "bad_request",
    413: "payload_too_large",
    431: "headers_too_large",
    500: "internal",
    501: "not_implemented",
}


class BodyTooLarge(RequestEntityTooLarge):
    """A body over the function's limit, refused before it is read."""

    field = "body"


class JsonErrorTask(ErrorTask):
    """waitress' own refusals (bad request line, headers or body too large) as JSON errors."""

    def execute(self) -> None:
        error: Any = getattr(self.request, "error", None)
        answer = ErrorBody(
            error=_ERROR_NAMES.get(error.code, "bad_request"),
            message=str(error.body),
            field=getattr(error, "field", None) or None,
        )
        body = json.dumps(answer.to_json()).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers = [*self.response_headers, ("Content-Type", "application/json")]
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


def _channel_class(body_limit: BodyLimit) -> type[HTTPChannel]:
    class LimitedParser(HTTPRequestParser):
        """Stamps when a request began arriving; refuses a body over its path's limit."""

        def __init__(self, adj: Adjustments) -> None:
            super().__init__(adj)
            self.started = time.time()

        def received(self, data: bytes) -> int:
            consumed: int = super().received(data)
            if self.error is None and self.headers_finished and not self.empty:
                limit = body_limit(str(getattr(self, "path", "")))
                # Content-Length is known at once; a chunked body is cut off at the limit.
                if max(self.content_length, self.body_bytes_received) > limit:
                    self.error = BodyTooLarge(f"the body may be at most {limit} bytes")
                    self.completed = True
            return consumed

    class LimitedChannel(HTTPChannel):
        parser_class = LimitedParser
        error_task_class = JsonErrorTask

    return LimitedChannel


class GatewayServer(TcpWSGIServer):
    """Closes connections whose request is not in by its deadline, whatever trickles in."""

    def __init__(
        self, *args: Any, header_timeout_s: float, body_timeout_s: float, **kwargs: Any
    ) -> None:
        self.header_timeout_s = header_timeout_s
        self.body_timeout_s = body_timeout_s
        super().__init__(*args, **kwargs)

    def maintenance(self, now: float) -> None:
        """Close idle channels (waitress) and those whose request is overdue (ours)."""
        super().maintenance(now)  # type: ignore[arg-type]  # waitress passes time.time()
        channels: dict[int, Any] = self.active_channels  # type: ignore[assignment]
        for channel in list(channels.values()):
            request = channel.request
            if request is None:
                # Connected but silent since: the headers are due as for any request.
                if channel.last_activity == channel.creation_time and not channel.requests:
                    overdue = now - channel.creation_time > self.header_timeout_s
                    channel.will_close = channel.will_close or overdue
                continue
            if request.completed:
                continue
            limit = self.body_timeout_s if request.headers_finished else self.header_timeout_s
            if now - request.started > limit:
                channel.will_close = True


def _raise_open_files_limit(wanted: int) -> None:
    """Each connection is a file descriptor: lift the soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def bind(host: str, port: int) -> socket.socket:
    """The gateway's listening socket on host:port.

    Bound before the gateway starts its function workers: each worker's socket takes a port
    the kernel picks, which could otherwise be the one the gateway was told to serve on.
    """
    return socket.create_server((host, port), backlog=1024)


def create_server(
    app: Any,
    *,
    listener: socket.socket,
    body_limit: BodyLimit,
    threads: int = 32,
    connection_limit: int = 4096,
    header_timeout_s: float = 10.0,
    body_timeout_s: float = 30.0,
    idle_timeout_s: int = 30,
) -> GatewayServer:
    """The gateway's server on `listener` (see `bind`), serving `app` (WSGI)."""
    _raise_open_files_limit(connection_limit + 256)
    adj = Adjustments(
        sockets=[listener],
        threads=threads,
        ident="gateway",
        connection_limit=connection_limit,
        channel_timeout=idle_timeout_s,
        cleanup_interval=1,
        # select() cannot watch descriptors above 1024; poll() can.
        asyncore_use_poll=True,
        max_request_header_size=64 * 1024,
    )
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    server = GatewayServer(
        app,
        {},
        _sock=listener,
        bind_socket=False,
        sockinfo=(listener.family, listener.type, listener.proto, listener.getsockname()),
        dispatcher=dispatcher,
        adj=adj,
        header_timeout_s=header_timeout_s,
        body_timeout_s=body_timeout_s,
    )
    server.channel_class = _channel_class(body_limit)
    return server
