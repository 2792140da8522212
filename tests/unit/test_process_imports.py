"""Long-lived processes load only what they use: every library is megabytes per process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit.handlers import REPO


def loaded(module: str, library: str) -> bool:
    probe = f"import sys, {module}; print({library!r} in sys.modules)"
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    return run.stdout.strip() == "True"


@pytest.mark.parametrize(
    ("module", "library"),
    [
        ("gateway.__main__", "pymongo"),  # it routes calls; the functions talk to MongoDB
        ("devstack.__main__", "requests"),  # one health check, done with the standard library
        ("devstack.__main__", "pydantic"),  # it needs three default ports, not the settings
    ],
)
def test_a_process_does_not_load_a_client_it_never_uses(module: str, library: str) -> None:
    assert not loaded(module, library)
