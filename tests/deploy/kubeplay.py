"""Runs the chart's rendered pod specs under Podman's Kubernetes runtime (`podman kube play`).

No Kubernetes API server can run here, so this harness stands in for the two parts of a node that
matter to a pod spec: the container runtime (Podman runs the containers with their command, args,
env, envFrom, securityContext and volumes as rendered) and the kubelet's probing and stopping
(Podman 4.3 turns probes into health checks that need curl or nc inside the image and only run
under systemd, so the harness runs the rendered startup, readiness and liveness probes itself,
with their ports, paths, periods and thresholds).

Networking: every pod runs with host networking inside a network namespace the test process made
for itself (see conftest.py), so the pods share one loopback, as containers of one node's host
network would, and nothing leaves it. Service names resolve through `hostAliases` to 127.0.0.1:
with no Service virtual IPs, a Service works here only where its port equals its target port,
which `Release` checks.

Everything the harness changes or adds is listed in VALUE_OVERRIDES and ADAPTATIONS; the rest of
the rendered pod specs is played as it is.

What kube play cannot show: Services as virtual IPs and load balancing, NetworkPolicy enforcement,
HPA, PDB, Ingress, ServiceMonitor/PrometheusRule, rolling-update ordering, fsGroup (Podman seeds a
new volume with the owner of the image's directory instead), emptyDir `medium: Memory` and
`sizeLimit` (Podman makes a disk volume), resource limits are applied by Podman's cgroups but not
asserted. docs/CI_CD.md says where each of those is covered.
"""

from __future__ import annotations

import copy
import errno
import functools
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "helm"))
import helmlib  # noqa: E402  (shared chart rendering of the offline chart tests)

CONTAINERS_CONF = ROOT / "tests" / "images" / "containers.conf"
IMAGE_TAG = os.environ.get("OCTOBER_DEPLOY_IMAGE_TAG", "deploytest")
# The Redis port of the release: not 6379. All pods share one loopback here, so a binary that fell
# back to its built-in default (redis://127.0.0.1:6379) would reach the chart's Redis by accident;
# on a cluster its own loopback holds no Redis. With another port that mistake fails as it would
# there.
REDIS_PORT = 6390

# Chart values the harness sets (on top of values-dev.yaml), each with its reason.
VALUE_OVERRIDES: dict[str, tuple[str, str]] = {
    "api.image.repository": ("localhost/october-api", "the image tests/images builds from the Dockerfile (no registry here)"),
    "api.image.tag": (IMAGE_TAG, "the tag tests/deploy/run.sh builds"),
    "worker.image.repository": ("localhost/october-worker", "as the api image"),
    "worker.image.tag": (IMAGE_TAG, "as the api image"),
    "redis.image.repository": ("docker.io/library/redis", "the Debian-built stand-in of docker/standin-base-images.sh"),
    "redis.image.tag": ("7-bookworm", "the stand-in's tag (the chart's 7.4.2-alpine cannot be pulled here)"),
    "tests.image.repository": ("localhost/october-standin-curl", "Debian-built stand-in of curlimages/curl (sh + curl)"),
    "tests.image.tag": ("bookworm", "the stand-in's tag"),
    "image.pullPolicy": ("IfNotPresent", "values-dev.yaml says Always, and no registry is reachable"),
    "redis.port": (str(REDIS_PORT), "see REDIS_PORT"),
    "secrets.CELERY_BROKER_URL": (f"redis://redis:{REDIS_PORT}/0", "the chart's default URL with REDIS_PORT"),
    "secrets.CELERY_RESULT_BACKEND": (f"redis://redis:{REDIS_PORT}/1", "the chart's default URL with REDIS_PORT"),
}

