"""The web UI server's test doubles: a built app of one page, and the gateway and notify faked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.webui.support import FakeUpstreams


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built frontend of one page."""
    (tmp_path / "index.html").write_text("<div id=root></div>")
    return tmp_path


@pytest.fixture
def upstreams() -> FakeUpstreams:
    """The gateway and notify, recording each call."""
    return FakeUpstreams()
