"""Every rendered object, in every scenario, validated offline against the API of the oldest
Kubernetes minor the chart supports (Chart.yaml kubeVersion) and of the newest one with published
schemas, as listed under "octoberKubernetes" in tools/package.json: served apiVersion/kind
(@kubernetes/client-node of that release), schema (kubernetes-models of that release, plus the
Prometheus operator, KEDA, Gateway API (HTTPRoute) and cert-manager (Certificate) CRD models)
and, with TypeScript, unknown fields. Negative fixtures prove
the validator catches each kind of error on every version: a typo'd field, replicas: "two", a
nested typo, a bad enum, a bad quantity, a missing required field, an unknown kind, a typo in a
CRD, an API removed before the oldest version; and that the versions differ: a field the oldest
does not have yet, APIs the newest no longer serves. Mutated copies of the chart's own objects
too, and mislabelled tool packages."""

import copy
import json
import os
import re
import subprocess
import tempfile

import pytest
import yaml

import helmlib

helmlib.require_tools()

INVALID = sorted((helmlib.FIXTURES / "invalid-objects").glob("*.yaml"))
TOOLS_MANIFEST = json.loads((helmlib.TOOLS / "package.json").read_text())
VERSIONS = sorted(TOOLS_MANIFEST["octoberKubernetes"], key=lambda v: tuple(map(int, v.split("."))))


def minor(text):
    return tuple(map(int, re.search(r"(\d+)\.(\d+)", text).groups()))


def tag(version):
    return f"[k8s {version}]"


def expectations(path):
    """{version: [texts]} from '# expect: TEXT' (every version) and '# expect[1.NN]: TEXT' lines."""
    wanted = {v: [] for v in VERSIONS}
    for only, text in re.findall(r"^# expect(?:\[([0-9.]+)\])?: (.+)$", path.read_text(), flags=re.M):
        assert not only or only in VERSIONS, f"{path.name}: {only} is not a validated version {VERSIONS}"
        for v in [only] if only else VERSIONS:
            wanted[v].append(text)
    return wanted


def on_every_version(path):
    return all(expectations(path).values())


@pytest.fixture(scope="module")
def scenarios():
    return helmlib.render_all()


