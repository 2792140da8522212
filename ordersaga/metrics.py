"""What every process's Prometheus metrics share: no `_created` series, one way to serve them.

Each long-lived process (gateway, function workers, connector, notify, UI server) defines its
metric objects with prometheus-client; importing this module first turns off the `_created`
companion series, which double the exposition and no dashboard or rule reads.
"""

from __future__ import annotations

from prometheus_client import Counter, disable_created_metrics

disable_created_metrics()  # type: ignore[no-untyped-call]

# Latency buckets (seconds) shared by the saga's histograms: a step takes milliseconds, a
# whole saga (placed → delivered) up to minutes.
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
SAGA_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

# What the handlers measure on their own. Each function worker serves its process's default
# registry on `/_/metrics` (ordersaga.entrypoints.runtime), and Prometheus scrapes every
# worker (replica) on its own: sum() over them is the function's figure (docs/DESIGN.md).
ORDERS_PLACED = Counter("orders_placed", "Orders accepted by place-order (repeats excluded)")
ORDERS_REANNOUNCED = Counter(
    "orders_reannounced", "PENDING orders whose order.placed reconcile appended again"
)
STOCK_HOLDS_REFUSED = Counter(
    "orders_stock_holds_refused",
    "Reservations refused for a shortage, by the sku that ran short",
    ["sku"],
)
STOCK_REFILLS = Counter("orders_stock_refills", "Skus topped up by refill", ["sku"])
STOCK_REFILLED_UNITS = Counter("orders_stock_refilled_units", "Units added by refill")
