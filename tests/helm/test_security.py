"""Security assertions on every pod the chart can run (Deployments and the helm test pod, in every
scenario): the restricted Pod Security Standard (non-root, read-only root filesystem, no privilege
escalation, all capabilities dropped, seccomp RuntimeDefault, allowed volume types, no host
namespaces), resource requests and limits, probes, no service account token. A negative test
breaks a real pod one way at a time and proves the checker notices each."""

import copy

import pytest

import helmlib

helmlib.require_tools()

# Volume types the restricted profile allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                      "projected", "secret"}
# The two october images listen here; probes must use these real endpoints.
APP_PORTS = {"api": 8000, "worker": 8001}


def _effective(pod_sc, container_sc, key):
    return container_sc.get(key, pod_sc.get(key))


def pod_problems(label, meta, spec, long_running):
    problems = []
    pod_sc = spec.get("securityContext", {})
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            problems.append(f"{label}: {key} is on")
    if spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{label}: automountServiceAccountToken is not false")
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"{label}: volume {volume['name']} of type {kinds - RESTRICTED_VOLUMES}")
    for c in helmlib.containers(spec):
        where = f"{label} container {c['name']}"
        sc = c.get("securityContext", {})
        if _effective(pod_sc, sc, "runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if _effective(pod_sc, sc, "runAsUser") in (0, None):
            problems.append(f"{where}: runAsUser is root or unset")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            problems.append(f"{where}: privileged")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{where}: capabilities do not drop ALL")
        if caps.get("add"):
            problems.append(f"{where}: adds capabilities {caps['add']}")
        seccomp = _effective(pod_sc, sc, "seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{where}: seccompProfile is {seccomp.get('type')}, not RuntimeDefault")
        for port in c.get("ports", []):
            if port.get("hostPort"):
                problems.append(f"{where}: hostPort {port['hostPort']}")
        resources = c.get("resources", {})
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(section, {}):
                    problems.append(f"{where}: no {resource} {section[:-1] if section == 'limits' else 'request'}")
        image = c.get("image", "")
        if "@sha256:" not in image and (":" not in image.rsplit("/", 1)[-1] or image.endswith(":latest")):
            problems.append(f"{where}: image {image!r} has no pinned tag or digest")
        if long_running:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe not in c:
                    problems.append(f"{where}: no {probe}")
    return problems


def app_probe_problems(label, spec):
    """api and worker probe their real endpoints: /healthz (startup, liveness), /ready (readiness)."""
    problems = []
    for c in spec["containers"]:
        if c["name"] not in APP_PORTS:
            continue
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if ports.get("http") != APP_PORTS[c["name"]]:
            problems.append(f"{label}: port http is {ports.get('http')}, not {APP_PORTS[c['name']]}")
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/ready")):
            get = c.get(probe, {}).get("httpGet", {})
            if get.get("path") != path or get.get("port") != "http":
                problems.append(f"{label}: {probe} is {get}, want GET {path} on port http")
    return problems


@pytest.fixture(scope="module")
def scenarios():
    return helmlib.render_all()


@pytest.mark.parametrize("scenario", helmlib.SCENARIOS)
def test_every_pod_is_restricted_limited_and_probed(scenarios, scenario):
    rendered = scenarios[scenario]
    pods = helmlib.pod_templates(rendered)
    labels = {label for label, _, _ in pods}
    assert {"Deployment/api", "Deployment/worker", "Pod/api-smoke-test"} <= labels, labels
    problems = []
    for label, meta, spec in pods:
        problems += pod_problems(label, meta, spec, long_running=not label.startswith("Pod/"))
        problems += app_probe_problems(label, spec)
    assert not problems, "\n".join(problems)


def test_service_account_token_not_automounted(scenarios):
    sa = scenarios["default"].get("ServiceAccount", "october")
    assert sa["automountServiceAccountToken"] is False


BREAKAGES = {
    "runAsNonRoot": (lambda s: (s["securityContext"].pop("runAsNonRoot"),
                                s["containers"][0]["securityContext"].pop("runAsNonRoot")),
                     "runAsNonRoot is not true"),
    "root user": (lambda s: s["containers"][0]["securityContext"].update(runAsUser=0), "runAsUser is root"),
    "writable root": (lambda s: s["containers"][0]["securityContext"].pop("readOnlyRootFilesystem"),
                      "readOnlyRootFilesystem is not true"),
    "escalation": (lambda s: s["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
                   "allowPrivilegeEscalation is not false"),
    "privileged": (lambda s: s["containers"][0]["securityContext"].update(privileged=True), "privileged"),
    "capabilities kept": (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(drop=[]),
                          "do not drop ALL"),
    "capability added": (lambda s: s["containers"][0]["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
                         "adds capabilities"),
    "seccomp": (lambda s: (s["securityContext"].pop("seccompProfile"),
                           s["containers"][0]["securityContext"].update(seccompProfile={"type": "Unconfined"})),
                "not RuntimeDefault"),
    "hostPath": (lambda s: s["volumes"].append({"name": "host", "hostPath": {"path": "/"}}), "volume host"),
    "hostNetwork": (lambda s: s.update(hostNetwork=True), "hostNetwork is on"),
    "token": (lambda s: s.update(automountServiceAccountToken=True), "automountServiceAccountToken"),
    "no cpu limit": (lambda s: s["containers"][0]["resources"]["limits"].pop("cpu"), "no cpu limit"),
    "no memory request": (lambda s: s["containers"][0]["resources"]["requests"].pop("memory"),
                          "no memory request"),
    "latest": (lambda s: s["containers"][0].update(image="ghcr.io/o/october-api:latest"), "no pinned tag"),
    "no readiness": (lambda s: s["containers"][0].pop("readinessProbe"), "no readinessProbe"),
    "liveness on /": (lambda s: s["containers"][0]["livenessProbe"]["httpGet"].update(path="/"),
                      "livenessProbe is"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_checker_notices_each_breakage(scenarios, breakage):
    spec = copy.deepcopy(scenarios["default"].get("Deployment", "api")["spec"]["template"]["spec"])
    assert not pod_problems("api", {}, spec, True) + app_probe_problems("api", spec)
    breaker, message = BREAKAGES[breakage]
    breaker(spec)
    problems = pod_problems("api", {}, spec, True) + app_probe_problems("api", spec)
    assert any(message in p for p in problems), problems
