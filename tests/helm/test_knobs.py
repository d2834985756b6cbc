"""The test-workload knobs of issue 13 as the chart renders them: each structured api.* value
becomes its environment variable (and none is rendered when left empty, so the binary's default
applies), JWT_SECRET comes from a Secret only, CONFIG_DIR is a whole ConfigMap volume (never
subPath), DATA_DIR an emptyDir with a size limit or a claim, extra pod labels, PriorityClass,
imagePullSecrets on every pod, the Gateway API HTTPRoute and the cert-manager Certificate. The
schema's and validate.yaml's refusals of these values are fixtures in fixtures/bad-values
(test_values_schema.py), the CRD documents are validated in test_k8s_schema.py."""

import re

import pytest

import helmlib

helmlib.require_tools()

API, WORKER = "api", "worker"
KNOBS = ["--api-versions", helmlib.GATEWAY_API, "--api-versions", helmlib.CERT_MANAGER_API]
# Every environment variable the structured api values can render.
KNOB_VARIABLES = {"UI_COLOR", "UI_MESSAGE", "BACKEND_URLS", "BACKEND_TIMEOUT", "PATH_PREFIX", "JWT_TTL_SECONDS",
                  "STORE_MAX_BYTES", "STORE_MAX_FILES", "CACHE_MAX_VALUE_BYTES", "ECHO_MAX_BYTES",
                  "WS_MAX_MESSAGE_BYTES", "WS_IDLE_TIMEOUT", "ENABLE_PANIC", "START_UNHEALTHY", "START_UNREADY",
                  "RANDOM_DELAY", "RANDOM_ERROR_PERCENT", "CONFIG_DIR", "DATA_DIR", "JWT_SECRET"}


@pytest.fixture(scope="module")
def knobs():
    return helmlib.render_scenario("knobs")


@pytest.fixture(scope="module")
def default():
    return helmlib.render_scenario("default")


def pod(rendered, name):
    return rendered.get("Deployment", name)["spec"]["template"]


def container(rendered, name):
    return pod(rendered, name)["spec"]["containers"][0]


def api_env(rendered):
    """Everything the api container's environment holds: its ConfigMap and its env entries."""
    env = dict(rendered.get("ConfigMap", "api-config")["data"])
    env.update({e["name"]: e.get("value", e.get("valueFrom")) for e in container(rendered, API)["env"]})
    return env


def render(*sets, extra=KNOBS):
    return helmlib.render(sets=sets, extra=extra)


# --- environment ---------------------------------------------------------------------------------

def test_every_knob_renders_its_variable(knobs):
    env = api_env(knobs)
    assert {k: env[k] for k in KNOB_VARIABLES - {"JWT_SECRET"}} == {
        "UI_COLOR": "#34a853", "UI_MESSAGE": "canary v2",
        "BACKEND_URLS": "http://backend-a.october.svc:8000/echo,http://backend-b.example.com/echo",
        "BACKEND_TIMEOUT": "1.5", "PATH_PREFIX": "/october/api", "JWT_TTL_SECONDS": "600",
        "STORE_MAX_BYTES": "104857600", "STORE_MAX_FILES": "1000", "CACHE_MAX_VALUE_BYTES": "65536",
        "ECHO_MAX_BYTES": "1048576", "WS_MAX_MESSAGE_BYTES": "65536", "WS_IDLE_TIMEOUT": "30",
        "ENABLE_PANIC": "true", "START_UNHEALTHY": "true", "START_UNREADY": "true",
        "RANDOM_DELAY": "50-200", "RANDOM_ERROR_PERCENT": "12.5",
        "CONFIG_DIR": "/etc/october/configs", "DATA_DIR": "/var/lib/october/data",
    }
    # The worker gets none of them.
    worker = knobs.get("ConfigMap", "worker-config")["data"]
    assert not KNOB_VARIABLES & (set(worker) | {e["name"] for e in container(knobs, WORKER)["env"]})


def test_unset_knobs_render_nothing_so_the_binary_defaults_apply(default):
    assert not KNOB_VARIABLES & set(api_env(default)), sorted(KNOB_VARIABLES & set(api_env(default)))
    # Switches turned off render nothing either, and an explicitly empty value is no variable.
    rendered = render("api.faults.enablePanic=false", "api.ui.color=", "api.jwt.ttlSeconds=", extra=())
    assert not KNOB_VARIABLES & set(api_env(rendered))


