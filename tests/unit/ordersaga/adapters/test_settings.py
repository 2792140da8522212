"""Where the servers listen and find each other, each default given once in Settings."""

from __future__ import annotations

import pytest

from ordersaga.adapters.settings import Settings


@pytest.fixture(autouse=True)
def no_server_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_URL", "GATEWAY_PORT", "NOTIFY_URL", "NOTIFY_PORT", "GATEWAY_CRON"):
        monkeypatch.delenv(name, raising=False)


def test_a_moved_port_moves_the_url_the_other_services_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "18080")
    monkeypatch.setenv("NOTIFY_PORT", "18081")

    settings = Settings()

    assert settings.gateway_url == "http://127.0.0.1:18080"
    assert settings.notify_url == "http://127.0.0.1:18081"


def test_a_url_given_outright_wins_over_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_PORT", "18081")
    monkeypatch.setenv("NOTIFY_URL", "http://notify:8080")

    assert Settings().notify_url == "http://notify:8080"


@pytest.mark.parametrize(("value", "runs_schedules"), [("off", False), ("on", True)])
def test_gateway_cron_off_leaves_the_schedules_to_a_cron_connector(
    monkeypatch: pytest.MonkeyPatch, value: str, runs_schedules: bool
) -> None:
    monkeypatch.setenv("GATEWAY_CRON", value)
    assert Settings().gateway_cron is runs_schedules
