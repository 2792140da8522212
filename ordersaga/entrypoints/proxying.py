"""What a proxy passes on: the one list of hop-by-hop headers (the gateway and the web UI)."""

from __future__ import annotations

from collections.abc import Iterable

# RFC 9110 §7.6.1's hop-by-hop fields, plus `host` and `content-length`, which the client
# that sends the next hop sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def end_to_end(headers: Iterable[tuple[str, str]], *, decoded: bool = False) -> dict[str, str]:
    """The headers (name, value pairs) that a proxy passes on, names as they came.

    `decoded`: the body relayed with them has been decoded by the proxy's HTTP client (requests'
    `.content`, httpx's `.content`), so its `Content-Encoding` would lie and is dropped too.
    """
    dropped = HOP_BY_HOP | {"content-encoding"} if decoded else HOP_BY_HOP
    return {name: value for name, value in headers if name.lower() not in dropped}