def test_one_knob_renders_one_variable_and_rolls_only_the_api():
    base = render(extra=())
    one = render("api.faults.randomErrorPercent=5", extra=())
    assert set(api_env(one)) - set(api_env(base)) == {"RANDOM_ERROR_PERCENT"}
    assert api_env(one)["RANDOM_ERROR_PERCENT"] == "5"  # a whole number, not 5.0 or 5e+00
    sums = {"base": {n: pod(base, n)["metadata"]["annotations"]["checksum/config"] for n in (API, WORKER)},
            "one": {n: pod(one, n)["metadata"]["annotations"]["checksum/config"] for n in (API, WORKER)}}
    assert sums["one"][API] != sums["base"][API] and sums["one"][WORKER] == sums["base"][WORKER]


def test_large_byte_limits_print_as_integers():
    """Helm 4 reads numbers as float64 (1.048576e+06 from a million up); the binary wants digits."""
    rendered = render("api.dataDir.maxBytes=104857600", "api.limits.echoMaxBytes=16777216", extra=())
    env = api_env(rendered)
    assert (env["STORE_MAX_BYTES"], env["ECHO_MAX_BYTES"]) == ("104857600", "16777216")


# --- JWT_SECRET ----------------------------------------------------------------------------------

def test_jwt_secret_comes_from_the_chart_secret_never_a_plain_value(knobs):
    env = {e["name"]: e for e in container(knobs, API)["env"]}
    assert env["JWT_SECRET"] == {"name": "JWT_SECRET", "valueFrom": {
        "secretKeyRef": {"name": "api-jwt", "key": "JWT_SECRET"}}}
    secret = knobs.get("Secret", "api-jwt")
    assert helmlib.decode_secret(secret) == {"JWT_SECRET": "knobs-fixture-signing-key-0123456789abcdef"}
    # Not in app-secret (which the worker reads too), not in any ConfigMap, not in the pod specs.
    assert "JWT_SECRET" not in helmlib.decode_secret(knobs.get("Secret", "app-secret"))
    plain = repr([o for o in knobs.objects() if o["kind"] != "Secret"])
    assert "knobs-fixture-signing-key" not in plain
    assert "checksum/jwt" in pod(knobs, API)["metadata"]["annotations"]
    assert "checksum/jwt" not in pod(knobs, WORKER)["metadata"]["annotations"]


def test_jwt_existing_secret_is_referenced_and_none_rendered():
    rendered = render("api.jwt.enabled=true", "api.jwt.existingSecret=vault-jwt", "api.jwt.existingSecretKey=hs256",
                      extra=())
    assert not rendered.find("Secret", "api-jwt")
    env = {e["name"]: e for e in container(rendered, API)["env"]}
    assert env["JWT_SECRET"]["valueFrom"] == {"secretKeyRef": {"name": "vault-jwt", "key": "hs256"}}
    assert "checksum/jwt" not in pod(rendered, API)["metadata"]["annotations"]


def test_jwt_key_generated_when_none_given():
    keys = []
    for _ in range(2):
        rendered = render("api.jwt.enabled=true", extra=())
        keys.append(helmlib.decode_secret(rendered.get("Secret", "api-jwt"))["JWT_SECRET"])
    # Random (helm template sees no cluster, so nothing to keep): 48 letters and digits, each run anew.
    assert all(re.fullmatch(r"[A-Za-z0-9]{48}", k) for k in keys) and keys[0] != keys[1]


def test_jwt_off_by_default(default):
    assert not default.find("Secret", "api-jwt")
    assert "JWT_SECRET" not in {e["name"] for e in container(default, API)["env"]}


# --- CONFIG_DIR and DATA_DIR volumes -------------------------------------------------------------

def test_config_dir_is_a_whole_configmap_volume(knobs):
    mounts = {m["name"]: m for m in container(knobs, API)["volumeMounts"]}
    assert mounts["config-dir"] == {"name": "config-dir", "mountPath": "/etc/october/configs", "readOnly": True}
    assert not any("subPath" in m or "subPathExpr" in m for m in mounts.values())
    volumes = {v["name"]: v for v in pod(knobs, API)["spec"]["volumes"]}
    assert volumes["config-dir"] == {"name": "config-dir", "configMap": {"name": "api-config-dir"}}
    assert knobs.get("ConfigMap", "api-config-dir")["data"] == {
        "app.json": '{"feature": true}', "motd.txt": "hello\nfrom the ConfigMap\n"}
    # Not in the pods' checksums: a change reaches the running api through the volume.
    changed = helmlib.render(values=[helmlib.FIXTURES / "values" / "knobs.yaml"],
                             sets=["api.configDir.files.motd\\.txt=changed"], extra=KNOBS)
    assert changed.get("ConfigMap", "api-config-dir")["data"]["motd.txt"] == "changed"
    assert pod(changed, API)["metadata"]["annotations"] == pod(knobs, API)["metadata"]["annotations"]
    assert not any(m["name"] == "config-dir" for m in container(knobs, WORKER)["volumeMounts"])


