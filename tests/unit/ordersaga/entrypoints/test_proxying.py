"""What the gateway and the web UI pass on when they relay a request or an answer."""

from __future__ import annotations

from ordersaga.entrypoints.proxying import end_to_end


def test_hop_by_hop_headers_stay_behind_and_end_to_end_ones_go_on() -> None:
    headers = {
        "Connection": "keep-alive",
        "Transfer-Encoding": "chunked",
        "Host": "127.0.0.1:3000",
        "Content-Length": "12",
        "Content-Type": "application/json",
        "X-Call-Id": "c-1",
    }
    assert end_to_end(headers.items()) == {"Content-Type": "application/json", "X-Call-Id": "c-1"}


def test_a_body_the_proxy_decoded_is_not_announced_as_compressed() -> None:
    headers = {"Content-Encoding": "gzip", "Content-Type": "text/plain"}
    assert end_to_end(headers.items(), decoded=True) == {"Content-Type": "text/plain"}
    assert end_to_end(headers.items()) == headers  # a raw body keeps its encoding
