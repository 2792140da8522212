"""Load a function's handler module the way the gateway's runtime does."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from gateway.runtime import load_handler

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def load(name: str) -> ModuleType:
    """The `handler` module of functions/<name>."""
    return load_handler(FUNCTIONS / name)