def test_config_dir_from_an_existing_configmap():
    rendered = render("api.configDir.enabled=true", "api.configDir.existingConfigMap=team-configs",
                      "api.configDir.mountPath=/configs", extra=())
    assert not rendered.find("ConfigMap", "api-config-dir")
    volumes = {v["name"]: v for v in pod(rendered, API)["spec"]["volumes"]}
    assert volumes["config-dir"]["configMap"] == {"name": "team-configs"}
    assert api_env(rendered)["CONFIG_DIR"] == "/configs"


def test_data_dir_on_an_emptydir_with_a_size_limit():
    rendered = render("api.dataDir.enabled=true", "api.dataDir.sizeLimit=64Mi", extra=())
    volumes = {v["name"]: v for v in pod(rendered, API)["spec"]["volumes"]}
    assert volumes["data-dir"] == {"name": "data-dir", "emptyDir": {"sizeLimit": "64Mi"}}
    mounts = {m["name"]: m for m in container(rendered, API)["volumeMounts"]}
    assert mounts["data-dir"] == {"name": "data-dir", "mountPath": "/var/lib/october/data"}
    assert not rendered.find("PersistentVolumeClaim", "api-data")
    assert api_env(rendered)["DATA_DIR"] == "/var/lib/october/data"


def test_data_dir_on_a_claim(knobs):
    volumes = {v["name"]: v for v in pod(knobs, API)["spec"]["volumes"]}
    assert volumes["data-dir"] == {"name": "data-dir", "persistentVolumeClaim": {"claimName": "api-data"}}
    claim = knobs.get("PersistentVolumeClaim", "api-data")["spec"]
    assert claim == {"accessModes": ["ReadWriteMany"], "storageClassName": "fast",
                     "resources": {"requests": {"storage": "2Gi"}}}
    existing = render("api.dataDir.enabled=true", "api.dataDir.persistence.enabled=true",
                      "api.dataDir.persistence.existingClaim=shared-store", extra=())
    assert not existing.find("PersistentVolumeClaim", "api-data")
    volumes = {v["name"]: v for v in pod(existing, API)["spec"]["volumes"]}
    assert volumes["data-dir"]["persistentVolumeClaim"] == {"claimName": "shared-store"}


def test_volumes_off_by_default(default):
    assert [v["name"] for v in pod(default, API)["spec"]["volumes"]] == ["tmp"]
    assert not default.find("ConfigMap", "api-config-dir") and not default.find("PersistentVolumeClaim", "api-data")


# --- pods: labels, priority, pull secrets ----------------------------------------------------------

def test_pod_labels_annotations_and_priority(knobs):
    for name, priority in ((API, "test-workload"), (WORKER, "test-workload-low")):
        template = pod(knobs, name)
        assert template["metadata"]["labels"]["example.com/canary"] == "true"
        assert template["metadata"]["labels"]["app"] == name  # the chart's own labels stay
        assert template["spec"]["priorityClassName"] == priority
    assert pod(knobs, "redis")["spec"]["priorityClassName"] == "test-workload"
    assert pod(knobs, API)["metadata"]["annotations"]["example.com/owner"] == "platform"
    # Selectors do not take the extra labels: they are immutable once deployed.
    assert "example.com/canary" not in knobs.get("Deployment", API)["spec"]["selector"]["matchLabels"]


def test_no_priority_class_by_default(default):
    for name in (API, WORKER, "redis"):
        assert "priorityClassName" not in pod(default, name)["spec"]


def test_image_pull_secrets_on_every_pod(knobs, default):
    pods = helmlib.pod_templates(knobs)
    assert {label for label, _, _ in pods} >= {"Deployment/api", "Deployment/worker", "Deployment/redis",
                                                 "Pod/api-smoke-test"}
    for label, _, spec in pods:
        assert spec["imagePullSecrets"] == [{"name": "ghcr-pull"}, {"name": "mirror-pull"}], label
    for label, _, spec in helmlib.pod_templates(default):
        assert "imagePullSecrets" not in spec, label


# --- HTTPRoute -------------------------------------------------------------------------------------

def test_httproute_under_the_path_prefix(knobs):
    route = knobs.get("HTTPRoute", API)
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["spec"] == {
        "parentRefs": [{"name": "shared-gateway", "namespace": "gateways", "sectionName": "https"}],
        "hostnames": ["api.example.com"],
        "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/october/api"}}],
                   "backendRefs": [{"name": "api", "port": 8000}]}],
    }
    service = knobs.get("Service", API)["spec"]["ports"][0]
    assert route["spec"]["rules"][0]["backendRefs"][0]["port"] == service["port"]