# What the harness does to the rendered objects, each with its reason.
ADAPTATIONS = {
    "hostNetwork: true": "pods share the test's private network namespace (its loopback only)",
    "hostAliases": "each Service name (short, .<ns>, .<ns>.svc, .<ns>.svc.cluster.local) -> 127.0.0.1",
    "/etc/hosts from the hostAliases, as a read-only hostPath mount": "what the kubelet writes for a "
                                                                    "pod; Podman 4.3 drops pod-level "
                                                                    "hostAliases from its containers' "
                                                                    "/etc/hosts",
    "emptyDir volumes renamed <pod>-<volume>": "Podman 4.3 makes a named volume of an emptyDir and "
                                               "shares it between pods using the same name; "
                                               "Kubernetes gives each pod its own",
    "containers' `ports` left out, probe ports as numbers": "with host networking Podman 4.3 turns "
                                                            "containerPort into a port mapping and refuses "
                                                            "the pod; the harness probes the rendered "
                                                            "spec's ports itself",
    "Secrets played as podman secrets": "a Secret document fails in Podman 4.3 ('not valid JSON'): "
                                         "`podman secret create` with the rendered data instead",
    "PersistentVolumeClaim played first, alone": "kube play refuses a claim whose volume exists, "
                                                 "and the pods need it on their first start",
    "only Deployments, ConfigMaps, the PVC and the test Pod are played": "kube play has no Services, "
                                                                        "NetworkPolicies, HPA, PDB, Ingress or ServiceAccounts",
}

# Mounts a container runtime provides to every container, on a cluster too (kubelet and
# containerd mount the same /etc files and /dev entries); any other writable mount must be one the
# chart declares.
RUNTIME_MOUNTS = {"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/dev/shm", "/sys", "/sys/fs/cgroup",
                  "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv"}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
VIRTUAL_FS = {"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue"}


class DeployCheckFailed(AssertionError):
    """A check of the running release failed; the message names the object and what broke."""


def podman(*args: str, check: bool = True, timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["podman", "--runtime", "runc", *args], capture_output=True, text=True,
                          timeout=timeout, input=input,
                          env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)})
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return proc


# Checks of the `helm test` pod whose endpoints reach the api in parts of issue 13: each is turned
# off only while the api image's --help lacks the setting that comes with its endpoint, so it runs
# as soon as the image has it, with no edit here. value -> (setting, why it is gated).
GATED_CHECKS: dict[str, tuple[str, str]] = {
    "tests.checks.cache": ("CACHE_MAX_VALUE_BYTES", "PUT/GET /cache/{key} land with CACHE_MAX_VALUE_BYTES"),
}


def override_values() -> dict[str, str]:
    return {key: value for key, (value, _) in VALUE_OVERRIDES.items()}


@functools.lru_cache(maxsize=1)
def gated_checks() -> dict[str, str]:
    """The GATED_CHECKS values to turn off for the api image at hand (printed, so a run says it)."""
    v = override_values()
    known = binary_settings(f"{v['api.image.repository']}:{v['api.image.tag']}")
    off = {value: "false" for value, (setting, _) in GATED_CHECKS.items() if setting not in known}
    for value in off:
        print(f"kubeplay: {value}=false: the api image's --help has no {GATED_CHECKS[value][0]} yet")
    return off


def images() -> list[str]:
    """The local images the overrides name."""
    v = override_values()
    return [f"{v[f'{part}.image.repository']}:{v[f'{part}.image.tag']}" for part in ("api", "worker", "redis", "tests")]


def render(sets: dict[str, str] | None = None) -> helmlib.Rendered:
    """values-dev.yaml plus VALUE_OVERRIDES plus `sets`, through the chart's own Helm 4."""
    values = {**override_values(), **gated_checks(), **(sets or {})}
    return helmlib.render(values=[helmlib.VALUES_DEV], sets=[f"{k}={v}" for k, v in values.items()])


def binary_settings(image: str) -> set[str]:
    """The environment variable names a binary reads, from its --help (run from its image)."""
    out = podman("run", "--rm", "--network", "host", "--health-interval", "disable", image, "--help").stdout
    return set(re.findall(r"^\s+env ([A-Z][A-Z0-9_]*)", out, re.M))


@dataclass
class Workload:
    """One Deployment of the release, as played: pod `<name>-pod-0`, one container per spec."""

    name: str
    deployment: dict
    containers: list[dict] = field(init=False)

    def __post_init__(self):
        self.containers = self.deployment["spec"]["template"]["spec"]["containers"]

    @property
    def pod(self) -> str:
        return f"{self.name}-pod-0"

    def container_name(self, container: dict) -> str:
        return f"{self.pod}-{container['name']}"

    @property
    def pod_spec(self) -> dict:
        return self.deployment["spec"]["template"]["spec"]


def service_aliases(rendered: helmlib.Rendered) -> list[str]:
    names = []
    for service in rendered.objects("Service"):
        name = service["metadata"]["name"]
        names += [name, f"{name}.{helmlib.NAMESPACE}", f"{name}.{helmlib.NAMESPACE}.svc",
                  f"{name}.{helmlib.NAMESPACE}.svc.cluster.local"]
    return names


