"""The security suite runs against the stack exactly as `make up` starts it, secrets and all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.upstack import UpStack, running_up_stack

pytestmark = pytest.mark.security


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """One stack for the whole suite, with nothing set but its ports and data directory."""
    with running_up_stack(tmp_path_factory.mktemp("security")) as up:
        yield up


@pytest.fixture(scope="session")
def data_dir(stack: UpStack) -> Path:
    """Where `make up` keeps the stack's data and generated secrets."""
    return stack.data_dir