def test_httproute_defaults_to_the_ingress_host_and_all_paths():
    rendered = render("api.httpRoute.enabled=true", "api.httpRoute.parentRefs[0].name=gw", "api.ingress.enabled=false")
    spec = rendered.get("HTTPRoute", API)["spec"]
    assert spec["hostnames"] == ["api.october.local"] and spec["parentRefs"] == [{"name": "gw"}]
    assert spec["rules"][0]["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}}]
    assert not rendered.find("Ingress", API)


def test_httproute_needs_the_gateway_api():
    result = helmlib.run_helm(helmlib.helm_args(sets=["api.httpRoute.enabled=true",
                                                      "api.httpRoute.parentRefs[0].name=gw"]))
    assert result.returncode != 0
    assert "api.httpRoute.enabled needs the Gateway API gateway.networking.k8s.io/v1" in result.stderr


# --- Certificate -----------------------------------------------------------------------------------

def test_certificate_for_the_ingress_tls_host(knobs):
    cert = knobs.get("Certificate", API)
    assert cert["apiVersion"] == "cert-manager.io/v1"
    assert cert["spec"] == {"secretName": "api-example-tls", "dnsNames": ["api.october.local"],
                            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}}
    tls = knobs.get("Ingress", API)["spec"]["tls"]
    assert tls == [{"hosts": cert["spec"]["dnsNames"], "secretName": cert["spec"]["secretName"]}]


def test_certificate_needs_cert_manager():
    result = helmlib.run_helm(helmlib.helm_args(sets=["api.ingress.tls.enabled=true",
                                                      "api.ingress.tls.certificate.enabled=true",
                                                      "api.ingress.tls.certificate.issuerRef.name=ca"]))
    assert result.returncode != 0
    assert "needs cert-manager's cert-manager.io/v1 API" in result.stderr


def test_no_crd_objects_by_default(default):
    assert not {o["kind"] for o in default.objects()} & {"HTTPRoute", "Certificate"}


# --- helm test pod switches ------------------------------------------------------------------------

def test_helm_test_checks_switches(knobs, default):
    def switches(rendered):
        env = rendered.get("Pod", "api-smoke-test")["spec"]["containers"][0]["env"]
        return {e["name"]: e["value"] for e in env if e["name"].startswith("CHECK_")}

    # The token check needs a JWT key: on only with api.jwt.enabled.
    assert switches(default) == {"CHECK_CACHE": "true", "CHECK_TOKEN": "false"}
    assert switches(knobs) == {"CHECK_CACHE": "true", "CHECK_TOKEN": "true"}
    off = helmlib.render(values=[helmlib.FIXTURES / "values" / "knobs.yaml"],
                         sets=["tests.checks.cache=false", "tests.checks.token=false"], extra=KNOBS)
    assert switches(off) == {"CHECK_CACHE": "false", "CHECK_TOKEN": "false"}


def test_network_policy_admits_the_gateway_only_with_the_httproute(knobs, default):
    def api_from(rendered):
        return rendered.get("NetworkPolicy", API)["spec"]["ingress"][0]["from"]

    gateway = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "envoy-gateway-system"}}}
    assert gateway in api_from(knobs)
    assert gateway not in api_from(default)
    moved = render("api.httpRoute.enabled=true", "api.httpRoute.parentRefs[0].name=gw",
                   "networkPolicy.gateway.namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=istio-system")
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}} in api_from(moved)


def test_a_decimal_percentage_from_the_command_line():
    # --set gives 2.5 as text: the schema takes a decimal percentage as text too, 100.5 neither way.
    assert api_env(render("api.faults.randomErrorPercent=2.5", extra=()))["RANDOM_ERROR_PERCENT"] == "2.5"
    result = helmlib.run_helm(helmlib.helm_args(sets=["api.faults.randomErrorPercent=100.5"]))
    assert result.returncode != 0 and "randomErrorPercent" in result.stderr


def notes(*sets):
    """NOTES.txt as `helm install --dry-run=client` prints it (no --api-versions there: no CRDs)."""
    args = [a for s in sets for a in ("--set", s)]
    result = helmlib.run_helm(["install", helmlib.RELEASE, str(helmlib.CHART), "--namespace", helmlib.NAMESPACE,
                               "--dry-run=client", *args])
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:", 1)[1]


def test_notes_say_what_the_knobs_do():
    plain = notes()
    assert "task round trip, /cache):" in plain and "fault drills are on" not in plain and "api-jwt" not in plain
    generated = notes("api.jwt.enabled=true", "api.faults.randomErrorPercent=5")
    assert "task round trip, /cache, /token):" in generated
    assert "The api's JWT key was generated into the Secret api-jwt" in generated
    assert "NOTE: fault drills are on (api.faults)" in generated
    assert "fault drills are on" not in notes("api.faults.randomErrorPercent=0")
    assert "generated" not in notes("api.jwt.enabled=true", "api.jwt.existingSecret=vault-jwt")