def container_port(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return int(p["containerPort"])
    raise DeployCheckFailed(f"container {container['name']}: probe port '{port}' names no containerPort")


def adapt_pod_spec(owner: str, spec: dict, aliases: list[str], hosts_file: Path) -> None:
    """The harness's changes to one pod spec (ADAPTATIONS): in place."""
    spec["hostNetwork"] = True
    spec["hostAliases"] = [{"ip": "127.0.0.1", "hostnames": aliases}]
    spec.setdefault("volumes", []).append(
        {"name": f"{owner}-etc-hosts", "hostPath": {"path": str(hosts_file), "type": "File"}})
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        container.setdefault("volumeMounts", []).append(
            {"name": f"{owner}-etc-hosts", "mountPath": "/etc/hosts", "readOnly": True})
    renamed = {}
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume:
            renamed[volume["name"]] = volume["name"] = f"{owner}-{volume['name']}"
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])
        for kind in PROBES:
            handler = container.get(kind, {})
            for action in ("httpGet", "tcpSocket"):
                if action in handler:
                    handler[action]["port"] = container_port(container, handler[action]["port"])
        container.pop("ports", None)


class Release:
    """The release `app` in namespace `october`, played under Podman from one rendering."""

    def __init__(self, rendered: helmlib.Rendered, workdir: Path, log=print):
        self.rendered = rendered
        self.workdir = workdir
        self.log = log
        self.aliases = service_aliases(rendered)
        self.hosts_file = workdir / "hosts"
        self.hosts_file.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost\n"
                                   + "".join(f"127.0.0.1\t{name}\n" for name in self.aliases))
        self.check_services()
        self.secrets = rendered.objects("Secret")
        self.config_maps = rendered.objects("ConfigMap")
        self.claims = rendered.objects("PersistentVolumeClaim")
        self.workloads: dict[str, Workload] = {}
        for deployment in rendered.objects("Deployment"):
            played = copy.deepcopy(deployment)
            adapt_pod_spec(deployment["metadata"]["name"], played["spec"]["template"]["spec"],
                           self.aliases, self.hosts_file)
            self.workloads[deployment["metadata"]["name"]] = Workload(deployment["metadata"]["name"], played)
        tests = [p for p in rendered.objects("Pod")
                 if p["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
        if len(tests) != 1:
            raise DeployCheckFailed(f"expected one `helm test` pod in the chart, found {len(tests)}")
        self.test_pod = copy.deepcopy(tests[0])
        adapt_pod_spec(self.test_pod["metadata"]["name"], self.test_pod["spec"], self.aliases, self.hosts_file)
        self.volumes: set[str] = set()

    # ---- objects -----------------------------------------------------------------------------
    def check_services(self) -> None:
        """Each Service must select a Deployment's pods and expose the port its target listens on
        (there are no virtual IPs here: a client reaches `<service>:<port>` on the pod itself)."""
        deployments = self.rendered.objects("Deployment")
        for service in self.rendered.objects("Service"):
            name = service["metadata"]["name"]
            selected = [d for d in deployments
                        if helmlib.labels_match(service["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])]
            if not selected:
                raise DeployCheckFailed(f"Service {name} selects no Deployment's pods")
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                resolved = {container_port(c, target) for d in selected for c in helmlib.containers(d["spec"]["template"]["spec"])
                            if isinstance(target, int) or any(p.get("name") == target for p in c.get("ports", []))}
                if resolved != {int(port["port"])}:
                    raise DeployCheckFailed(f"Service {name} port {port['port']} targets {target} -> {sorted(resolved)}: "
                                            "this harness needs port == targetPort (no Service VIPs)")

    def write(self, name: str, docs: list[dict]) -> Path:
        path = self.workdir / name
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        return path

    # ---- lifecycle ---------------------------------------------------------------------------
    def create_secrets(self) -> None:
        """app-secret (envFrom) and api-jwt (secretKeyRef) as podman secrets of the same name."""
        for secret in self.secrets:
            name = secret["metadata"]["name"]
            podman("secret", "rm", name, check=False)
            podman("secret", "create", name, "-", input=json.dumps(secret.get("data", {})))

    def up(self, only: list[str] | None = None) -> None:
        """Plays the claims (first, alone), the ConfigMaps and the Deployments (all, or `only`)."""
        self.create_secrets()
        for claim in self.claims:
            name = claim["metadata"]["name"]
            if name not in self.volumes:
                podman("volume", "rm", "-f", name, check=False)
                podman("kube", "play", str(self.write(f"claim-{name}.yaml", [claim])))
                self.volumes.add(name)
        names = only or list(self.workloads)
        path = self.write(f"play-{'-'.join(names)}.yaml",
                          self.config_maps + [self.workloads[n].deployment for n in names])
        self.log(f"kube play {path.name}")
        podman("kube", "play", "--replace", str(path))

    def down(self) -> None:
        for workload in self.workloads.values():
            podman("pod", "rm", "-f", "-t", "2", workload.pod, check=False)
        podman("pod", "rm", "-f", "-t", "0", f"{self.test_pod['metadata']['name']}", check=False)
        for spec in [w.pod_spec for w in self.workloads.values()] + [self.test_pod["spec"]]:
            for volume in spec.get("volumes", []):
                if "emptyDir" in volume:
                    podman("volume", "rm", "-f", volume["name"], check=False)
        for name in self.volumes:
            podman("volume", "rm", "-f", name, check=False)
        for secret in self.secrets:
            podman("secret", "rm", secret["metadata"]["name"], check=False)

    # ---- container state ---------------------------------------------------------------------
    def inspect(self, container: str) -> dict:
        out = podman("container", "inspect", container, check=False)
        if out.returncode != 0:
            raise DeployCheckFailed(f"container {container} does not exist: {out.stderr.strip()}")
        return json.loads(out.stdout)[0]

    def logs(self, container: str, lines: int = 15) -> str:
        out = podman("logs", "--tail", str(lines), container, check=False)
        return (out.stdout + out.stderr).strip()

    def pid(self, container: str) -> int:
        self.check_running(container)
        return int(self.inspect(container)["State"]["Pid"])

    # ---- the kubelet's probes ----------------------------------------------------------------
    def probe(self, workload: Workload, container: dict, kind: str) -> tuple[bool, str]:
        """Runs the container's `kind` probe once: (passed, what it saw)."""
        spec = container.get(kind)
        if spec is None:
            return True, "no probe"
        timeout = spec.get("timeoutSeconds", 1)
        if "httpGet" in spec:
            get = spec["httpGet"]
            port = container_port(container, get["port"])
            url = f"http://127.0.0.1:{port}{get.get('path', '/')}"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    return 200 <= resp.status < 400, f"GET {get.get('path')} on port {port}: {resp.status}"
            except urllib.error.HTTPError as exc:
                seen = f"GET {get.get('path')} on port {port}: {exc.code} {exc.read()[:200]!r}"
                if exc.code == 404:
                    # The path is not a route of the binary: no retry can pass.
                    raise DeployCheckFailed(f"{workload.name}/{container['name']} {kind}: {seen} (no such route)")
                return False, seen
            except OSError as exc:
                return False, f"GET {get.get('path')} on port {port}: {exc}"
        if "tcpSocket" in spec:
            port = container_port(container, spec["tcpSocket"]["port"])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
                return True, f"tcp {port}: open"
            except OSError as exc:
                return False, f"tcp {port}: {exc}"
        if "exec" in spec:
            try:
                out = podman("exec", workload.container_name(container), *spec["exec"]["command"],
                             check=False, timeout=timeout + 5)
            except subprocess.TimeoutExpired:
                return False, f"exec {spec['exec']['command']}: timed out"
            return out.returncode == 0, f"exec {spec['exec']['command']}: exit {out.returncode} {out.stdout.strip()[:200]}"
        raise DeployCheckFailed(f"{workload.name}/{container['name']} {kind}: no handler the harness knows")

    def wait_ready(self, *names: str) -> dict[str, float]:
        """Every container of the `names` (default: all) passes its startup probe within the
        probe's budget (initialDelaySeconds + periodSeconds x failureThreshold), then its
        readiness and liveness probes within the same budget, all probed side by side as a kubelet
        does. Returns the seconds each workload took. A container that exits or restarts on the
        way fails at once, with its last log lines: that is the cause, not the probes of the pods
        waiting for it."""
        started = time.monotonic()
        pending = {}  # container name -> [workload, container, probes left, deadline, budget, last]
        for name in names or self.workloads:
            workload = self.workloads[name]
            for container in workload.containers:
                startup = container.get("startupProbe") or {}
                budget = (startup.get("initialDelaySeconds", 0)
                          + startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3))
                pending[workload.container_name(container)] = [workload, container, list(PROBES),
                                                               started + budget, budget, ""]
        took: dict[str, float] = {}
        while pending:
            for cname, entry in list(pending.items()):
                workload, container, probes, deadline, budget, _ = entry
                self.check_running(cname)
                passed, entry[5] = self.probe(workload, container, probes[0])
                if passed:
                    probes.pop(0)
                    if not probes:
                        del pending[cname]
                        took[workload.name] = time.monotonic() - started
                        self.log(f"{workload.name}: started, ready and live in {took[workload.name]:.1f} s")
            for cname, (workload, container, probes, deadline, budget, last) in pending.items():
                if time.monotonic() > deadline:
                    raise DeployCheckFailed(f"{workload.name}/{container['name']}: {probes[0]} did not pass "
                                            f"within the startup budget of {budget} s; last: {last}\n{self.logs(cname)}")
            time.sleep(0.25)
        return took

    def check_running(self, container: str) -> None:
        state = self.inspect(container)
        if not state["State"].get("Running") or state.get("RestartCount", 0):
            raise DeployCheckFailed(f"{container} is not running (exit code {state['State'].get('ExitCode')}, "
                                    f"restarts {state.get('RestartCount', 0)}):\n{self.logs(container)}")

    # ---- the helm test pod -------------------------------------------------------------------
    def helm_test(self, timeout: float | None = None) -> tuple[int, str]:
        """Plays the chart's `helm test` pod and waits for it to end: (exit code, its log)."""
        name = self.test_pod["metadata"]["name"]
        podman("pod", "rm", "-f", "-t", "0", f"{name}", check=False)
        path = self.write("helm-test.yaml", [self.test_pod])
        podman("kube", "play", str(path))
        container = f"{name}-{self.test_pod['spec']['containers'][0]['name']}"
        limit = timeout or self.test_pod["spec"].get("activeDeadlineSeconds", 300)
        out = podman("wait", container, timeout=limit + 10, check=False)
        code = int(out.stdout.strip() or -1)
        log = podman("logs", container, check=False)
        return code, (log.stdout + log.stderr).strip()

    def client(self, *curl_args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """curl from a container of the test pod's image, resolving names as the pods do."""
        image = self.test_pod["spec"]["containers"][0]["image"]
        return podman("run", "--rm", "--network", "host", "--health-interval", "disable",
                      "-v", f"{self.hosts_file}:/etc/hosts:ro", image, "-sS", "--max-time", "10",
                      *curl_args, timeout=timeout, check=False)

    def stop(self, name: str) -> tuple[float, int]:
        """Stops the pod of `name` as the kubelet does (SIGTERM, SIGKILL after the pod's
        terminationGracePeriodSeconds): (seconds it took, exit code of its first container)."""
        workload = self.workloads[name]
        grace = workload.pod_spec.get("terminationGracePeriodSeconds", 30)
        started = time.monotonic()
        podman("pod", "stop", "-t", str(grace), workload.pod, timeout=grace + 30)
        took = time.monotonic() - started
        state = self.inspect(workload.container_name(workload.containers[0]))["State"]
        return took, int(state["ExitCode"])

    # ---- inside the running containers -------------------------------------------------------
    def security_report(self, name: str) -> list[str]:
        """What the kernel says about each running container of `name`: the uid and gid the chart
        rendered, the restricted profile whatever the spec says (non-root, no capabilities, no
        privilege escalation, seccomp, read-only root), and exactly the writable mounts the spec
        declares. Returns the problems."""
        workload = self.workloads[name]
        pod_ctx = workload.pod_spec.get("securityContext", {})
        problems = []
        for container in workload.containers:
            cname = workload.container_name(container)
            ctx = {**pod_ctx, **container.get("securityContext", {})}
            pid = self.pid(cname)
            status = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
            uids, gids = status["Uid"].split(), status["Gid"].split()
            if "runAsUser" in ctx and set(uids) != {str(ctx["runAsUser"])}:
                problems.append(f"{cname}: uids {uids}, chart says runAsUser {ctx['runAsUser']}")
            if "runAsGroup" in ctx and set(gids) != {str(ctx["runAsGroup"])}:
                problems.append(f"{cname}: gids {gids}, chart says runAsGroup {ctx['runAsGroup']}")
            # The restricted Pod Security Standard, whatever the spec says: these must hold.
            if "0" in uids or "0" in gids:
                problems.append(f"{cname}: runs as root (uids {uids}, gids {gids})")
            for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                if int(status[cap], 16) != 0:
                    problems.append(f"{cname}: {cap} is {status[cap]}, not empty")
            if status.get("NoNewPrivs", "").strip() != "1":
                problems.append(f"{cname}: NoNewPrivs is {status.get('NoNewPrivs')}: privilege escalation possible")
            if status.get("Seccomp", "").strip() != "2":
                problems.append(f"{cname}: seccomp mode {status.get('Seccomp')}, not a filter (RuntimeDefault)")
            problems += self.mount_problems(cname, pid, container, int(uids[1]), int(gids[1]))
        return problems

    def mount_problems(self, cname: str, pid: int, container: dict, uid: int, gid: int) -> list[str]:
        problems = []
        declared = {m["mountPath"] for m in container.get("volumeMounts", []) if not m.get("readOnly")}
        writable, root_ro = set(), None
        for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines():
            fields = line.split()
            mount_point, options = fields[4], fields[5].split(",")
            fstype = fields[fields.index("-") + 1]
            if mount_point == "/":
                root_ro = "ro" in options
            elif "rw" in options and fstype not in VIRTUAL_FS and mount_point not in RUNTIME_MOUNTS \
                    and not mount_point.startswith(("/proc/", "/sys/", "/dev/")):
                writable.add(mount_point)
        if not root_ro:
            problems.append(f"{cname}: root filesystem is mounted read-write")
        for path in ("/", "/etc", "/usr", "/var"):
            err = try_write(pid, path, uid, gid)
            if err != errno.EROFS:
                problems.append(f"{cname}: writing in {path} gave {describe(err)}, not EROFS")
        if writable != declared:
            problems.append(f"{cname}: writable mounts {sorted(writable)}, chart declares {sorted(declared)}")
        for path in sorted(declared):
            err = try_write(pid, path, uid, gid)
            if err is not None:
                problems.append(f"{cname}: declared writable mount {path} refuses a write: {describe(err)}")
        return problems


def check_settings_read(release: "Release") -> None:
    """Every variable the chart hands a container (env, and each key of the ConfigMaps and Secrets
    it takes with envFrom) is one its binary reads, by the binary's own --help: a misspelt key
    would otherwise be ignored and the built-in default used."""
    cache: dict[str, set[str]] = {}
    for workload in release.workloads.values():
        for container in workload.containers:
            if not container["image"].startswith("localhost/october-"):
                continue  # Redis takes its settings as args, not from the environment
            known = cache.setdefault(container["image"], binary_settings(container["image"]))
            given = {e["name"]: "env" for e in container.get("env", [])}
            for source in container.get("envFrom", []):
                for ref, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    if ref in source:
                        obj = release.rendered.find(kind, source[ref]["name"])
                        if obj is None:
                            raise DeployCheckFailed(f"{workload.name}: envFrom names {kind} {source[ref]['name']}, "
                                                    "which the chart does not render")
                        given.update({key: f"{kind} {source[ref]['name']}" for key in obj.get("data", {})})
            unread = sorted(f"{where} key {key}" for key, where in given.items() if key not in known)
            if unread:
                raise DeployCheckFailed(f"{workload.name}: {', '.join(unread)} not read by "
                                        f"{container['image']} (its --help lists {sorted(known)})")


def verify(release: "Release") -> None:
    """The whole check of a release, in the order a deploy meets it: settings read, every pod
    started and ready in its budget, the helm test pod passing, the security contexts holding."""
    check_settings_read(release)
    release.up()
    release.wait_ready()
    code, log = release.helm_test()
    if code != 0:
        raise DeployCheckFailed(f"helm test pod exited {code}:\n{log}")
    problems = [p for name in release.workloads for p in release.security_report(name)]
    if problems:
        raise DeployCheckFailed("security context not as rendered:\n" + "\n".join(problems))


def try_write(pid: int, directory: str, uid: int, gid: int) -> int | None:
    """Creates and removes a file in `directory` as the container's user sees it: a child process
    with the container's uid and gid goes through /proc/<pid>/root, so the container's mounts and
    their flags apply. None, or the errno the write failed with."""
    target = f"/proc/{pid}/root{directory.rstrip('/')}/.october-deploy-write-test"
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(target)
        except OSError as exc:
            code = exc.errno or 255
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    return code or None


def describe(err: int | None) -> str:
    return "success" if err is None else errno.errorcode.get(err, str(err))


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)
