"""stack.yml is ready for `faas-cli up`: schema, handlers, templates, topics, schedules, secrets."""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema
import pytest
import yaml
from croniter import croniter

from gateway.stack import Stack
from tests.deploy.conftest import (
    CHART_DIR,
    FAASD_DIR,
    HANDLERS_ARRIVING_ELSEWHERE,
    ROOT,
    STACK_FILE,
    load_schema,
    shell_array,
)

# Every function's name as stack.yml lists it (read at collection time for parametrisation).
FUNCTION_NAMES = sorted((yaml.safe_load(STACK_FILE.read_text()) or {})["functions"])


def test_stack_file_matches_the_faas_cli_schema(stack_raw: dict[str, Any]) -> None:
    jsonschema.validate(stack_raw, load_schema("stack.schema.json"))


def test_schema_refuses_a_misspelled_function_field(stack_raw: dict[str, Any]) -> None:
    broken = copy.deepcopy(stack_raw)
    broken["functions"]["menu"]["secret"] = broken["functions"]["menu"].pop("secrets")

    with pytest.raises(jsonschema.ValidationError, match="secret"):
        jsonschema.validate(broken, load_schema("stack.schema.json"))


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_every_handler_folder_exists(stack: Stack, name: str) -> None:
    folder = stack.handler_dir(stack.functions[name])
    if not folder.is_dir() and name in HANDLERS_ARRIVING_ELSEWHERE:
        pytest.skip(f"{name}: handler folder is written on its own branch and not merged yet")
    assert folder.is_dir(), f"{name}: handler folder {folder} is missing"
    spec = stack.functions[name]
    entry = "Dockerfile" if spec.lang == "dockerfile" else "handler.py"
    assert (folder / entry).is_file(), f"{name}: {entry} is missing in {folder}"


@pytest.mark.parametrize("name", FUNCTION_NAMES)
def test_every_lang_has_a_template_in_the_repository(stack: Stack, name: str) -> None:
    lang = stack.functions[name].lang
    template = ROOT / "template" / lang / "template.yml"
    assert template.is_file(), f"{name}: lang {lang!r} has no template/{lang}/template.yml"
    assert yaml.safe_load(template.read_text())["language"] == lang


def test_shared_package_is_copied_into_every_build_context(stack_raw: dict[str, Any]) -> None:
    assert "./ordersaga" in stack_raw["configuration"]["copy"]
    assert (ROOT / "ordersaga" / "__init__.py").is_file()


def test_scheduled_functions_take_no_topic_but_cron_function(stack: Stack) -> None:
    for name, spec in stack.functions.items():
        if "schedule" in spec.annotations:
            assert spec.topics == ["cron-function"], f"{name}: schedule without cron-function"


@pytest.mark.parametrize("name", ["refill", "simulate", "reconcile"])
def test_scheduled_functions_have_a_valid_cron_schedule(stack: Stack, name: str) -> None:
    schedule = stack.functions[name].schedule
    assert schedule is not None, f"{name} is not scheduled"
    assert croniter.is_valid(schedule), f"{name}: {schedule!r} is not a cron expression"


def test_every_function_secret_is_provided_by_the_chart_and_the_faasd_setup(
    stack: Stack,
) -> None:
    used = {secret for spec in stack.functions.values() for secret in spec.secrets}
    assert {"mongo-url", "redis-url", "saga-signing-key"} <= used
    faasd_function_secrets = set(shell_array(FAASD_DIR / "setup.sh", "FUNCTION_SECRETS"))
    chart_secret_keys = set(
        re.findall(
            r"^  ([a-z-]+): \{\{", (CHART_DIR / "templates" / "secret.yaml").read_text(), re.M
        )
    )
    assert used <= faasd_function_secrets, used - faasd_function_secrets
    assert used <= chart_secret_keys, used - chart_secret_keys


def test_notify_is_long_lived_and_never_scales_to_zero(stack: Stack) -> None:
    notify = stack.functions["notify"]
    assert notify.lang == "dockerfile"
    assert notify.labels["orders-faas/local"] == "service"
    assert int(notify.labels["com.openfaas.scale.min"]) >= 1
    assert notify.labels["com.openfaas.scale.zero"] == "false"


def test_every_function_declares_requests_and_limits(stack_raw: dict[str, Any]) -> None:
    for name, spec in stack_raw["functions"].items():
        assert spec.get("requests", {}).get("memory"), f"{name} has no memory request"
        assert spec.get("limits", {}).get("memory"), f"{name} has no memory limit"


def test_images_are_named_after_their_function_in_one_registry(stack_raw: dict[str, Any]) -> None:
    registries = set()
    for name, spec in stack_raw["functions"].items():
        repository, _, tag = spec["image"].rpartition(":")
        registry, _, image_name = repository.rpartition("/")
        assert image_name == name, f"{name}: image {spec['image']}"
        assert tag, f"{name}: image {spec['image']} has no tag"
        registries.add(registry)
    assert len(registries) == 1, registries


def test_faasd_function_regex_selects_exactly_the_gateway_functions(stack: Stack) -> None:
    pattern = re.compile((FAASD_DIR / "functions.regex").read_text().strip())
    selected = {name for name in stack.functions if pattern.search(name)}
    served = {name for name, spec in stack.functions.items() if spec.served_by_gateway}
    assert selected == served


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice, as faas-cli's parser does."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    # Only keys written out count: `<<: *anchor` may merge in a key that is then overridden.
    keys = [key.value for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge"]
    duplicates = {key for key in keys if keys.count(key) > 1}
    if duplicates:
        raise yaml.constructor.ConstructorError(None, None, f"duplicate keys {duplicates}")
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def test_stack_file_names_no_function_or_field_twice() -> None:
    yaml.load(STACK_FILE.read_text(), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
