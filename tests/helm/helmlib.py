"""Shared helpers of the Helm chart tests: where the tools are, rendering, walking the objects.

The tools come from scripts/install-tools.sh (tools/bin/helm is Helm 4, tools/bin/helm3 Helm 3,
tools/node_modules holds the Kubernetes schema validator). No cluster is used: everything works on
`helm template` output.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHART = ROOT / "deploy" / "helm" / "api"
TOOLS = ROOT / "tools"
TOOLS_BIN = Path(os.environ.get("OCTOBER_TOOLS_BIN", TOOLS / "bin"))
HELM4 = TOOLS_BIN / "helm"
HELM3 = TOOLS_BIN / "helm3"
HELMS = {"helm4": HELM4, "helm3": HELM3}
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
NODE = shutil.which("node") or "/usr/bin/node"
FIXTURES = HERE / "fixtures"
VALUES_DEV = CHART / "values-dev.yaml"
VALUES_PROD = CHART / "values-prod.yaml"

RELEASE = "app"
NAMESPACE = "october"
MONITORING_API = "monitoring.coreos.com/v1"
KEDA_API = "keda.sh/v1alpha1"
GATEWAY_API = "gateway.networking.k8s.io/v1"
CERT_MANAGER_API = "cert-manager.io/v1"

# Renderings every test walks: the three values files of the chart, the same with the Prometheus
# operator's API present, and fixtures that turn on (or off) every optional part.
SCENARIOS: dict[str, dict] = {
    "default": {},
    "dev": {"values": [VALUES_DEV]},
    "prod": {"values": [VALUES_PROD]},
    "default+monitoring": {"api_versions": [MONITORING_API]},
    "prod+monitoring": {"values": [VALUES_PROD], "api_versions": [MONITORING_API]},
    "keda": {"values": [FIXTURES / "values" / "keda.yaml"], "api_versions": [MONITORING_API, KEDA_API]},
    "external": {"values": [FIXTURES / "values" / "external.yaml"], "api_versions": [MONITORING_API]},
    "minimal": {"values": [FIXTURES / "values" / "minimal.yaml"]},
    "knobs": {"values": [FIXTURES / "values" / "knobs.yaml"],
              "api_versions": [MONITORING_API, GATEWAY_API, CERT_MANAGER_API]},
}

NAMESPACED_KINDS = {
    "ConfigMap", "Secret", "Service", "ServiceAccount", "Deployment", "StatefulSet", "DaemonSet",
    "Job", "CronJob", "Pod", "PersistentVolumeClaim", "Ingress", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PrometheusRule", "ScaledObject",
    "Role", "RoleBinding", "HTTPRoute", "Certificate",
}
POD_OWNERS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def require_tools() -> None:
    missing = [str(p) for p in (HELM4, HELM3) if not os.access(p, os.X_OK)]
    if not (TOOLS / "node_modules" / "kubernetes-models").is_dir():
        missing.append(str(TOOLS / "node_modules" / "kubernetes-models"))
    if missing:
        pytest.fail(f"missing tools {missing}: run scripts/install-tools.sh", pytrace=False)


class Rendered(list):
    """The objects of one `helm template` run: a list of (source template, object)."""

    def objects(self, kind: str | None = None) -> list[dict]:
        return [o for _, o in self if kind is None or o.get("kind") == kind]

    def get(self, kind: str, name: str) -> dict:
        found = [o for o in self.objects(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]

    def find(self, kind: str, name: str) -> dict | None:
        found = [o for o in self.objects(kind) if o["metadata"]["name"] == name]
        return found[0] if found else None

    def names(self) -> set[tuple[str, str]]:
        return {(o["kind"], o["metadata"]["name"]) for o in self.objects()}


def helm_args(values=(), sets=(), api_versions=(), extra=()) -> list[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    for v in values:
        args += ["-f", str(v)]
    for s in sets:
        args += ["--set", s]
    for a in api_versions:
        args += ["--api-versions", a]
    return args + list(extra)


def run_helm(args: list[str], helm: Path = HELM4) -> subprocess.CompletedProcess:
    return subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "HELM_CACHE_HOME": str(Path(tempfile.gettempdir()) / "october-helm-cache"),
                               "HELM_CONFIG_HOME": str(Path(tempfile.gettempdir()) / "october-helm-config"),
                               "HELM_DATA_HOME": str(Path(tempfile.gettempdir()) / "october-helm-data")})


def parse(text: str) -> Rendered:
    rendered = Rendered()
    for chunk in re.split(r"^---\s*$", text, flags=re.M):
        match = re.search(r"^# Source: (\S+)", chunk, flags=re.M)
        obj = yaml.safe_load(chunk)
        if obj:
            rendered.append((match.group(1) if match else "?", obj))
    return rendered


def render(values=(), sets=(), api_versions=(), helm: Path = HELM4, extra=()) -> Rendered:
    result = run_helm(helm_args(values, sets, api_versions, extra), helm)
    assert result.returncode == 0, f"helm template failed:\n{result.stderr}"
    return parse(result.stdout)


def render_scenario(name: str, helm: Path = HELM4, sets=()) -> Rendered:
    spec = SCENARIOS[name]
    return render(spec.get("values", ()), [*spec.get("sets", ()), *sets], spec.get("api_versions", ()), helm)


def render_all(helm: Path = HELM4) -> dict[str, Rendered]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda n: (n, render_scenario(n, helm)), SCENARIOS)
    return dict(results)


def pod_templates(rendered: Rendered) -> list[tuple[str, dict, dict]]:
    """(label, pod metadata, pod spec) of every pod the objects would run, test hooks included."""
    pods = []
    for _, obj in rendered:
        kind, name = obj.get("kind"), obj["metadata"]["name"]
        if kind == "Pod":
            pods.append((f"Pod/{name}", obj["metadata"], obj["spec"]))
        elif kind in POD_OWNERS:
            template = obj["spec"]["template"]
            pods.append((f"{kind}/{name}", template.get("metadata", {}), template["spec"]))
        elif kind == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
            pods.append((f"CronJob/{name}", template.get("metadata", {}), template["spec"]))
    return pods


def containers(spec: dict) -> list[dict]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def decode_secret(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}


def labels_match(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def validate_objects(entries: list[dict]) -> subprocess.CompletedProcess:
    """Runs k8s_validate.mjs over [{"source", "object"}]."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(entries, f)
        path = f.name
    try:
        return subprocess.run([NODE, str(HERE / "k8s_validate.mjs"), str(TOOLS), path],
                              capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(path)
