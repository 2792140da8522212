"""The gateway's OpenFaaS metrics, its readiness, and each function worker's own metrics."""

from __future__ import annotations

import pytest
import requests

from tests.integration.conftest import RunningGateway
from tests.metrics_support import scrape, value

pytestmark = pytest.mark.integration


def test_invocations_are_counted_under_openfaas_names(shared_gateway: RunningGateway) -> None:
    gw = shared_gateway
    before = scrape(f"{gw.url}/metrics")
    for _ in range(3):
        assert requests.get(f"{gw.url}/function/menu", timeout=10).status_code == 200
    missing = requests.get(f"{gw.url}/function/order-status/no-such-order", timeout=10)
    assert missing.status_code == 404
    after = scrape(f"{gw.url}/metrics")

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gateway_function_invocation_total", function_name="menu", code="200") == 3
    assert grew("gateway_function_invocation_total", function_name="order-status", code="404") == 1
    assert grew("gateway_function_invocation_started", function_name="menu") == 3
    assert grew("gateway_functions_seconds_count", function_name="menu", code="200") == 3
    assert (
        grew("gateway_functions_seconds_bucket", function_name="menu", code="200", le="+Inf") == 3
    )
    assert value(after, "gateway_service_count", function_name="place-order") == 1


def test_readyz_answers_once_every_function_has_a_worker(shared_gateway: RunningGateway) -> None:
    answer = requests.get(f"{shared_gateway.url}/readyz", timeout=10)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_every_worker_is_discoverable_and_serves_its_handler_counters(
    shared_gateway: RunningGateway,
) -> None:
    gw = shared_gateway
    order = {
        "customer": {"name": "Ada", "address": "1 Loop St"},
        "items": [{"sku": "PIZ-MARG", "quantity": 1}],
    }
    assert (
        requests.post(f"{gw.url}/function/place-order", json=order, timeout=10).status_code == 201
    )
    assert requests.get(f"{gw.url}/system/metrics-targets", timeout=10).status_code == 401
    groups = requests.get(f"{gw.url}/system/metrics-targets", auth=gw.auth, timeout=10).json()
    by_function = {group["labels"]["function_name"]: group for group in groups}
    assert {"place-order", "reserve-stock", "menu"} <= set(by_function)
    placing = by_function["place-order"]
    url = f"http://{placing['targets'][0]}{placing['labels']['__metrics_path__']}"
    samples = scrape(url)
    assert value(samples, "orders_placed_total") >= 1
    assert value(samples, "process_cpu_seconds_total") > 0
