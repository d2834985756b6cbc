"""What the CI and CD workflows must do (docs/CI_CD.md): triggers, least-privilege permissions,
pinned actions with valid inputs, concurrency, the image tag rules, the scans, the secrets, and
that the CD workflow's deploy steps are scripts/deploy.sh -- run here, out of cd.yml itself,
against the helm/kubectl/smoke doubles.

actionlint cannot check the inputs of actions pinned to a commit, so fixtures/action-metadata.json
records, for each pinned commit, the inputs of its action.yml (read from the action's repository
at that commit) and every `with:` is checked against it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

import cicd_support as cs
import scenarios as sc

WF_DIR = cs.REPO / ".github" / "workflows"
METADATA = json.loads((cs.HERE / "fixtures" / "action-metadata.json").read_text())
SHA_PIN = re.compile(r"^([\w.-]+/[\w.-]+)@([0-9a-f]{40})$")


def load(name):
    text = (WF_DIR / name).read_text()
    doc = yaml.safe_load(text)
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads `on:` as true
    return doc, text


CI, CI_TEXT = load("ci.yml")
CD, CD_TEXT = load("cd.yml")


def steps(doc, job):
    return doc["jobs"][job]["steps"]


def uses(doc, job, action):
    return [s for s in steps(doc, job) if s.get("uses", "").lower().startswith(action + "@")]


def all_steps():
    for name, doc in (("ci.yml", CI), ("cd.yml", CD)):
        for job_id, job in doc["jobs"].items():
            for step in job.get("steps", []):
                yield name, job_id, step


# --- pins, inputs, scripts ------------------------------------------------------------------------
def test_every_action_is_pinned_to_a_known_commit_with_its_version():
    text = CI_TEXT + CD_TEXT
    for name, job, step in all_steps():
        if "uses" not in step:
            continue
        m = SHA_PIN.match(step["uses"])
        assert m, f"{name} {job}: {step['uses']} is not pinned to a full commit SHA"
        action, sha = m.group(1).lower(), m.group(2)
        assert action in METADATA, f"{action} is not in fixtures/action-metadata.json"
        meta = METADATA[action]
        assert sha == meta["sha"], f"{action}@{sha} is not the recorded {meta['version']} commit"
        assert re.search(rf"{re.escape(step['uses'])}  # {re.escape(meta['version'])}\n", text), \
            f"{step['uses']} lacks its '# {meta['version']}' comment"


def test_action_inputs_exist_and_required_ones_are_given():
    for name, job, step in all_steps():
        if "uses" not in step:
            continue
        action = step["uses"].split("@")[0].lower()
        meta = METADATA[action]
        given = set((step.get("with") or {}).keys())
        unknown = given - set(meta["inputs"])
        assert not unknown, f"{name} {job}: {action} has no input(s) {unknown}"
        missing = set(meta["required"]) - given
        assert not missing, f"{name} {job}: {action} needs {missing}"


def test_no_expression_is_expanded_inside_a_script():
    """Values reach run: blocks through env only (no script injection, shellcheck sees them)."""
    for name, job, step in all_steps():
        if "run" in step:
            assert "${{" not in step["run"], f"{name} {job} {step.get('name')}: ${{{{ }}}} in run:"


def test_every_job_has_a_timeout_and_least_privilege_permissions():
    allowed = {
        ("ci.yml", "lint"): {"contents": "read"},
        ("ci.yml", "test"): {"contents": "read"},
        ("ci.yml", "images"): {"contents": "read"},
        ("ci.yml", "scan-repo"): {"contents": "read"},
        ("ci.yml", "publish"): {"contents": "read", "packages": "write", "id-token": "write",
                                "attestations": "write"},
        ("ci.yml", "release-latest"): {"packages": "write"},
        ("cd.yml", "deploy"): {"contents": "read", "packages": "read"},
    }
    for name, doc in (("ci.yml", CI), ("cd.yml", CD)):
        assert doc["permissions"] == {}, f"{name}: the default token must have no permission"
        for job_id, job in doc["jobs"].items():
            assert job.get("permissions") == allowed[(name, job_id)], f"{name} {job_id}"
            assert 0 < job.get("timeout-minutes", 0) <= 90, f"{name} {job_id}: timeout-minutes"


def test_checkouts_keep_no_credentials():
    for name, job, step in all_steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False, f"{name} {job}"


# --- CI ------------------------------------------------------------------------------------------------
def test_ci_triggers():
    on = CI["on"]
    assert on["push"]["branches"] == ["main", "develop"]
    assert on["push"]["tags"] == ["v*.*.*"]
    assert on["pull_request"]["branches"] == ["main"]
    assert on["release"]["types"] == ["published"]


def test_ci_cancels_superseded_runs():
    c = CI["concurrency"]
    assert c["cancel-in-progress"] is True
    assert "github.ref" in c["group"] and "pull_request.number" in c["group"]
    assert "github.event_name" in c["group"], "a tag push and its release must not cancel each other"


def test_ci_lint_job_runs_every_linter():
    runs = "\n".join(s.get("run", "") for s in steps(CI, "lint"))
    for needle in ("make lint", "yamllint --strict .", "make helm-lint HELM=tools/bin/helm",
                   "make helm-lint HELM=tools/bin/helm3", "test_workflow_lint.py",
                   "test_static_lint.py", "scripts/install-tools.sh"):
        assert needle in runs, needle
    lint_sh = (cs.REPO / "scripts" / "lint.sh").read_text()
    assert "clang-format" in lint_sh and "clang-tidy" in lint_sh and "shellcheck" in lint_sh


def test_ci_test_job_runs_make_test_and_uploads_ctest_output_on_failure():
    job = steps(CI, "test")
    runs = [s.get("run", "").strip() for s in job]
    # Everything but the image test, which needs rootful Podman (not available in a job container).
    assert "make test CTEST_ARGS='--label-exclude images'" in runs, runs
    upload = uses(CI, "test", "actions/upload-artifact")
    assert upload and upload[0]["if"] == "failure()"
    assert "build/release/Testing/Temporary/" in upload[0]["with"]["path"]


@pytest.mark.parametrize("job", ["images", "publish"])
def test_ci_builds_both_images_with_buildx_and_layer_cache(job):
    assert CI["jobs"][job]["strategy"]["matrix"]["image"] == ["api", "worker"]
    assert uses(CI, job, "docker/setup-buildx-action")
    build = [s for s in uses(CI, job, "docker/build-push-action")]
    assert build
    for b in build:
        w = b["with"]
        assert w["target"] == "${{ matrix.image }}" and w["file"] == "Dockerfile"
        assert w["cache-from"].startswith("type=gha") and w["cache-to"].startswith("type=gha,mode=max")
        assert "org.opencontainers" not in w["labels"], "labels come from docker/metadata-action"
        assert w["labels"] == "${{ steps.meta.outputs.labels }}"
    assert 'docker/metadata-action' in yaml.safe_dump(CI["jobs"][job])


def test_dockerfile_has_the_targets_ci_builds():
    dockerfile = (cs.REPO / "Dockerfile").read_text()
    for target in ("api", "worker"):
        assert re.search(rf"^FROM .* AS {target}$", dockerfile, re.M), target
    for arg in ("VERSION", "REVISION", "SOURCE"):
        assert f"ARG {arg}" in dockerfile


def test_trivy_fails_on_high_and_critical_for_images_and_the_repository():
    image_scan = uses(CI, "images", "aquasecurity/trivy-action")[0]["with"]
    assert image_scan["scan-type"] == "image" and image_scan["image-ref"] == "october-${{ matrix.image }}:scan"
    fs_scan = uses(CI, "scan-repo", "aquasecurity/trivy-action")[0]["with"]
    assert fs_scan["scan-type"] == "fs" and "misconfig" in fs_scan["scanners"]
    for scan in (image_scan, fs_scan):
        assert scan["severity"] == "HIGH,CRITICAL" and scan["exit-code"] == "1"


def test_publish_only_from_main_develop_and_tags_after_every_check():
    job = CI["jobs"]["publish"]
    assert set(job["needs"]) == {"lint", "test", "images", "scan-repo"}
    cond = " ".join(job["if"].split())
    assert "github.event_name == 'push'" in cond
    for ref in ("github.ref == 'refs/heads/main'", "github.ref == 'refs/heads/develop'",
                "startsWith(github.ref, 'refs/tags/v')"):
        assert ref in cond
    for other in ("lint", "test", "images", "scan-repo"):
        assert CI["jobs"][other]["if"] == "github.event_name != 'release'"


def test_publish_tags_labels_sbom_and_provenance():
    meta = uses(CI, "publish", "docker/metadata-action")[0]["with"]
    tags = [t.strip() for t in meta["tags"].splitlines() if t.strip()]
    assert "type=sha,prefix=sha-,format=short" in tags           # :sha-<7>, immutable
    assert "type=raw,value=dev,enable={{is_default_branch}}" in tags  # :dev from main
    assert "type=semver,pattern=v{{version}}" in tags            # :vX.Y.Z on a semver tag
    assert meta["flavor"] == "latest=false", ":latest only on a release"
    build = uses(CI, "publish", "docker/build-push-action")[0]["with"]
    assert build["push"] is True and build["sbom"] is True and build["provenance"] == "mode=max"
    assert build["annotations"] == "${{ steps.meta.outputs.annotations }}"
    attest = uses(CI, "publish", "actions/attest-build-provenance")[0]["with"]
    assert attest["push-to-registry"] is True
    assert attest["subject-digest"] == "${{ steps.build.outputs.digest }}"
    login = uses(CI, "publish", "docker/login-action")[0]["with"]
    assert login == {"registry": "ghcr.io", "username": "${{ github.actor }}",
                     "password": "${{ secrets.GITHUB_TOKEN }}"}


def test_immutable_tags_are_never_overwritten():
    plan = next(s for s in steps(CI, "publish") if s.get("id") == "plan")["run"]
    assert "docker buildx imagetools inspect" in plan and "Immutable tag" in plan
    build = next(s for s in steps(CI, "publish") if s.get("id") == "build")
    assert build["if"] == "steps.plan.outputs.mode == 'build'"


def test_latest_only_on_a_published_release():
    job = CI["jobs"]["release-latest"]
    assert job["if"] == "github.event_name == 'release' && !github.event.release.prerelease"
    run = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'imagetools create --tag "$repository:latest" "$repository:$VERSION"' in run


# --- CD ------------------------------------------------------------------------------------------------
def test_cd_triggers_after_ci_on_main_and_by_hand():
    on = CD["on"]
    assert on["workflow_run"] == {"workflows": [CI["name"]], "types": ["completed"],
                                  "branches": ["main"]}
    assert on["workflow_dispatch"]["inputs"]["image-tag"]["type"] == "string"
    cond = " ".join(CD["jobs"]["deploy"]["if"].split())
    assert "github.event.workflow_run.conclusion == 'success'" in cond
    assert "github.event.workflow_run.event == 'push'" in cond
    assert "head_repository.full_name == github.repository" in cond


def test_cd_never_cancels_a_deploy_halfway():
    assert CD["concurrency"]["cancel-in-progress"] is False


def test_cd_checks_the_secrets_first():
    job = CD["jobs"]["deploy"]
    first = job["steps"][1]  # right after the checkout
    assert first["run"].startswith("bash scripts/deploy.sh ci-setup")
    assert first["env"] == {"DEV_KUBECONFIG": "${{ secrets.DEV_KUBECONFIG }}"}
    assert "DEV_KUBECONFIG" not in yaml.safe_dump(job["env"]), "the kubeconfig stays in one step"
    assert job["env"] == {"DEV_NAMESPACE": "${{ secrets.DEV_NAMESPACE }}",
                          "DEV_INGRESS_HOST": "${{ secrets.DEV_INGRESS_HOST }}"}


def test_cd_pins_helm_and_kubectl_and_uploads_diagnostics():
    assert re.fullmatch(r"v4\.\d+\.\d+", CD["env"]["HELM_VERSION"])
    assert re.fullmatch(r"v1\.\d+\.\d+", CD["env"]["KUBECTL_VERSION"])
    upload = uses(CD, "deploy", "actions/upload-artifact")[0]
    assert upload["if"] == "failure()" and upload["with"]["path"] == "deploy-out/"


def _step(name_part):
    return next(s for s in steps(CD, "deploy") if name_part in s.get("name", ""))


@pytest.fixture
def cd_sandbox(tmp_path):
    """A copy of the delivery scripts with the fixture chart at deploy/helm/api, so cd.yml's own
    commands can run (their relative paths included) without touching the repository."""
    root = tmp_path / "workspace"
    (root / "scripts").mkdir(parents=True)
    for script in ("deploy.sh", "diagnostics.sh"):
        shutil.copy2(cs.REPO / "scripts" / script, root / "scripts" / script)
    shutil.copytree(cs.REPO / cs.FIXTURE_CHART, root / "deploy" / "helm" / "api")
    return root


def run_cd_step(tmp_path, root, script, step, env):
    command = ["bash", "-eo", "pipefail", "-c", step["run"]]
    bin_dir = tmp_path / "doubles-bin"
    state = tmp_path / "double-state"
    state.mkdir(exist_ok=True)
    (state / "script.json").write_text(json.dumps(script.calls))
    cs.make_bin(tmp_path)
    full_env = cs.clean_env({"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_STATE": str(state),
                             "SMOKE_SCRIPT": str(bin_dir / "smoke"), **env})
    proc = subprocess.run(command, cwd=root, env=full_env, capture_output=True, text=True,
                          timeout=120)
    errors = (state / "errors.txt").read_text() if (state / "errors.txt").exists() else ""
    cursor = int((state / "cursor").read_text()) if (state / "cursor").exists() else 0
    return proc, errors, script.calls[cursor:]


def test_cd_deploy_step_is_the_deploy_script(tmp_path, cd_sandbox):
    """cd.yml's deploy command, run as GitHub would, makes exactly the calls of an atomic deploy."""
    s = cs.Script(helm_major=4, chart="deploy/helm/api")
    v = s.values(sc.HOST, sc.REGISTRY, sc.TAG)
    s.version().lint(v).template(v).history(sc.HISTORY_BEFORE).upgrade(v, atomic=True)
    s.history(sc.HISTORY_AFTER).smoke(sc.HOST)
    summary = tmp_path / "summary.md"
    proc, errors, pending = run_cd_step(tmp_path, cd_sandbox, s, _step("Deploy ("), {
        "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
        "DEV_NAMESPACE": "october", "DEV_INGRESS_HOST": sc.HOST, "REGISTRY": sc.REGISTRY,
        "IMAGE_TAG": sc.TAG})
    assert not errors and not pending, f"{errors}\n{pending}\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Deploy of `app` to `october`: deployed" in summary.read_text()
    assert (cd_sandbox / "deploy-out" / "rendered-app.yaml").is_file()


