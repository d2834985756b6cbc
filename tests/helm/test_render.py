"""helm template for default, dev, prod and the feature scenarios, under Helm 4 and Helm 3 (same
objects from both), and what the objects say: names, wiring between them, secrets, ingress,
autoscaling, disruption budgets, network policies, graceful shutdown, checksums that roll pods,
monitoring, the helm test hook."""

import re

import pytest

import helmlib

helmlib.require_tools()

API, WORKER, REDIS = "api", "worker", "redis"


@pytest.fixture(scope="module")
def scenarios():
    return helmlib.render_all()


def pod_spec(rendered, name):
    return rendered.get("Deployment", name)["spec"]["template"]["spec"]


def container(rendered, name):
    return pod_spec(rendered, name)["containers"][0]


def annotations(rendered, name):
    return rendered.get("Deployment", name)["spec"]["template"]["metadata"].get("annotations", {})


# --- both Helm majors --------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", helmlib.SCENARIOS)
def test_helm3_and_helm4_render_the_same_objects(scenarios, scenario):
    helm3 = helmlib.render_scenario(scenario, helmlib.HELM3)
    assert sorted(map(repr, helm3.objects())) == sorted(map(repr, scenarios[scenario].objects()))


# --- inventory ---------------------------------------------------------------------------------

def test_default_inventory(scenarios):
    assert scenarios["default"].names() == {
        ("Deployment", API), ("Deployment", WORKER), ("Deployment", REDIS),
        ("Service", API), ("Service", WORKER), ("Service", REDIS),
        ("ConfigMap", "api-config"), ("ConfigMap", "worker-config"), ("Secret", "app-secret"),
        ("PersistentVolumeClaim", "redis-data"), ("Ingress", API), ("HorizontalPodAutoscaler", API),
        ("PodDisruptionBudget", API), ("PodDisruptionBudget", WORKER), ("ServiceAccount", "october"),
        ("NetworkPolicy", "october-default-deny"), ("NetworkPolicy", "october-allow-dns"),
        ("NetworkPolicy", API), ("NetworkPolicy", WORKER), ("NetworkPolicy", REDIS),
        ("NetworkPolicy", "smoke-test"), ("Pod", "api-smoke-test"),
    }


def test_monitoring_objects_only_when_the_cluster_serves_their_api(scenarios):
    for name in ("default", "dev", "prod"):
        kinds = {o["kind"] for o in scenarios[name].objects()}
        assert not kinds & {"ServiceMonitor", "PrometheusRule"}, name
    for name in ("default+monitoring", "prod+monitoring", "keda"):
        assert scenarios[name].find("ServiceMonitor", "october"), name
        assert scenarios[name].find("PrometheusRule", "october"), name


