"""The chart's browser-facing side: every path through the UI server, which alone reaches the API.

The NetworkPolicies are checked by evaluating them as Kubernetes does for a given pair of pods.
"""

from __future__ import annotations

from typing import Any

import helm_python
import pytest
from helm_python.errors import HelmRenderError

from ordersaga.adapters.settings import OPENFAAS_SECRETS
from tests.deploy.chart import VARIANTS, of_kind, render
from tests.deploy.conftest import CHART_DIR

FULLNAME = "orders-orders-faas"
FRONTEND = f"{FULLNAME}-frontend"
NAMESPACE = "orders"
INGRESS_NAMESPACE = "ingress-nginx"
# What a browser asks for: the app, the sign-in, public and operator functions, both feeds.
BROWSER_PATHS = [
    "/",
    "/ops",
    "/session",
    "/function/menu",
    "/function/ops-summary",
    "/function/dead-letters/x",
    "/ws/orders",
    "/ws/orders/o1",
    "/sse/orders",
    "/system/functions",
]
WITH_INGRESS = [name for name, values in VARIANTS.items() if values.get("ingress") != {}]


def _pod(component: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    labels = {
        "app.kubernetes.io/name": "orders-faas",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/component": component,
    }
    return {"namespace": namespace, "labels": labels}


def _frontend(documents: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = of_kind(documents, "Deployment")[FRONTEND]["spec"]["template"][
        "spec"
    ]["containers"][0]
    return container


def _backend(ingress: dict[str, Any], path: str) -> str:
    """The Service an Ingress sends `path` to: the longest matching Prefix rule wins."""
    best, service = -1, ""
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            prefix = entry["path"].rstrip("/")
            matches = path == prefix or path.startswith(prefix + "/") or prefix == ""
            if entry["pathType"] == "Prefix" and matches and len(prefix) > best:
                best, service = len(prefix), entry["backend"]["service"]["name"]
    return service


@pytest.mark.parametrize("variant", WITH_INGRESS)
def test_ingress_sends_every_browser_path_to_the_ui_server(variant: str) -> None:
    ingresses = of_kind(render(VARIANTS[variant]), "Ingress")
    if not VARIANTS[variant].get("frontend", {}).get("enabled", True):
        assert not ingresses, "without the UI server nothing may face browsers"
        return
    (ingress,) = ingresses.values()

    for path in BROWSER_PATHS:
        assert _backend(ingress, path) == FRONTEND, path
    backends = {
        entry["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for entry in rule["http"]["paths"]
    }
    assert backends == {FRONTEND}


@pytest.mark.parametrize("platform", ["openfaas", "knative"])
def test_ui_server_reaches_the_gateway_and_notify_of_the_release(platform: str) -> None:
    env = {e["name"]: e for e in _frontend(render({"platform": platform}))["env"]}
    gateway = {
        "openfaas": "http://gateway.openfaas.svc.cluster.local:8080",
        "knative": f"http://{FULLNAME}-gateway:8080",
    }[platform]

    assert env["GATEWAY_URL"]["value"] == gateway
    assert env["NOTIFY_URL"]["value"] == f"http://{FULLNAME}-notify:8080"
    assert env["FRONTEND_PORT"]["value"] == "8080"
    assert not {"GATEWAY_UPSTREAM", "NOTIFY_UPSTREAM"} & set(env)


@pytest.mark.parametrize(
    ("values", "secret"),
    [({}, f"{FULLNAME}-secrets"), ({"existingSecret": "orders-credentials"}, "orders-credentials")],
)
def test_ui_server_reads_the_notify_token_from_the_release_secret_only(
    values: dict[str, Any], secret: str
) -> None:
    documents = render(values)
    pod = of_kind(documents, "Deployment")[FRONTEND]["spec"]["template"]["spec"]
    container = _frontend(documents)
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]

    assert volume["secret"]["secretName"] == secret
    # The admin password is the operator's to type at each sign-in: the UI server holds none.
    assert [item["key"] for item in volume["secret"]["items"]] == ["notify-token"]
    assert mount == {"name": volume["name"], "mountPath": str(OPENFAAS_SECRETS), "readOnly": True}
    assert not [e for e in container["env"] if "TOKEN" in e["name"] or "PASSWORD" in e["name"]]
    if not values:
        assert "notify-token" in of_kind(documents, "Secret")[secret]["data"]


def test_ui_server_runs_read_only_as_a_non_root_user() -> None:
    documents = render({})
    pod = of_kind(documents, "Deployment")[FRONTEND]["spec"]["template"]["spec"]
    container = _frontend(documents)

    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_more_than_one_ui_server_is_refused_as_sessions_live_in_its_memory() -> None:
    chart = helm_python.Chart.load(CHART_DIR)

    with pytest.raises(HelmRenderError, match="sessions in memory; run one replica"):
        chart.render({"frontend": {"replicas": 2}}, name="orders", namespace=NAMESPACE)


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", expression
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _peer_matches(peer: dict[str, Any], pod: dict[str, Any], policy_namespace: str) -> bool:
    namespace_labels = {"kubernetes.io/metadata.name": pod["namespace"]}
    if "namespaceSelector" in peer:
        in_namespace = _selects(peer["namespaceSelector"], namespace_labels)
    else:
        in_namespace = pod["namespace"] == policy_namespace
    pods = _selects(peer["podSelector"], pod["labels"]) if "podSelector" in peer else True
    return in_namespace and pods


def _rule_allows(rule: dict[str, Any], key: str, peer: dict[str, Any], port: int) -> bool:
    # A rule without `from` (`to`) admits every peer.
    peers = rule.get(key)
    peers_ok = peers is None or any(_peer_matches(p, peer, NAMESPACE) for p in peers)
    ports = rule.get("ports")
    return peers_ok and (not ports or any(p["port"] == port for p in ports))


def _allowed(
    policies: list[dict[str, Any]], source: dict[str, Any], target: dict[str, Any], port: int
) -> bool:
    """Whether the release's NetworkPolicies let `source` open `port` on `target`."""
    for direction, pod, peer, key in (
        ("Ingress", target, source, "from"),
        ("Egress", source, target, "to"),
    ):
        selecting = [
            p["spec"]
            for p in policies
            if pod["namespace"] == NAMESPACE
            and direction in p["spec"]["policyTypes"]
            and _selects(p["spec"]["podSelector"], pod["labels"])
        ]
        rules = [r for spec in selecting for r in spec.get(direction.lower(), [])]
        if selecting and not any(_rule_allows(r, key, peer, port) for r in rules):
            return False
    return True


@pytest.mark.parametrize("platform", ["openfaas", "knative"])
def test_network_policies_let_browsers_in_only_through_the_ui_server(platform: str) -> None:
    policies = list(of_kind(render({"platform": platform}), "NetworkPolicy").values())
    controller = _pod("controller", INGRESS_NAMESPACE)
    ui, notify, facade = _pod("frontend"), _pod("notify"), _pod("gateway")
    openfaas_gateway = {"namespace": "openfaas", "labels": {"app": "gateway"}}

    assert _allowed(policies, controller, ui, 8080)
    assert not _allowed(policies, controller, notify, 8080)
    assert _allowed(policies, ui, notify, 8080)
    # Any other pod of the namespace, or another namespace, opens no feed.
    assert not _allowed(policies, _pod("connector"), notify, 8080)
    assert not _allowed(policies, _pod("anything", "default"), notify, 8080)
    assert not _allowed(policies, _pod("anything", "default"), ui, 8080)
    # The UI server reaches the gateway (and DNS), and nothing else: no database.
    if platform == "knative":
        assert not _allowed(policies, controller, facade, 8080)
        assert _allowed(policies, ui, facade, 8080)
        assert _allowed(policies, _pod("connector"), facade, 8080)
        assert _allowed(policies, _pod("cron-connector"), facade, 8080)
    else:
        assert _allowed(policies, ui, openfaas_gateway, 8080)
    assert _allowed(policies, ui, {"namespace": "kube-system", "labels": {}}, 53)
    assert not _allowed(policies, ui, _pod("redis"), 6379)
    assert not _allowed(policies, ui, _pod("mongodb"), 27017)
    assert not _allowed(policies, ui, {"namespace": "elsewhere", "labels": {}}, 443)


def test_knative_facade_answers_the_sign_in_check_through_the_operator_function() -> None:
    config = of_kind(render({"platform": "knative"}), "ConfigMap")[f"{FULLNAME}-gateway"]["data"][
        "default.conf.template"
    ]
    info = config[config.index("location = /system/info") :]
    check = config[config.index("location = /_operator-check") :]

    assert "auth_request /_operator-check;" in info.split("}", 1)[0]
    assert "internal;" in check.split("}", 1)[0]
    assert f"ops-summary.{NAMESPACE}.svc.cluster.local" in check.split("}", 1)[0]
