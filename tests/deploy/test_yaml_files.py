"""Hand-written deployment YAML passes yamllint (chart templates are Go templates, not YAML)."""

from __future__ import annotations

import pytest
from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.conftest import ROOT

FILES = [
    "stack.yml",
    "charts/orders-faas/Chart.yaml",
    "charts/orders-faas/values.yaml",
    "deploy/faasd/docker-compose.orders.yaml",
    "deploy/faasd/prometheus.orders.yml",
    "template/python3-http-saga/template.yml",
    "template/dockerfile/template.yml",
]
CONFIG = YamlLintConfig(
    """
extends: default
rules:
  document-start: disable
  line-length: {max: 110}
  comments: {min-spaces-from-content: 1}
  braces: {max-spaces-inside: 1}
  truthy: {check-keys: false}
"""
)


@pytest.mark.parametrize("path", FILES)
def test_yaml_file_passes_yamllint(path: str) -> None:
    problems = list(linter.run((ROOT / path).read_text(), CONFIG, path))

    assert not problems, "\n".join(f"{path}:{p.line}:{p.column} {p.message}" for p in problems)
