"""Every rendered object, in every scenario, validated offline against the Kubernetes API schema
(kubernetes-models: Kubernetes 1.33 OpenAPI, Prometheus operator and KEDA CRDs) and type-checked
with TypeScript for unknown fields. Negative fixtures prove the validator catches each kind of
error: a typo'd field, replicas: "two", a nested typo, a bad enum, a bad quantity, a missing
required field, an unknown kind, a typo in a CRD; mutated copies of the chart's own objects too."""

import copy
import re

import pytest
import yaml

import helmlib

helmlib.require_tools()

INVALID = sorted((helmlib.FIXTURES / "invalid-objects").glob("*.yaml"))


def expectations(path):
    return re.findall(r"^# expect: (.+)$", path.read_text(), flags=re.M)


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
}


@pytest.fixture(scope="module")
def valid_run(scenarios):
    """One validator run over everything that must pass: every rendered object of every scenario,
    and the negative fixtures with their one error fixed."""
    entries = [{"source": f"{name}:{source}", "object": obj}
               for name, rendered in scenarios.items() for source, obj in rendered]
    for path in INVALID:
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
                     "ServiceMonitor", "PrometheusRule", "ScaledObject", "Pod"}, kinds
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(entries)} object(s) valid" in result.stdout


def test_validator_accepts_the_fixtures_once_fixed(valid_run):
    """The negative fixtures differ from valid objects only by their error: fixed, they pass."""
    assert set(FIXES) == {p.stem for p in INVALID}
    entries, result = valid_run
    assert sum(e["source"].startswith("fixed:") for e in entries) == len(INVALID)
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


def test_validator_catches_every_negative_fixture(scenarios):
    entries, expected = [], {}
    for path in INVALID:
        wanted = expectations(path)
        assert wanted, f"{path.name} has no '# expect:' line"
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        for doc in docs:
            entries.append({"source": path.stem, "object": doc})
        expected[path.stem] = wanted
    for name, obj, message in mutations(scenarios["default"]):
        entries.append({"source": name, "object": obj})
        expected[name] = [message]
    result = helmlib.validate_objects(entries)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    missing = []
    for source, wanted in expected.items():
        mine = [line for line in lines if line.startswith(source + " ")]
        for text in wanted:
            if not any(text in line for line in mine):
                missing.append(f"{source}: no problem reported containing {text!r}; got {mine}")
    assert not missing, "\n".join(missing) + "\n\nvalidator output:\n" + result.stdout
    # And nothing else: each fixture is broken exactly where it says.
    sources = {line.split(" ", 1)[0] for line in lines if not line.startswith("k8s_validate:")}
    assert sources == set(expected), sources ^ set(expected)