def test_minimal_inventory(scenarios):
    kinds = {o["kind"] for o in scenarios["minimal"].objects()}
    assert not kinds & {"Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
                        "ServiceAccount", "PersistentVolumeClaim", "ServiceMonitor", "PrometheusRule"}
    assert pod_spec(scenarios["minimal"], API)["serviceAccountName"] == "default"
    volumes = {v["name"]: v for v in pod_spec(scenarios["minimal"], REDIS)["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}


@pytest.mark.parametrize("scenario", helmlib.SCENARIOS)
def test_everything_in_the_release_namespace_with_release_labels(scenarios, scenario):
    for _, obj in scenarios[scenario]:
        meta = obj["metadata"]
        if obj["kind"] in helmlib.NAMESPACED_KINDS:
            assert meta.get("namespace") == helmlib.NAMESPACE, (obj["kind"], meta["name"])
        assert meta["labels"]["app.kubernetes.io/instance"] == helmlib.RELEASE
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_release_namespace_follows_dash_n():
    rendered = helmlib.render(extra=["--namespace", "staging"])
    assert {o["metadata"]["namespace"] for o in rendered.objects()} == {"staging"}
    smoke = rendered.get("Pod", "api-smoke-test")
    assert {"name": "API_URL", "value": "http://api.staging.svc:8000"} in smoke["spec"]["containers"][0]["env"]


# --- wiring ------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", helmlib.SCENARIOS)
def test_selectors_match_their_pods(scenarios, scenario):
    rendered = scenarios[scenario]
    deployments = {d["metadata"]["name"]: d for d in rendered.objects("Deployment")}
    for name, deployment in deployments.items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert helmlib.labels_match(selector, deployment["spec"]["template"]["metadata"]["labels"]), name
        assert deployment["spec"]["template"]["metadata"]["labels"]["app"] == name  # kubectl logs -l app=api
    for service in rendered.objects("Service"):
        name = service["metadata"]["name"]
        pod = deployments[name]["spec"]["template"]
        assert helmlib.labels_match(service["spec"]["selector"], pod["metadata"]["labels"]), name
        others = [n for n, d in deployments.items()
                  if n != name and helmlib.labels_match(service["spec"]["selector"],
                                                        d["spec"]["template"]["metadata"]["labels"])]
        assert not others, f"Service {name} also selects {others}"
        port_names = {p["name"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, (name, port)
    for pdb in rendered.objects("PodDisruptionBudget"):
        name = pdb["metadata"]["name"]
        assert helmlib.labels_match(pdb["spec"]["selector"]["matchLabels"],
                                    deployments[name]["spec"]["template"]["metadata"]["labels"])
    for hpa in rendered.objects("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                                 "name": hpa["metadata"]["name"]}


def test_services_and_ports(scenarios):
    rendered = scenarios["default"]
    api = rendered.get("Service", API)["spec"]
    assert api["type"] == "ClusterIP" and api["ports"] == [
        {"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    assert rendered.get("Service", WORKER)["spec"]["ports"][0]["port"] == 8001
    assert rendered.get("Service", REDIS)["spec"]["ports"][0]["port"] == 6379
    assert container(rendered, API)["ports"][0]["containerPort"] == 8000
    assert container(rendered, WORKER)["ports"][0]["containerPort"] == 8001
    env = {e["name"]: e["value"] for e in container(rendered, WORKER)["env"]}
    assert env == {"HOST": "0.0.0.0", "PORT": "8001"}


def test_images(scenarios):
    assert container(scenarios["default"], API)["image"] == "ghcr.io/october/october-api:v0.1.0"
    assert container(scenarios["default"], WORKER)["image"] == "ghcr.io/october/october-worker:v0.1.0"
    # The seed's key: api.image.tag, and the worker follows it.
    assert container(scenarios["dev"], API)["image"] == "ghcr.io/october/october-api:dev"
    assert container(scenarios["dev"], WORKER)["image"] == "ghcr.io/october/october-worker:dev"
    assert container(scenarios["dev"], API)["imagePullPolicy"] == "Always"
    keda = scenarios["keda"]
    assert container(keda, API)["image"] == (
        "ghcr.io/october/october-api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
    assert container(keda, WORKER)["image"] == "ghcr.io/october/october-worker:sha-0a1b2c3"
    assert pod_spec(keda, API)["imagePullSecrets"] == [{"name": "ghcr-pull"}]
    owner = helmlib.render(sets=["image.owner=acme", "api.image.tag=sha-1234567"])
    assert container(owner, API)["image"] == "ghcr.io/acme/october-api:sha-1234567"
    assert container(owner, WORKER)["image"] == "ghcr.io/acme/october-worker:sha-1234567"


# --- configuration and secrets -----------------------------------------------------------------

def test_configmaps_merge_shared_and_component_settings(scenarios):
    rendered = scenarios["default"]
    api = rendered.get("ConfigMap", "api-config")["data"]
    worker = rendered.get("ConfigMap", "worker-config")["data"]
    shared = {"LOG_LEVEL": "info", "SHUTDOWN_DRAIN_SECONDS": "5", "SHUTDOWN_TIMEOUT_SECONDS": "20",
              "READINESS_INTERVAL_SECONDS": "1"}
    assert api == {**shared, "IO_THREADS": "2", "COMPUTE_THREADS": "1", "MEMORY_MAX_MB": "256"}
    assert worker == {**shared, "CONCURRENCY": "4", "QUEUES": "celery"}
    for name in (API, WORKER):
        env_from = container(rendered, name)["envFrom"]
        assert env_from == [{"configMapRef": {"name": f"{name}-config"}}, {"secretRef": {"name": "app-secret"}}]
    assert scenarios["dev"].get("ConfigMap", "api-config")["data"]["LOG_LEVEL"] == "debug"


@pytest.mark.parametrize("helm", helmlib.HELMS)
def test_big_and_fractional_numbers_render_as_the_binaries_read_them(helm):
    """Helm 4 reads YAML numbers as float64 and would print 1048576 as 1.048576e+06."""
    rendered = helmlib.render(sets=["config.MAX_BODY_BYTES=1048576", "config.MAX_CONNECTIONS=1000000",
                                    "config.HEADER_TIMEOUT_SECONDS=0.5", "api.config.FAIL_HEALTHZ=true"],
                              helm=helmlib.HELMS[helm])
    data = rendered.get("ConfigMap", "api-config")["data"]
    assert (data["MAX_BODY_BYTES"], data["MAX_CONNECTIONS"], data["HEADER_TIMEOUT_SECONDS"], data["FAIL_HEALTHZ"]) \
        == ("1048576", "1000000", "0.5", "true")
    values_file_rendered = helmlib.render(values=[helmlib.FIXTURES / "values" / "big-numbers.yaml"],
                                          helm=helmlib.HELMS[helm])
    data = values_file_rendered.get("ConfigMap", "worker-config")["data"]
    assert data["VISIBILITY_TIMEOUT_SECONDS"] == "604800" and data["RESULT_EXPIRES_SECONDS"] == "31536000"


def test_secret_from_values_b64_and_injected(scenarios):
    secret = scenarios["default"].get("Secret", "app-secret")
    assert secret["type"] == "Opaque"
    assert helmlib.decode_secret(secret) == {"CELERY_BROKER_URL": "redis://redis:6379/0",
                                             "CELERY_RESULT_BACKEND": "redis://redis:6379/1"}
    extra = scenarios["keda"].get("Secret", "app-secret")
    assert helmlib.decode_secret(extra)["SENTRY_DSN"] == "https://key@sentry.example.com/1"
    override = helmlib.render(sets=["secrets.CELERY_BROKER_URL=redis://:s3cret@redis:6379/0"])
    assert helmlib.decode_secret(override.get("Secret", "app-secret"))["CELERY_BROKER_URL"] == \
        "redis://:s3cret@redis:6379/0"
    assert "s3cret" not in repr(override.get("ConfigMap", "api-config"))


def test_existing_secret_replaces_app_secret(scenarios):
    rendered = scenarios["external"]
    assert not rendered.objects("Secret")
    for name in (API, WORKER):
        assert {"secretRef": {"name": "october-external"}} in container(rendered, name)["envFrom"]
        assert "checksum/secret" not in annotations(rendered, name)
        assert "checksum/config" in annotations(rendered, name)


def test_external_redis(scenarios):
    rendered = scenarios["external"]
    assert not rendered.find("Deployment", REDIS) and not rendered.find("NetworkPolicy", REDIS)
    assert not rendered.find("PersistentVolumeClaim", "redis-data")
    egress = rendered.get("NetworkPolicy", API)["spec"]["egress"]
    assert {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 6379, "protocol": "TCP"}]} in egress


# --- checksums ---------------------------------------------------------------------------------

def test_checksums_roll_exactly_the_pods_whose_settings_changed():
    def sums(*sets):
        rendered = helmlib.render(sets=sets)
        return {n: (annotations(rendered, n)["checksum/config"], annotations(rendered, n)["checksum/secret"])
                for n in (API, WORKER)}

    base = sums()
    assert sums("api.ingress.host=other.example.com") == base
    shared = sums("config.LOG_LEVEL=warning")
    assert shared[API][0] != base[API][0] and shared[WORKER][0] != base[WORKER][0]
    api_only = sums("api.config.MEMORY_MAX_MB=300")
    assert api_only[API][0] != base[API][0] and api_only[WORKER] == base[WORKER]
    worker_only = sums("worker.config.CONCURRENCY=8")
    assert worker_only[WORKER][0] != base[WORKER][0] and worker_only[API] == base[API]
    secret = sums("secrets.CELERY_RESULT_BACKEND=redis://redis:6379/2")
    for name in (API, WORKER):
        assert secret[name][1] != base[name][1] and secret[name][0] == base[name][0]


# --- ingress, autoscaling, disruption ------------------------------------------------------------

def test_ingress(scenarios):
    ingress = scenarios["default"].get("Ingress", API)["spec"]
    assert ingress["ingressClassName"] == "nginx"
    assert ingress["rules"] == [{"host": "api.october.local", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "api", "port": {"name": "http"}}}}]}}]
    assert "tls" not in ingress
    assert scenarios["dev"].get("Ingress", API)["spec"]["rules"][0]["host"] == "api.192.168.49.2.nip.io"
    prod = scenarios["prod"].get("Ingress", API)["spec"]
    assert prod["tls"] == [{"hosts": ["api.example.com"], "secretName": "api-tls"}]
    keda = scenarios["keda"].get("Ingress", API)
    assert keda["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "2m"}


def test_cd_invocation_sets_host_and_tag():
    """CD: -f values.yaml -f values-dev.yaml --set api.ingress.host=$DEV_INGRESS_HOST --set api.image.tag=dev"""
    rendered = helmlib.render(values=[helmlib.CHART / "values.yaml", helmlib.VALUES_DEV],
                              sets=["api.ingress.host=api.10.1.2.3.nip.io", "api.image.tag=dev"])
    assert rendered.get("Ingress", API)["spec"]["rules"][0]["host"] == "api.10.1.2.3.nip.io"
    assert container(rendered, API)["image"].endswith("/october-api:dev")


def test_api_hpa_1_to_5_at_70_percent_cpu(scenarios):
    hpa = scenarios["default"].get("HorizontalPodAutoscaler", API)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (1, 5)
    assert hpa["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]
    # The HPA owns the count: the Deployment leaves replicas out, so upgrades do not reset it.
    assert "replicas" not in scenarios["default"].get("Deployment", API)["spec"]
    assert scenarios["minimal"].get("Deployment", API)["spec"]["replicas"] == 1
    assert not scenarios["default"].find("HorizontalPodAutoscaler", WORKER)
    assert scenarios["default"].get("Deployment", WORKER)["spec"]["replicas"] == 1


def test_worker_hpa_optional(scenarios):
    hpa = scenarios["external"].get("HorizontalPodAutoscaler", WORKER)["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert "replicas" not in scenarios["external"].get("Deployment", WORKER)["spec"]


def test_keda_scaled_object_on_queue_length(scenarios):
    rendered = scenarios["keda"]
    scaled = rendered.get("ScaledObject", WORKER)["spec"]
    assert scaled["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": WORKER}
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (0, 20)
    assert [t["metadata"]["listName"] for t in scaled["triggers"]] == ["celery", "emails"]
    for trigger in scaled["triggers"]:
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["address"] == "redis.october.svc.cluster.local:6379"
        assert trigger["metadata"]["listLength"] == "20" and trigger["metadata"]["databaseIndex"] == "0"
        assert trigger["authenticationRef"] == {"name": "redis-auth"}
    assert "replicas" not in rendered.get("Deployment", WORKER)["spec"]
    assert not rendered.find("HorizontalPodAutoscaler", WORKER)
    # KEDA's operator must reach Redis through the NetworkPolicy.
    peers = rendered.get("NetworkPolicy", REDIS)["spec"]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}, "podSelector": {}} in peers


def test_prod_runs_at_least_two_of_each_on_pinned_tags(scenarios):
    rendered = scenarios["prod"]
    for name in (API, WORKER):
        hpa = rendered.find("HorizontalPodAutoscaler", name)
        replicas = hpa["spec"]["minReplicas"] if hpa else rendered.get("Deployment", name)["spec"]["replicas"]
        assert replicas >= 2, name
        assert re.search(r":v\d+\.\d+\.\d+$", container(rendered, name)["image"]), container(rendered, name)["image"]
        assert rendered.get("PodDisruptionBudget", name)["spec"]["maxUnavailable"] == 1


def test_rolling_update_never_lowers_capacity(scenarios):
    for scenario in helmlib.SCENARIOS:
        rendered = scenarios[scenario]
        for name in (API, WORKER):
            strategy = rendered.get("Deployment", name)["spec"]["strategy"]
            assert strategy == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
        redis = rendered.find("Deployment", REDIS)
        if redis:  # one pod on a ReadWriteOnce volume
            assert redis["spec"]["strategy"] == {"type": "Recreate"} and redis["spec"]["replicas"] == 1


# --- graceful shutdown -------------------------------------------------------------------------

def test_termination_grace_matches_the_drain():
    def grace(*sets):
        rendered = helmlib.render(sets=sets)
        return tuple(pod_spec(rendered, n)["terminationGracePeriodSeconds"] for n in (API, WORKER))

    # api: drain 5 + in-flight 20 + margin 5; worker: running tasks 20 + margin 10.
    assert grace() == (30, 30)
    assert grace("config.SHUTDOWN_DRAIN_SECONDS=10") == (35, 30)
    assert grace("config.SHUTDOWN_TIMEOUT_SECONDS=60") == (70, 70)
    assert grace("api.config.SHUTDOWN_TIMEOUT_SECONDS=40") == (50, 30)
    assert grace("worker.config.SHUTDOWN_TIMEOUT_SECONDS=300", "worker.terminationGraceMarginSeconds=15") == (30, 315)
    assert grace("config.SHUTDOWN_DRAIN_SECONDS=0", "config.SHUTDOWN_TIMEOUT_SECONDS=0",
                 "api.terminationGraceMarginSeconds=0") == (0, 10)


# --- network policies --------------------------------------------------------------------------

def test_network_policies(scenarios):
    rendered = scenarios["default"]
    policies = {p["metadata"]["name"]: p["spec"] for p in rendered.objects("NetworkPolicy")}
    deny = policies["october-default-deny"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny and "egress" not in deny
    # Default deny and DNS cover every pod of the release, the helm test pod included.
    for label, meta, _ in helmlib.pod_templates(rendered):
        assert helmlib.labels_match(deny["podSelector"]["matchLabels"], meta["labels"]), label
        assert helmlib.labels_match(policies["october-allow-dns"]["podSelector"]["matchLabels"], meta["labels"])
    dns = policies["october-allow-dns"]["egress"][0]
    assert dns["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                          "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}

    def component(selector):
        return selector.get("matchLabels", {}).get("app.kubernetes.io/component")

    api_from = policies[API]["ingress"][0]["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}} in api_from
    prometheus = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
                  "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    assert prometheus in api_from and policies[WORKER]["ingress"][0]["from"] == [prometheus]
    assert policies[API]["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    for name in (API, WORKER):
        egress = policies[name]["egress"]
        assert [component(peer["podSelector"]) for rule in egress for peer in rule["to"]] == [REDIS]
    redis_from = policies[REDIS]["ingress"][0]["from"]
    assert sorted(component(peer["podSelector"]) for peer in redis_from) == [API, WORKER]
    assert "egress" not in policies[REDIS] and policies[REDIS]["policyTypes"] == ["Ingress", "Egress"]
    smoke = policies["smoke-test"]
    assert [component(peer["podSelector"]) for peer in smoke["egress"][0]["to"]] == [API]


# --- monitoring --------------------------------------------------------------------------------

def test_service_monitor_scrapes_api_and_worker(scenarios):
    monitor = scenarios["keda"].get("ServiceMonitor", "october")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": ["october"]}
    assert spec["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}]
    expressions = {e["key"]: e["values"] for e in spec["selector"]["matchExpressions"]}
    assert expressions == {"app.kubernetes.io/instance": ["app"], "app.kubernetes.io/component": ["api", "worker"]}
    services = [s for s in scenarios["keda"].objects("Service")
                if s["metadata"]["labels"]["app.kubernetes.io/component"] in expressions["app.kubernetes.io/component"]]
    assert sorted(s["metadata"]["name"] for s in services) == [API, WORKER]
    assert all(any(p["name"] == "http" for p in s["spec"]["ports"]) for s in services)


def test_prometheus_rule_alerts(scenarios):
    groups = scenarios["default+monitoring"].get("PrometheusRule", "october")["spec"]["groups"]
    alerts = {r["alert"] for g in groups for r in g["rules"]}
    assert alerts == {"OctoberApiDown", "OctoberWorkerDown", "OctoberPodCrashLooping", "OctoberApiHigh5xxRate",
                      "OctoberApiHighLatency", "OctoberWorkerTaskFailures", "OctoberQueueBacklog"}
    # Scaled to zero by KEDA, no worker target is normal: no WorkerDown alert then.
    keda = scenarios["keda"].get("PrometheusRule", "october")["spec"]["groups"]
    keda_rules = [r for g in keda for r in g["rules"]]
    assert "OctoberWorkerDown" not in {r["alert"] for r in keda_rules}
    assert all(r["labels"]["team"] == "october" for r in keda_rules)


# --- helm test hook ----------------------------------------------------------------------------

def test_helm_test_hook_runs_the_smoke_checks(scenarios):
    pod = scenarios["default"].get("Pod", "api-smoke-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] > 0
    c = spec["containers"][0]
    assert c["image"] == "docker.io/curlimages/curl:8.11.1"  # has sh and curl; the api image has no shell
    assert c["command"] == ["/bin/sh", "-c"]
    assert {"name": "API_URL", "value": "http://api.october.svc:8000"} in c["env"]
    script = c["args"][0]
    assert script == (helmlib.CHART / "files" / "smoke-test.sh").read_text().rstrip("\n")
    for check in ("/healthz", "/ready", "/metrics", "http_requests_total", "/compute/prime?n=100", "541",
                  "post_json /tasks", '"name":"add"', "PUT \"/cache/$key\"", "GET \"/cache/$key\"",
                  "post_json /token '{\"sub\":\"helm-test\"}'", "POST /token/validate",
                  "Authorization: Bearer $token"):
        assert check in script, check


# --- NOTES.txt ---------------------------------------------------------------------------------

def notes(*args):
    """NOTES.txt as `helm install --dry-run=client` prints it (Helm 4 does that without a cluster)."""
    result = helmlib.run_helm(["install", helmlib.RELEASE, str(helmlib.CHART), "--namespace", helmlib.NAMESPACE,
                               "--dry-run=client", *args])
    assert result.returncode == 0, result.stderr
    return result.stdout.split("NOTES:", 1)[1]


def test_notes():
    dev = notes("-f", str(helmlib.VALUES_DEV))
    assert "api     ghcr.io/october/october-api:dev" in dev
    assert "http://api.192.168.49.2.nip.io/healthz" in dev
    assert "kubectl -n october port-forward svc/api 8080:8000" in dev
    assert "helm test app -n october --logs" in dev
    assert 'tag "dev" is mutable' in dev
    assert "ServiceMonitor and PrometheusRule were not installed" in dev
    prod = notes("-f", str(helmlib.VALUES_PROD))
    assert "https://api.example.com/healthz" in prod and "october-api:v0.1.0" in prod
    assert "mutable" not in prod
    external = notes("-f", str(helmlib.FIXTURES / "values" / "external.yaml"))
    assert 'existing Secret "october-external"' in external and "redis   external" in external
