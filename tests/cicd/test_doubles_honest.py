"""Keeps the helm/kubectl doubles honest: every command line a scenario expects (scenarios.py)
is handed to the real Helm 3, Helm 4 and kubectl binaries, which must accept it.

No cluster exists here, so the real tools run against a kubeconfig that points at a closed
loopback port: a valid command line gets as far as "connection refused" (or, for `helm lint`
and `helm template`, which need no cluster, runs for real on the fixture chart and must succeed
when the double says it does), while a misspelled flag, a flag the Helm major does not have, or
a wrong number of arguments is a usage error. The detector itself is checked on known-bad
command lines, so this test cannot pass by never looking.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

import cicd_support as cs
import scenarios

USAGE_ERROR = re.compile(
    r"unknown (shorthand )?flag|unknown command|flag needs an argument|bad flag syntax|"
    r"invalid argument|requires (at least |exactly |at most )?\d+ arguments?|"
    r"accepts (at most |between )?\d+|See '[^']*--help' for usage|"
    r"^Usage:", re.IGNORECASE | re.MULTILINE)

DEAD_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: none
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
contexts:
- name: none
  context: {cluster: none, user: none, namespace: october}
current-context: none
users:
- name: none
  user: {token: not-a-real-token}
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    home = tmp_path_factory.mktemp("real-tools-home")
    (home / "kubeconfig").write_text(DEAD_KUBECONFIG)
    env = cs.clean_env({
        "HOME": str(home), "KUBECONFIG": str(home / "kubeconfig"),
        "HELM_CACHE_HOME": str(home / "helm-cache"), "HELM_CONFIG_HOME": str(home / "helm-config"),
        "HELM_DATA_HOME": str(home / "helm-data"), "NO_PROXY": "*", "no_proxy": "*"})
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    return env


def require(path, what, hint):
    if path is None:
        pytest.fail(cs.missing_tool(what, hint))
    return path


@pytest.fixture(scope="module")
def real_helm():
    return {3: require(cs.helm(3), "Helm 3 (tools/bin/helm3)", "OCTOBER_HELM3_BIN or tools/bin/helm3"),
            4: require(cs.helm(4), "Helm 4 (tools/bin/helm)", "OCTOBER_HELM_BIN or tools/bin/helm")}


@pytest.fixture(scope="module")
def real_kubectl():
    return require(cs.kubectl(), "kubectl",
                   "OCTOBER_KUBECTL_BIN, tools/bin/kubectl (kubectl/kubectl of the same layer.zip "
                   "as Helm) or kubectl on PATH")


def run_real(binary, argv, env):
    proc = subprocess.run([str(binary), *argv], cwd=cs.REPO, env=env, capture_output=True,
                          text=True, timeout=90)
    return proc.returncode, proc.stdout + proc.stderr


def expected_calls(tool, major=None):
    """Distinct (argv, double's exit status) of `tool` over every scenario."""
    seen = {}
    for _label, script in scenarios.all_scripts():
        if major is not None and script.helm_major != major:
            continue
        for call in script.calls:
            if call["tool"] == tool:
                seen.setdefault(tuple(call["argv"]), call["exit"])
    assert seen, f"no {tool} calls in the scenarios?"
    return seen


@pytest.mark.parametrize("major", [3, 4])
def test_real_helm_is_the_major_the_double_claims(real_helm, sandbox, major):
    rc, out = run_real(real_helm[major], ["version", "--short"], sandbox)
    assert rc == 0, out
    assert re.fullmatch(rf"v{major}\.\d+\.\d+\+g[0-9a-f]+", out.strip()), out
    assert re.fullmatch(rf"v{major}\.\d+\.\d+\+g[0-9a-f]+", cs.HELM_VERSIONS[major])


@pytest.mark.parametrize("major", [3, 4])
def test_every_expected_helm_command_line_is_valid(real_helm, sandbox, major):
    problems = []
    calls = expected_calls("helm", major)
    for argv, double_exit in calls.items():
        rc, out = run_real(real_helm[major], list(argv), sandbox)
        if USAGE_ERROR.search(out):
            problems.append(f"helm{major} {' '.join(argv)}\n  -> usage error: {out.strip()[:300]}")
        elif argv[0] in ("lint", "template") and double_exit == 0 and rc != 0:
            problems.append(f"helm{major} {' '.join(argv)}\n  -> the double succeeds, the real "
                            f"tool fails (exit {rc}): {out.strip()[:300]}")
        elif argv[0] not in ("lint", "template", "version") and "127.0.0.1:1" not in out:
            problems.append(f"helm{major} {' '.join(argv)}\n  -> did not reach the (closed) API "
                            f"server: exit {rc}: {out.strip()[:300]}")
    assert not problems, "\n".join(problems)
    assert len(calls) >= 10


def test_every_expected_kubectl_command_line_is_valid(real_kubectl, sandbox):
    problems = []
    calls = expected_calls("kubectl")
    for argv in calls:
        rc, out = run_real(real_kubectl, list(argv), sandbox)
        if USAGE_ERROR.search(out):
            problems.append(f"kubectl {' '.join(argv)}\n  -> usage error: {out.strip()[:300]}")
        elif rc == 0 or "127.0.0.1:1" not in out:
            problems.append(f"kubectl {' '.join(argv)}\n  -> did not reach the (closed) API "
                            f"server: exit {rc}: {out.strip()[:300]}")
    assert not problems, "\n".join(problems)
    assert any("port-forward" in argv for argv in calls)
    assert any("logs" in argv for argv in calls)


@pytest.mark.parametrize("tool, argv", [
    ("helm3", ["upgrade", "--install", "app", cs.FIXTURE_CHART, "--rollback-on-failure"]),
    ("helm4", ["upgrade", "--install", "app", cs.FIXTURE_CHART, "--atomik"]),
    ("helm4", ["rollback"]),
    ("helm4", ["history", "app", "--max"]),
    ("kubectl", ["--namespace", "october", "get", "pods", "--bogus"]),
    ("kubectl", ["--namespace", "october", "port-forward", "--adress", "127.0.0.1", "svc/api",
                 ":8000"]),
])
def test_the_usage_error_detector_catches_bad_command_lines(real_helm, real_kubectl, sandbox,
                                                           tool, argv):
    binary = {"helm3": real_helm[3], "helm4": real_helm[4], "kubectl": real_kubectl}[tool]
    _rc, out = run_real(binary, argv, sandbox)
    assert USAGE_ERROR.search(out), f"{tool} {argv} was not recognised as a usage error:\n{out}"


def test_no_scenario_reaches_a_real_tool():
    """The doubles run from a directory first on PATH; the scenarios name only the doubles."""
    tools = {call["tool"] for _l, s in scenarios.all_scripts() for call in s.calls}
    assert tools <= {"helm", "kubectl", "smoke"}
    assert os.access(cs.FAKE_TOOL, os.R_OK)
