"""The pod-running checks can fail: each broken variant of the chart (a changed value, or one field
of the rendered objects changed as a template bug would change it) must make `kubeplay.verify`
report the named failure. Expected to fail, like the schema tests' negative fixtures."""

from __future__ import annotations

import pytest

import kubeplay
from kubeplay import DeployCheckFailed


def container(rendered, deployment: str) -> dict:
    return rendered.get("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]


def probe_path_typo(rendered):
    container(rendered, "api")["readinessProbe"]["httpGet"]["path"] = "/raedy"


def secret_key_not_read(rendered):
    data = rendered.get("Secret", "app-secret")["data"]
    data["CELERY_RESULTS_BACKEND"] = data.pop("CELERY_RESULT_BACKEND")


def redis_without_data_mount(rendered):
    mounts = container(rendered, "redis")["volumeMounts"]
    mounts[:] = [m for m in mounts if m["mountPath"] != "/data"]


def writable_root(rendered):
    container(rendered, "api")["securityContext"]["readOnlyRootFilesystem"] = False


def capabilities_kept(rendered):
    del container(rendered, "worker")["securityContext"]["capabilities"]


# name -> (values to set, change to the rendered objects, what the failure must say)
VARIANTS = {
    "probe path typo": ({}, probe_path_typo, r"api/api readinessProbe: GET /raedy on port 8000: 404"),
    "secret key the binaries do not read": (
        {}, secret_key_not_read,
        r"Secret app-secret key CELERY_RESULTS_BACKEND not read by localhost/october-(api|worker)"),
    "redis without its writable data mount": (
        {}, redis_without_data_mount, r"redis-pod-0-redis is not running(.|\n)*Read-only file system"),
    "redis as a uid that does not own its data": (
        {"redis.runAsUser": "1000"}, None, r"redis-pod-0-redis is not running(.|\n)*Permission denied"),
    "writable root filesystem": (
        {}, writable_root, r"api-pod-0-api: root filesystem is mounted read-write"),
    "capabilities not dropped": ({}, capabilities_kept, r"worker-pod-0-worker: CapBnd is 0+[1-9a-f]"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_broken_variant_fails_with_its_name(variant, release_factory):
    sets, change, message = VARIANTS[variant]
    rendered = kubeplay.render(sets)
    if change:
        change(rendered)
    release = release_factory(rendered)
    with pytest.raises(DeployCheckFailed, match=message):
        kubeplay.verify(release)
