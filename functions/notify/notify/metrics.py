"""notify's Prometheus metrics: clients, messages sent, drops, resyncs, XADD → send delay.

One process is one replica; its default registry is served on `/metrics`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

import ordersaga.metrics  # noqa: F401 (no `_created` series)

CLIENTS = Gauge(
    "notify_clients",
    "Connected clients, by transport (websocket, sse) and scope (order, all)",
    ["transport", "scope"],
)
SENT = Counter("notify_messages_sent", "Messages sent to clients", ["transport"])
DROPPED = Counter(
    "notify_clients_dropped", "Clients disconnected for falling behind their queue", ["transport"]
)
RESYNCS = Counter("notify_resyncs", "resync messages built from the order document", ["reason"])
DELAY = Histogram(
    "notify_delivery_delay_seconds",
    "From the entry's XADD (its stream id's time) to its live send to a client",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DISPATCHED = Counter(
    "notify_entries_dispatched", "Stream entries offered to this replica's clients"
)
FOLLOWER_UP = Gauge("notify_stream_follower_up", "1 while the stream follower reads from Redis")


def scope(order_id: str | None) -> str:
    """The `scope` label of a subscription."""
    return "order" if order_id else "all"
