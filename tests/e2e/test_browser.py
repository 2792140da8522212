"""A person in Chromium against the whole stack: menu, order, live tracking, errors, operations."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ARTIFACTS, FRONTEND, Stack

pytestmark = pytest.mark.e2e

SOLD_OUT = ("DES-TIRA", "Tiramisu")  # sold out in this test's data before the shop opens
RACE = ("BWL-POKE", "Salmon Poke Bowl")  # sells out while it is in the cart
SHORT = ("BWL-BIBI", "Bibimbap")  # one left, two ordered


def scenario(stack: Stack, name: str, **env: str) -> subprocess.Popen[str]:
    """Start `node e2e/run.mjs <name>` against the stack's UI."""
    return subprocess.Popen(
        ["node", "e2e/run.mjs", name],
        cwd=FRONTEND,
        env={**os.environ, "BASE_URL": stack.ui_url, "ARTIFACTS_DIR": str(ARTIFACTS), **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout_s: float = 150) -> str:
    """Wait for a scenario; fail the test with the browser's story if it did not pass."""
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"scenario timed out:\n{output}")
    assert proc.returncode == 0, output
    return output


def run(stack: Stack, name: str, **env: str) -> str:
    return finish(scenario(stack, name, **env))


@pytest.fixture
def sold_out_item(stack: Stack) -> str:
    stack.set_stock(SOLD_OUT[0], 0)
    return SOLD_OUT[1]


def test_menu_shows_prices_and_stock_and_disables_a_sold_out_dish(
    stack: Stack, sold_out_item: str
) -> None:
    output = run(stack, "menu", SOLD_OUT_NAME=sold_out_item)
    assert "PASS menu" in output
    assert Path(ARTIFACTS / "shop.png").stat().st_size > 0


def test_bad_form_field_is_flagged_before_anything_is_sent(stack: Stack) -> None:
    assert "PASS bad_field" in run(stack, "bad_field")


def test_an_order_can_be_placed_with_the_keyboard_alone(stack: Stack) -> None:
    assert "PASS keyboard" in run(stack, "keyboard")


def test_order_reaches_dispatched_live_on_the_tracking_page(stack: Stack) -> None:
    output = run(stack, "order_dispatched")
    assert "PASS order_dispatched" in output
    print(*(line for line in output.splitlines() if line.startswith(("order ", "measured"))))


def test_tracking_falls_back_to_sse_when_websockets_are_blocked(stack: Stack) -> None:
    assert "PASS sse_fallback" in run(stack, "sse_fallback")


def test_item_that_sold_out_in_the_cart_is_refused_naming_the_field(stack: Stack) -> None:
    stack.set_stock(RACE[0], 5)
    proc = scenario(stack, "sold_out_rejected", RACE_NAME=RACE[1])
    assert proc.stdout is not None
    assert proc.stdin is not None
    for line in proc.stdout:
        if line.strip() == "READY":
            break
    else:
        pytest.fail(f"the scenario never got ready: {finish(proc)}")
    stack.set_stock(RACE[0], 0)
    proc.stdin.write("GO\n")
    proc.stdin.flush()
    assert "PASS sold_out_rejected" in finish(proc)


def test_order_for_more_than_the_stock_is_cancelled_with_the_reason_shown(stack: Stack) -> None:
    stack.set_stock(SHORT[0], 1)
    output = run(stack, "cancelled_live", SHORT_SKU=SHORT[0], SHORT_NAME=SHORT[1])
    assert "PASS cancelled_live" in output


@contextmanager
def payment_decline_rate(stack: Stack, rate: float) -> Iterator[None]:
    """Redeploy the payment function with PAYMENT_DECLINE_RATE=`rate` (as `faas-cli deploy
    --env` does, through the gateway's API); the first environment is put back after."""
    auth = ("admin", stack.password)
    current = requests.get(f"{stack.gateway_url}/system/function/payment", auth=auth, timeout=10)
    current.raise_for_status()
    spec = current.json()

    def deploy(env: dict[str, str]) -> None:
        body = {"service": "payment", "image": spec["image"], "envVars": env}
        response = requests.put(
            f"{stack.gateway_url}/system/functions", json=body, auth=auth, timeout=60
        )
        assert response.status_code in (200, 202), response.text

    deploy({**spec["envVars"], "PAYMENT_DECLINE_RATE": str(rate)})
    try:
        yield
    finally:
        deploy(spec["envVars"])


def test_declined_payment_cancels_the_order_live_with_the_reason_shown(stack: Stack) -> None:
    with payment_decline_rate(stack, 1.0):
        output = run(stack, "payment_declined")
    assert "PASS payment_declined" in output


def test_operator_signs_in_sees_the_live_pipeline_and_signs_out(stack: Stack) -> None:
    assert "PASS ops_sign_in" in run(stack, "ops_sign_in", ADMIN_PASSWORD=stack.password)


def test_operations_view_shows_the_pipeline_and_new_events_live(stack: Stack) -> None:
    assert "PASS ops" in run(stack, "ops", ADMIN_PASSWORD=stack.password)


def test_dead_letter_is_replayed_from_the_operations_view_on_the_session(
    stack: Stack,
) -> None:
    letter = stack.park_dead_letter()
    output = run(stack, "dead_letter_replay", ADMIN_PASSWORD=stack.password, LETTER_ID=letter)
    assert "PASS dead_letter_replay" in output


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus is not installed")
def test_operations_view_links_to_prometheus(stack: Stack) -> None:
    output = run(
        stack, "prometheus_link", ADMIN_PASSWORD=stack.password, PROMETHEUS_URL=stack.prometheus_url
    )
    assert "PASS prometheus_link" in output


def test_pages_have_no_serious_accessibility_problems(stack: Stack) -> None:
    assert "PASS accessibility" in run(stack, "accessibility", ADMIN_PASSWORD=stack.password)


def test_the_api_reference_page_opens_from_the_header_and_lists_every_call(stack: Stack) -> None:
    assert "PASS api_reference" in run(stack, "api_reference")
