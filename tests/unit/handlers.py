"""Load a function's handler module the way the gateway's runtime does."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from gateway.runtime import load_handler

REPO = Path(__file__).resolve().parents[2]
FUNCTIONS = REPO / "functions"


def load(name: str) -> ModuleType:
    """The `handler` module of functions/<name>."""
    return load_handler(FUNCTIONS / name)
