"""Keep-alive HTTP calls through libcurl (pycurl): one handle per thread, each with its own
cache of open connections, for the processes that call functions many times a second (the
connector, and the local gateway relaying to its function workers).

libcurl rather than urllib3: urllib3 and http.client (its `email` header parsing) cost about
0.2 ms more per call, the largest part of both callers' CPU under `make bench`. It lives with
the connector rather than in `ordersaga`: every function image ships `ordersaga`, and none of
them calls out through libcurl.
"""

from __future__ import annotations

import threading

import pycurl

# libcurl's answers that mean the callee never got the call: no connection (refused, not
# resolved), or the connection broke before a whole answer came (closed, reset, cut short).
NOT_REACHED = frozenset(
    {
        pycurl.E_COULDNT_RESOLVE_HOST,
        pycurl.E_COULDNT_CONNECT,
        pycurl.E_GOT_NOTHING,
        pycurl.E_SEND_ERROR,
        pycurl.E_RECV_ERROR,
        pycurl.E_PARTIAL_FILE,
    }
)


def error_code(exc: pycurl.error) -> int:
    """libcurl's error code of a failed `perform()` (-1 when it gave none)."""
    return int(exc.args[0]) if len(exc.args) == 2 else -1


class ThreadHandles:
    """A libcurl handle for each calling thread, set up once: no proxy and no `.netrc` (the
    environment is never read), no redirects followed, no signals (threads), `timeout_s` for
    the connection and for the whole call, and up to `connections` kept open.
    """

    def __init__(self, timeout_s: float, connections: int = 5) -> None:
        self.timeout_ms = int(timeout_s * 1000)
        self.connections = connections
        self._local = threading.local()
        self._handles: list[pycurl.Curl] = []
        self._lock = threading.Lock()

    def get(self) -> pycurl.Curl:
        """This thread's handle (its options stay set between calls; set what varies)."""
        curl: pycurl.Curl | None = getattr(self._local, "curl", None)
        if curl is None:
            curl = pycurl.Curl()
            curl.setopt(pycurl.NOSIGNAL, 1)  # threads: timeouts must not use signals
            curl.setopt(pycurl.PROXY, "")  # never a proxy, whatever the environment says
            curl.setopt(pycurl.CONNECTTIMEOUT_MS, self.timeout_ms)
            curl.setopt(pycurl.TIMEOUT_MS, self.timeout_ms)
            curl.setopt(pycurl.MAXCONNECTS, self.connections)
            # No retries and no redirects: whether to call again is the caller's decision.
            curl.setopt(pycurl.FOLLOWLOCATION, 0)
            self._local.curl = curl
            with self._lock:
                self._handles.append(curl)
        return curl

    def close(self) -> None:
        """Close every handle and its connections (once the calling threads are done)."""
        with self._lock:
            handles, self._handles = self._handles, []
        for curl in handles:
            curl.close()
