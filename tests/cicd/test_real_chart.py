"""scripts/deploy.sh lint and template with the real Helm 3 and Helm 4 on the real chart
(deploy/helm/api): offline, no cluster. Proves that the values the CD sets (api.ingress.host,
api/worker image repository and tag) are keys the chart accepts and renders where they belong,
and that the port-forward fallback's default target (svc/api port 8000) exists."""

from __future__ import annotations

import base64
import subprocess

import pytest
import yaml

import cicd_support as cs
import scenarios as sc


def deploy(tmp_path, major, *args):
    helm = cs.helm(major)
    if helm is None:
        pytest.fail(cs.missing_tool(f"Helm {major}", "tools/bin/helm (4) and tools/bin/helm3"))
    env = cs.clean_env({"HELM": str(helm), "HELM_CACHE_HOME": str(tmp_path / "cache"),
                        "HELM_CONFIG_HOME": str(tmp_path / "config"),
                        "HELM_DATA_HOME": str(tmp_path / "data")})
    proc = subprocess.run(["bash", "scripts/deploy.sh", *args, "--out", str(tmp_path / "out")],
                          cwd=cs.REPO, env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


CD_VALUES = ["--host", sc.HOST, "--registry", sc.REGISTRY, "--image-tag", sc.TAG]


@pytest.mark.parametrize("major", [3, 4])
def test_lint_with_cd_values(tmp_path, major):
    rc, out = deploy(tmp_path, major, "lint", *CD_VALUES)
    assert rc == 0, out
    assert "1 chart(s) linted, 0 chart(s) failed" in out


@pytest.mark.parametrize("major", [3, 4])
def test_prod_values_lint_with_a_version_tag(tmp_path, major):
    rc, out = deploy(tmp_path, major, "lint", "--env", "prod", "--image-tag", "v0.1.0")
    assert rc == 0, out


@pytest.mark.parametrize("major", [3, 4])
def test_template_renders_the_cd_values_where_they_belong(tmp_path, major):
    rc, out = deploy(tmp_path, major, "template", *CD_VALUES)
    assert rc == 0, out
    docs = [d for d in yaml.safe_load_all((tmp_path / "out" / "rendered-app.yaml").read_text()) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d

    def image(deployment):
        containers = by_kind["Deployment"][deployment]["spec"]["template"]["spec"]["containers"]
        return containers[0]["image"]

    assert image("api") == f"{sc.REGISTRY}/october-api:{sc.TAG}"
    assert image("worker") == f"{sc.REGISTRY}/october-worker:{sc.TAG}"
    hosts = [r["host"] for ing in by_kind["Ingress"].values() for r in ing["spec"]["rules"]]
    assert hosts == [sc.HOST]
    api_service = by_kind["Service"]["api"]
    assert 8000 in [p["port"] for p in api_service["spec"]["ports"]], "port-forward svc/api :8000"
    assert all(d["metadata"].get("namespace") in (None, "october") for d in docs)
    # The preview goes to CI logs: no Secret value may be readable in it.
    for secret in by_kind.get("Secret", {}).values():
        for key, value in (secret.get("data") or {}).items():
            assert value == "<redacted>", key
    for url in ("redis://redis:6379/0", "redis://redis:6379/1"):
        assert base64.b64encode(url.encode()).decode() not in out
