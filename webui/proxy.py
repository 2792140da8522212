"""Plain and streaming (SSE) HTTP proxying to the gateway and notify."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ordersaga.entrypoints.proxying import end_to_end

log = logging.getLogger("webui.proxy")

# The functions accept far less (MAX_BODY_BYTES in the settings); this only bounds memory here.
MAX_BODY_BYTES = 1024 * 1024


# The browser's own credentials stay here: the session cookie is this server's, and operator
# credentials are added by this server for a signed-in session only.
BROWSER_CREDENTIALS = frozenset({"cookie", "authorization"})


def forward_headers(headers: Mapping[str, str], request: Request | None = None) -> dict[str, str]:
    """The end-to-end headers of a request or response, plus X-Forwarded-* for a request."""
    kept = end_to_end(headers.items())
    if request is not None:
        kept = {k: v for k, v in kept.items() if k.lower() not in BROWSER_CREDENTIALS}
        kept.pop("accept-encoding", None)  # let httpx negotiate, and relay the decoded body
        if request.client:
            kept["x-forwarded-for"] = request.client.host
        kept["x-forwarded-host"] = request.headers.get("host", "")
        kept["x-forwarded-proto"] = request.url.scheme
    return kept


def same_origin(headers: Mapping[str, str]) -> bool:
    """Whether a request comes from a page this server served (or from a non-browser)."""
    origin = headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


def upstream_url(base: str, path: str, request: Request) -> str:
    """`base` + `path` (already checked, as it came) + the request's query string."""
    query = request.url.query
    return f"{base}{path}" + (f"?{query}" if query else "")


def _unreachable(what: str, url: str, exc: Exception) -> JSONResponse:
    timed_out = isinstance(exc, httpx.TimeoutException)
    log.warning("upstream failed", extra={"upstream": what, "url": url, "error": repr(exc)})
    return JSONResponse(
        {
            "error": "gateway_timeout" if timed_out else "bad_gateway",
            "message": f"the {what} did not answer"
            + (" in time" if timed_out else f" at {url.split('/', 3)[2]}"),
        },
        status_code=504 if timed_out else 502,
    )


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None when it is larger than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def proxy_http(
    client: httpx.AsyncClient,
    base: str,
    path: str,
    request: Request,
    credentials: Mapping[str, str] | None = None,
) -> Response:
    """Send the request on to `base` + `path` with `credentials` added, and relay the answer."""
    url = upstream_url(base, path, request)
    body = await read_body(request, MAX_BODY_BYTES)
    if body is None:
        return JSONResponse(
            {"error": "payload_too_large", "field": "body", "message": "at most 1 MiB"},
            status_code=413,
        )
    try:
        headers = forward_headers(request.headers, request) | dict(credentials or {})
        answer = await client.request(request.method, url, headers=headers, content=body)
    except httpx.HTTPError as exc:
        return _unreachable("gateway", url, exc)
    return Response(
        answer.content, answer.status_code, end_to_end(answer.headers.items(), decoded=True)
    )


async def proxy_stream(
    client: httpx.AsyncClient,
    base: str,
    path: str,
    request: Request,
    credentials: Mapping[str, str] | None = None,
) -> Response:
    """Relay a long-lived streaming answer (server-sent events) chunk by chunk as it arrives."""
    url = upstream_url(base, path, request)
    if not same_origin(request.headers):
        return JSONResponse(
            {"error": "forbidden", "field": "origin", "message": "cross-origin stream refused"},
            status_code=403,
        )
    headers = forward_headers(request.headers, request)
    headers.pop("origin", None)  # checked above; upstream sees a same-origin client
    headers.update(credentials or {})
    outgoing = client.build_request(
        "GET",
        url,
        headers=headers,
        timeout=httpx.Timeout(10.0, read=None),
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        return _unreachable("notify service", url, exc)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            log.info("stream ended by upstream", extra={"url": url})
        finally:
            await answer.aclose()

    headers = forward_headers(answer.headers)
    headers.pop("content-length", None)
    headers["cache-control"] = "no-cache"
    headers["x-accel-buffering"] = "no"
    return StreamingResponse(relay(), answer.status_code, headers)
