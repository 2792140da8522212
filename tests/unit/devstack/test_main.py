"""`make up` starts notify and lets the gateway proxy plain HTTP to it."""

from __future__ import annotations

from devstack.__main__ import _gateway_upstreams


def test_gateway_is_told_where_notify_listens() -> None:
    assert _gateway_upstreams({"notify": 18081}) == [
        "--upstream",
        "notify=http://127.0.0.1:18081",
    ]
