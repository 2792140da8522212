"""Shared pieces of the offline deployment checks: paths, stack.yml, schemas."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.stack import Stack, load_stack, substitute

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).parent / "schemas"
STACK_FILE = ROOT / "stack.yml"
FAASD_DIR = ROOT / "deploy" / "faasd"
CHART_DIR = ROOT / "charts" / "orders-faas"

# Written on other branches; until they land, their stack.yml entries have no folder yet.
HANDLERS_ARRIVING_ELSEWHERE = {"ops-summary", "dead-letters"}


def handlers_not_merged_yet() -> set[str]:
    """The functions of HANDLERS_ARRIVING_ELSEWHERE whose folder is not in the tree yet."""
    return {
        name for name in HANDLERS_ARRIVING_ELSEWHERE if not (ROOT / "functions" / name).is_dir()
    }


def load_schema(name: str) -> dict[str, Any]:
    """One of our JSON schemas under tests/deploy/schemas."""
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text())
    return schema


def shell_array(script: Path, name: str) -> list[str]:
    """The words of a bash array `NAME=(a b c)` in a script."""
    match = re.search(rf"^{name}=\(([^)]*)\)", script.read_text(), re.MULTILINE)
    assert match, f"{name}=(...) not found in {script}"
    return match.group(1).split()


@pytest.fixture(scope="session")
def stack_raw() -> dict[str, Any]:
    """stack.yml as faas-cli sees it with no variables set (every `${VAR:-default}` default)."""
    raw: dict[str, Any] = yaml.safe_load(substitute(STACK_FILE.read_text(), {}))
    return raw


@pytest.fixture(scope="session")
def stack() -> Stack:
    """stack.yml parsed the way the local gateway reads it."""
    return load_stack(STACK_FILE, env={})