def test_cd_secrets_step_fails_clearly_without_secrets(tmp_path, cd_sandbox):
    proc, errors, _ = run_cd_step(tmp_path, cd_sandbox, cs.Script(), steps(CD, "deploy")[1], {
        "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(tmp_path)})
    assert not errors
    assert proc.returncode != 0
    for name in ("DEV_KUBECONFIG", "DEV_NAMESPACE", "DEV_INGRESS_HOST"):
        assert f"::error title=deploy::secret {name} is missing or empty" in proc.stdout


def test_cd_secrets_step_writes_the_kubeconfig(tmp_path, cd_sandbox):
    config = "apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n  cluster:\n    server: https://127.0.0.1:6443\n"
    github_env = tmp_path / "github-env"
    proc, errors, _ = run_cd_step(tmp_path, cd_sandbox, cs.Script(), steps(CD, "deploy")[1], {
        "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(tmp_path), "GITHUB_ENV": str(github_env),
        "DEV_KUBECONFIG": base64.b64encode(config.encode()).decode(),
        "DEV_NAMESPACE": "october", "DEV_INGRESS_HOST": sc.HOST})
    assert not errors and proc.returncode == 0, proc.stdout + proc.stderr
    assert github_env.read_text() == f"KUBECONFIG={tmp_path}/kubeconfig\n"
    assert (tmp_path / "kubeconfig").read_text() == config


@pytest.mark.parametrize("event, extra, tag", [
    ("workflow_run", {"HEAD_SHA": "abc1234def5678"}, "sha-abc1234"),
    ("workflow_dispatch", {"INPUT_TAG": "v1.2.3"}, "v1.2.3"),
])
def test_cd_image_choice(tmp_path, cd_sandbox, event, extra, tag):
    out = tmp_path / "github-output"
    proc, _, _ = run_cd_step(tmp_path, cd_sandbox, cs.Script(), _step("Choose the images"), {
        "GITHUB_EVENT_NAME": event, "GITHUB_OUTPUT": str(out), "OWNER": "Acme", **extra})
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == f"tag={tag}\nregistry=ghcr.io/acme\n"


def test_cd_rejects_a_bad_image_tag_input(tmp_path, cd_sandbox):
    proc, _, _ = run_cd_step(tmp_path, cd_sandbox, cs.Script(), _step("Choose the images"), {
        "GITHUB_EVENT_NAME": "workflow_dispatch", "GITHUB_OUTPUT": str(tmp_path / "o"),
        "OWNER": "acme", "INPUT_TAG": "dev; curl evil"})
    assert proc.returncode != 0 and "is not an image tag" in proc.stdout


# --- docs ----------------------------------------------------------------------------------------------
def test_docs_cover_the_pipeline():
    docs = (cs.REPO / "docs" / "CI_CD.md").read_text()
    targets = re.findall(r"^([a-z0-9-]+): ## ", (cs.REPO / "mk" / "cicd.mk").read_text(), re.M)
    for needle in [*targets, "DEV_KUBECONFIG", "DEV_NAMESPACE", "DEV_INGRESS_HOST",
                   "base64 -w0", ":sha-", ":dev", ":latest", "vX.Y.Z", "--atomic",
                   "--rollback-on-failure", "minikube", "kind", "port-forward", "Trivy",
                   "helm rollback", "Troubleshooting", "no Kubernetes cluster", "actionlint",
                   "scripts/deploy.sh", "scripts/diagnostics.sh", "scripts/smoke.sh"]:
        assert needle in docs, f"docs/CI_CD.md does not mention {needle}"
