"""The delivery Makefile targets (mk/cicd.mk): listed by `make help`, clear usage errors for a
missing variable, and each one runs scripts/deploy.sh with the command lines the CD workflow
uses (helm/kubectl/smoke/docker doubles first on PATH; no cluster exists here)."""

from __future__ import annotations

import re

import pytest

import scenarios as sc
from cicd_support import FIXTURE_CHART, REPO, Script, clean_env, run_with_doubles

CICD_TARGETS = ["images", "push", "helm-lint", "helm-template-dev", "helm-up-dev",
                "helm-up-dev-atomic", "helm-history", "helm-rollback", "smoke-ci", "smoke-pf",
                "cd-dev", "cd-dev-atomic", "e2e-kind"]


def make(tmp_path, script, target, variables=None, extra=()):
    bin_dir = tmp_path / "doubles-bin"
    argv = ["make", "--no-print-directory", "-s", target, f"CHART={FIXTURE_CHART}",
            f"HELM={bin_dir}/helm", f"KUBECTL={bin_dir}/kubectl", f"DEPLOY_OUT={tmp_path}/out",
            *extra]
    argv += [f"{k}={v}" for k, v in (variables or {}).items()]
    return run_with_doubles(tmp_path, script, argv)


def test_every_target_is_in_the_fragment_with_a_help_line():
    text = (REPO / "mk" / "cicd.mk").read_text()
    documented = re.findall(r"^([a-z0-9-]+): ## \S", text, re.M)
    assert sorted(documented) == sorted(CICD_TARGETS)


def test_make_help_lists_every_target():
    import subprocess
    proc = subprocess.run(["make", "--no-print-directory", "-s", "help"], cwd=REPO,
                          env=clean_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.strip()}
    missing = [t for t in CICD_TARGETS if t not in listed]
    assert not missing, f"make help does not list {missing} (is mk/cicd.mk included?)\n{proc.stdout}"


@pytest.mark.parametrize("target, variable", [
    ("cd-dev", "DEV_HOST"), ("cd-dev-atomic", "DEV_HOST"), ("smoke-ci", "HOST"),
    ("helm-rollback", "REV"), ("push", "REGISTRY"),
])
def test_missing_variable_is_a_usage_error(tmp_path, target, variable):
    r = make(tmp_path, Script(), target)
    assert r.rc != 0
    assert f"usage: make {target} {variable}=<" in r.stderr, r.stderr
    assert f"{variable} is required" in r.stderr
    assert r.calls == [], "nothing may run when a required variable is missing"


@pytest.mark.parametrize("target, variables, builder",
                         [pytest.param(t, v, b, id=f"{t}{'-' + '-'.join(v) if v else ''}")
                          for t, v, b in sc.MAKE_SCENARIOS])
@pytest.mark.parametrize("major", [3, 4])
def test_target_runs_the_deploy_script(tmp_path, target, variables, builder, major):
    r = make(tmp_path, builder(major), target, variables)
    r.assert_script_followed()
    assert r.rc == 0, r.explain()


def test_cd_dev_rolls_back_like_ci(tmp_path):
    """cd-dev is the same code path as the workflow: a failed smoke rolls back."""
    s = Script()
    v = s.values(sc.HOST, tag="dev")
    s.version().lint(v).template(v).history(sc.HISTORY_BEFORE).upgrade(v, atomic=False)
    s.history(sc.HISTORY_AFTER).smoke(sc.HOST, exit=1).port_forward()
    s.smoke("127.0.0.1:43123", exit=1).diagnostics()
    s.rollback(3).history(sc.HISTORY_AFTER[:-1] + [(4, "superseded"), (5, "deployed")])
    r = make(tmp_path, s, "cd-dev", {"DEV_HOST": sc.HOST})
    r.assert_script_followed()
    assert r.rc != 0
    assert "rolled back to revision 3" in r.stdout
    assert (tmp_path / "out" / "diagnostics" / "README.txt").is_file()


def docker_push_script(tag="dev", registry="ghcr.io/acme"):
    s = Script()
    for image in ("october-api", "october-worker"):
        s.add("docker", ["image", "inspect", f"{image}:{tag}"], stdout="[{}]\n")
        s.add("docker", ["tag", f"{image}:{tag}", f"{registry}/{image}:{tag}"])
        s.add("docker", ["push", f"{registry}/{image}:{tag}"], stdout="pushed\n")
    return s


def test_push_tags_and_pushes_both_images(tmp_path):
    bin_dir = tmp_path / "doubles-bin"
    r = make(tmp_path, docker_push_script("v1.2.3"), "push",
             {"REGISTRY": "ghcr.io/acme", "IMAGE_TAG": "v1.2.3", "ENGINE": f"{bin_dir}/docker"})
    r.assert_script_followed()
    assert r.rc == 0, r.explain()
    assert "push: ghcr.io/acme/october-worker:v1.2.3" in r.stdout


def test_push_refuses_an_image_that_is_not_built(tmp_path):
    bin_dir = tmp_path / "doubles-bin"
    s = Script().add("docker", ["image", "inspect", "october-api:dev"], exit=1,
                     stderr="Error: No such image: october-api:dev\n")
    r = make(tmp_path, s, "push", {"REGISTRY": "ghcr.io/acme", "ENGINE": f"{bin_dir}/docker"})
    r.assert_script_followed()
    assert r.rc != 0
    assert "october-api:dev is not built; run 'make images IMAGE_TAG=dev' first" in r.stderr


def test_images_uses_the_image_build_script():
    import subprocess
    proc = subprocess.run(["make", "--no-print-directory", "-n", "images", "IMAGE_TAG=sha-abc1234",
                           "ENGINE=podman"], cwd=REPO, env=clean_env(), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "docker/build-images.sh --tag sha-abc1234 --engine podman" in proc.stdout
    assert (REPO / "docker" / "build-images.sh").is_file()