FIXES = {
    "deployment-field-typo": lambda d: d["spec"].update(selector=d["spec"].pop("selectr")),
    "deployment-replicas-string": lambda d: d["spec"].update(replicas=2),
    "container-nested-typo": lambda d: d["spec"]["containers"][0].update(
        securityContext={"readOnlyRootFilesystem": True}),
    "service-bad-enum": lambda d: d["spec"].update(type="ClusterIP"),
    "container-bad-quantity": lambda d: d["spec"]["containers"][0]["resources"]["limits"].update(cpu="1"),
    "container-missing-name": lambda d: d["spec"]["containers"][0].update(name="required"),
    "unknown-kind": lambda d: d.update(kind="Deployment", spec={
        "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}),
    "servicemonitor-typo": lambda d: d["spec"].update(endpoints=d["spec"].pop("endpoint")),
    "hpa-wrong-type": lambda d: d["spec"].update(maxReplicas=5),
    "networkpolicy-typo": lambda d: d["spec"].update(policyTypes=d["spec"].pop("policyType")),
    "hpa-removed-v2beta2": lambda d: d.update(apiVersion="autoscaling/v2"),
}
# Fixtures refused on one version only need no fix: they must pass on the others as they are.
FIXABLE = [p for p in INVALID if on_every_version(p)]


def test_versions_are_the_oldest_claimed_and_the_newest():
    """The oldest validated version is the lower bound of the chart's kubeVersion and the newest is
    the last minor below its upper bound (the chart claims exactly what is validated); the newest
    is no older than the kubectl the tools ship (the newest release the project works with)."""
    chart = yaml.safe_load((helmlib.CHART / "Chart.yaml").read_text())
    bounds = re.fullmatch(r">=\s*(\d+\.\d+)(?:\.\d+)?(?:-0)?\s+<\s*(\d+\.\d+)(?:\.0)?(?:-0)?", chart["kubeVersion"])
    assert bounds, f"kubeVersion {chart['kubeVersion']!r} must be '>=1.A.0-0 <1.B.0-0'"
    assert minor(VERSIONS[0]) == minor(bounds.group(1)), (VERSIONS, chart["kubeVersion"])
    below = minor(bounds.group(2))
    assert minor(VERSIONS[-1]) == (below[0], below[1] - 1), (VERSIONS, chart["kubeVersion"])
    kubectl = TOOLS_MANIFEST["octoberBinaries"]["kubectl"]["version_output"]
    assert len(VERSIONS) >= 2 and minor(VERSIONS[-1]) >= minor(kubectl), (VERSIONS, kubectl)


@pytest.fixture(scope="module")
def valid_run(scenarios):
    """One validator run over everything that must pass: every rendered object of every scenario,
    and the negative fixtures with their one error fixed."""
    entries = [{"source": f"{name}:{source}", "object": obj}
               for name, rendered in scenarios.items() for source, obj in rendered]
    for path in FIXABLE:
        doc = yaml.safe_load(path.read_text())
        FIXES[path.stem](doc)
        entries.append({"source": f"fixed:{path.stem}", "object": doc})
    return entries, helmlib.validate_objects(entries)


def test_every_rendered_object_is_valid(valid_run):
    entries, result = valid_run
    kinds = {e["object"]["kind"] for e in entries if not e["source"].startswith("fixed:")}
    # The scenarios between them render every kind the chart has.
    assert kinds >= {"Deployment", "Service", "ConfigMap", "Secret", "Ingress", "HorizontalPodAutoscaler",
                     "PodDisruptionBudget", "NetworkPolicy", "ServiceAccount", "PersistentVolumeClaim",
                     "ServiceMonitor", "PrometheusRule", "ScaledObject", "Pod", "HTTPRoute", "Certificate"}, kinds
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(entries)} object(s) valid" in result.stdout
    for v in VERSIONS:
        assert f" {v} (kubernetes-models " in result.stdout, result.stdout


def test_validator_accepts_the_fixtures_once_fixed(valid_run):
    """The negative fixtures differ from valid objects only by their error: fixed, they pass."""
    assert set(FIXES) == {p.stem for p in FIXABLE}
    entries, result = valid_run
    assert sum(e["source"].startswith("fixed:") for e in entries) == len(FIXABLE)
    assert result.returncode == 0, result.stdout + result.stderr


def mutations(rendered):
    """Real objects of the chart, each broken one way: (name, object, expected message)."""
    api = copy.deepcopy(rendered.get("Deployment", "api"))
    api["spec"]["replicas"] = "two"
    yield "chart-api-replicas-two", api, "schema: /spec/replicas must be integer"
    service = copy.deepcopy(rendered.get("Service", "api"))
    service["spec"]["selectr"] = service["spec"].pop("selector")
    yield "chart-service-selectr", service, "spec.selectr: Object literal may only specify known properties"
    worker = copy.deepcopy(rendered.get("Deployment", "worker"))
    worker["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    yield "chart-worker-probe-typo", worker, \
        "spec.template.spec.containers[0].livenesProbe: Object literal may only specify known properties"
    rule = copy.deepcopy(helmlib.render_scenario("default+monitoring").get("PrometheusRule", "october"))
    rule["spec"]["groups"][0]["rules"][0]["fore"] = rule["spec"]["groups"][0]["rules"][0].pop("for")
    yield "chart-rule-for-typo", rule, "spec.groups[0].rules[0].fore: Object literal may only specify known properties"
    # The CRDs of the knobs scenario, against the Gateway API and cert-manager models.
    knobs = helmlib.render_scenario("knobs")
    route = copy.deepcopy(knobs.get("HTTPRoute", "api"))
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Prefix"
    yield "chart-route-path-type", route, "schema: /spec/rules/0/matches/0/path/type must be equal to one of the allowed values"
    route = copy.deepcopy(knobs.get("HTTPRoute", "api"))
    route["spec"]["parentRef"] = route["spec"].pop("parentRefs")
    yield "chart-route-parentref-typo", route, "spec.parentRef: Object literal may only specify known properties"
    cert = copy.deepcopy(knobs.get("Certificate", "api"))
    del cert["spec"]["issuerRef"]["name"]
    yield "chart-cert-issuer-unnamed", cert, "schema: /spec/issuerRef must have required property name"
    cert = copy.deepcopy(knobs.get("Certificate", "api"))
    cert["spec"]["dnsName"] = cert["spec"].pop("dnsNames")
    yield "chart-cert-dnsname-typo", cert, "spec.dnsName: Object literal may only specify known properties"


def test_validator_catches_every_negative_fixture(scenarios):
    entries, expected = [], {}
    for path in INVALID:
        wanted = expectations(path)
        assert any(wanted.values()), f"{path.name} has no '# expect:' line"
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for doc in docs:
            entries.append({"source": path.stem, "object": doc})
        expected[path.stem] = wanted
    # Some fixtures must tell the versions apart: refused by the oldest only, by the newest only.
    assert any(w[VERSIONS[0]] and not w[VERSIONS[-1]] for w in expected.values())
    assert any(w[VERSIONS[-1]] and not w[VERSIONS[0]] for w in expected.values())
    for name, obj, message in mutations(scenarios["default"]):
        entries.append({"source": name, "object": obj})
        expected[name] = {v: [message] for v in VERSIONS}
    result = helmlib.validate_objects(entries)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    missing = []
    for source, wanted in expected.items():
        for v, texts in wanted.items():
            mine = [line for line in lines if line.startswith(f"{source} ") and f" {tag(v)} " in line]
            for text in texts:
                if not any(text in line for line in mine):
                    missing.append(f"{source} {tag(v)}: no problem reported containing {text!r}; got {mine}")
            if not texts and mine:
                missing.append(f"{source} {tag(v)}: valid on {v}, yet reported {mine}")
    assert not missing, "\n".join(missing) + "\n\nvalidator output:\n" + result.stdout
    # And nothing else: each fixture is broken exactly where it says, on the versions it says.
    sources = {line.split(" ", 1)[0] for line in lines if not line.startswith("k8s_validate:")}
    assert sources == set(expected), sources ^ set(expected)
    untagged = [line for line in lines if not line.startswith("k8s_validate:")
                and not any(f" {tag(v)} " in line for v in VERSIONS)]
    assert not untagged, untagged


def test_validator_refuses_mislabelled_tools():
    """The packages of each version are checked for the release they carry: a 1.27 client labelled
    1.28, and models of one release paired with the client of another, stop the run."""
    manifest = copy.deepcopy(TOOLS_MANIFEST)
    old, new = (TOOLS_MANIFEST["octoberKubernetes"][v] for v in (VERSIONS[0], VERSIONS[-1]))
    manifest["octoberKubernetes"] = {
        "1.28": old,
        VERSIONS[-1]: {"models": old["models"], "openapi": new["openapi"]},
    }
    with tempfile.TemporaryDirectory() as tools:
        with open(os.path.join(tools, "package.json"), "w") as f:
            json.dump(manifest, f)
        os.symlink(helmlib.TOOLS / "node_modules", os.path.join(tools, "node_modules"))
        objects = os.path.join(tools, "objects.json")
        with open(objects, "w") as f:
            json.dump([], f)
        result = subprocess.run([helmlib.NODE, str(helmlib.HERE / "k8s_validate.mjs"), tools, objects],
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"[k8s 1.28]: {old['openapi']} was generated from release-{VERSIONS[0]}, not release-1.28" \
        in result.stdout, result.stdout
    assert f"[k8s {VERSIONS[-1]}]: {old['models']} v1/PodSpec and {new['openapi']} V1PodSpec disagree" \
        in result.stdout, result.stdout
    assert "nothing validated" in result.stdout
