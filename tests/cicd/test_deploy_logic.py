"""scripts/deploy.sh decision logic against scripted helm/kubectl/smoke doubles.

No Kubernetes cluster can run on this machine: the doubles (doubles/fake_tool.py) answer as the
real tools would and fail the test on any call that is not exactly the next expected one, so
these tests pin down both what the script decides and the exact command lines it issues
(test_doubles_honest.py checks those command lines against the real Helm 3/4 and kubectl).
"""

from __future__ import annotations

import base64
import os
import stat

import pytest

import scenarios as sc
from cicd_support import Script, run_deploy

MAJORS = [3, 4]


def summary(result):
    return (result.out / "summary.md").read_text()


def outputs(tmp_path):
    path = tmp_path / "github-output"
    return dict(line.split("=", 1) for line in path.read_text().splitlines()) if path.exists() else {}


def actions_env(tmp_path):
    return {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "github-output")}


def tools_called(result, tool):
    return [c["argv"] for c in result.calls if c["tool"] == tool]


def rollbacks(result):
    return [argv for argv in tools_called(result, "helm") if argv[0] == "rollback"]


# --- deploy ok + smoke ok -> done ----------------------------------------------------------------
@pytest.mark.parametrize("major", MAJORS)
def test_deploy_ok_smoke_ok_is_done(tmp_path, major):
    r = run_deploy(tmp_path, sc.deploy_ok(major), *sc.deploy_args(), extra_env=actions_env(tmp_path))
    r.assert_script_followed()
    assert r.rc == 0, r.explain()
    assert rollbacks(r) == []
    assert not (r.out / "diagnostics").exists(), "no diagnostics on success"
    # The atomic flag of the Helm major in use: --atomic on 3, --rollback-on-failure on 4.
    upgrade = next(a for a in tools_called(r, "helm") if a[0] == "upgrade")
    assert ("--atomic" in upgrade) == (major == 3)
    assert ("--rollback-on-failure" in upgrade) == (major == 4)
    text = summary(r)
    assert "deployed" in text and "revision deployed | 4" in text and "revision before | 3" in text
    assert "passed via ingress" in text and sc.TAG in text and sc.REGISTRY in text
    assert (tmp_path / "step-summary.md").read_text() == text, "job summary is the same report"
    assert outputs(tmp_path) == {"outcome": "deployed", "previous-revision": "3", "revision": "4",
                                 "smoke": f"passed via ingress http://{sc.HOST}"}
    assert "::group::helm lint" in r.stdout and "::endgroup::" in r.stdout
    # The template preview is kept and shown, Secret data redacted (CI logs and artifacts).
    rendered = (r.out / "rendered-app.yaml").read_text()
    assert "kind: ConfigMap" in rendered and "kind: ConfigMap" in r.stdout
    assert "LOG_LEVEL: debug" in rendered, "only Secret data is redacted"
    assert "CELERY_BROKER_URL: <redacted>" in rendered
    assert "cmVkaXM6Ly86aHVudGVy" not in rendered + r.stdout


@pytest.mark.parametrize("major", MAJORS)
def test_smoke_falls_back_to_port_forward(tmp_path, major):
    r = run_deploy(tmp_path, sc.deploy_ok_via_port_forward(major), *sc.deploy_args())
    r.assert_script_followed()
    assert r.rc == 0, r.explain()
    assert rollbacks(r) == []
    text = summary(r)
    assert "passed via port-forward to svc/api" in text and "ingress" in text
    assert "Forwarding from 127.0.0.1:43123" in (r.out / "port-forward.log").read_text()


# --- deploy fails -> helm rolled back, diagnostics written ---------------------------------------
@pytest.mark.parametrize("major", MAJORS)
def test_upgrade_fails_atomic_helm_rolls_back_diagnostics_written(tmp_path, major):
    r = run_deploy(tmp_path, sc.upgrade_fails_atomic(major), *sc.deploy_args(),
                   extra_env=actions_env(tmp_path))
    r.assert_script_followed()
    assert r.rc == 1, r.explain()
    # Helm undid the upgrade itself: a rollback of our own would go one revision too far.
    assert rollbacks(r) == []
    diag = r.out / "diagnostics"
    for name in ("get-all.txt", "get-other.txt", "describe-pods.txt", "events.txt",
                 "helm-status.txt", "helm-history.txt", "helm-values.yaml", "helm-manifest.yaml",
                 "logs/api-7d9f-abcde.log", "logs/worker-5c6b-fghij.previous.log", "README.txt"):
        assert (diag / name).is_file(), name
    assert "api-7d9f-abcde log line" in (diag / "logs/api-7d9f-abcde.log").read_text()
    assert "(exit 1)" in (diag / "logs/api-7d9f-abcde.previous.log").read_text()
    text = summary(r)
    flag = "--atomic" if major == 3 else "--rollback-on-failure"
    assert "upgrade failed" in text and f"by Helm ({flag})" in text
    assert "release now at revision 5 (deployed)" in text
    assert outputs(tmp_path)["outcome"] == "upgrade failed"
    assert "::error title=deploy::helm upgrade failed" in r.stdout


@pytest.mark.parametrize("major", MAJORS)
def test_upgrade_fails_not_atomic_script_rolls_back_after_diagnostics(tmp_path, major):
    r = run_deploy(tmp_path, sc.upgrade_fails_not_atomic(major), *sc.deploy_args(atomic=False))
    r.assert_script_followed()
    assert r.rc == 1, r.explain()
    assert rollbacks(r) == [["rollback", "app", "3", "--namespace", "october", "--wait",
                             "--timeout", "5m"]]
    # Diagnostics come first, while the failed pods still exist.
    order = [c["argv"][0] if c["tool"] == "helm" else c["argv"][2] for c in r.calls]
    assert order.index("describe") < order.index("rollback")
    assert "rolled back to revision 3" in summary(r)


@pytest.mark.parametrize("major", MAJORS)
def test_first_install_fails_has_nothing_to_roll_back(tmp_path, major):
    r = run_deploy(tmp_path, sc.first_install_fails_not_atomic(major), *sc.deploy_args(atomic=False))
    r.assert_script_followed()
    assert r.rc == 1, r.explain()
    assert rollbacks(r) == []
    assert "no previous revision of app to roll back to" in r.stderr
    assert "no good revision before the failed revision 1" in summary(r)
    assert (r.out / "diagnostics" / "README.txt").is_file()


# --- deploy ok + smoke fails -> rollback to the previous revision, non-zero exit -----------------
@pytest.mark.parametrize("major", MAJORS)
def test_smoke_fails_rolls_back_to_previous_revision(tmp_path, major):
    r = run_deploy(tmp_path, sc.smoke_fails_rolls_back(major), *sc.deploy_args(),
                   extra_env=actions_env(tmp_path))
    r.assert_script_followed()
    assert r.rc == 3, r.explain()
    assert rollbacks(r) == [["rollback", "app", "3", "--namespace", "october", "--wait",
                             "--timeout", "5m"]]
    order = [c["argv"][0] if c["tool"] == "helm" else c["argv"][2] for c in r.calls]
    assert order.index("describe") < order.index("rollback"), "diagnostics of the broken revision"
    text = summary(r)
    assert "smoke failed, rolled back" in text
    assert "rolled back to revision 3 (now revision 5, deployed)" in text
    assert "revision deployed | 4" in text and "smoke | failed" in text
    assert outputs(tmp_path)["outcome"] == "smoke failed, rolled back"
    assert "::error title=deploy::smoke tests failed after revision 4" in r.stdout


@pytest.mark.parametrize("major", MAJORS)
def test_smoke_fails_skips_failed_revisions(tmp_path, major):
    r = run_deploy(tmp_path, sc.smoke_fails_skips_failed_revision(major), *sc.deploy_args())
    r.assert_script_followed()
    assert r.rc == 3, r.explain()
    assert rollbacks(r)[0][:3] == ["rollback", "app", "2"]


@pytest.mark.parametrize("major", MAJORS)
def test_smoke_fails_without_previous_revision_says_so(tmp_path, major):
    r = run_deploy(tmp_path, sc.smoke_fails_no_previous_revision(major), *sc.deploy_args())
    r.assert_script_followed()
    assert r.rc == 4, r.explain()
    assert rollbacks(r) == []
    assert "no previous revision of app to roll back to: revision 1 stays deployed" in r.stderr
    text = summary(r)
    assert "there is no previous revision to roll back to" in text
    assert "revision before | none (first install)" in text


@pytest.mark.parametrize("major", MAJORS)
def test_smoke_fails_and_rollback_fails(tmp_path, major):
    r = run_deploy(tmp_path, sc.smoke_fails_rollback_fails(major), *sc.deploy_args())
    r.assert_script_followed()
    assert r.rc == 4, r.explain()
    assert "helm rollback to revision 3 FAILED" in summary(r)


@pytest.mark.parametrize("major", MAJORS)
def test_port_forward_that_cannot_start_counts_as_failed_smoke(tmp_path, major):
    r = run_deploy(tmp_path, sc.port_forward_cannot_start(major), *sc.deploy_args())
    r.assert_script_followed()
    assert r.rc == 3, r.explain()
    assert "port-forward to svc/api:8000 in october did not start" in r.stderr
    assert 'services "api" not found' in r.stderr


@pytest.mark.parametrize("major", MAJORS)
def test_lint_failure_stops_before_the_cluster_is_touched(tmp_path, major):
    r = run_deploy(tmp_path, sc.lint_fails(major), *sc.deploy_args())
    r.assert_script_followed()
    assert r.rc == 1, r.explain()
    assert "lint failed" in summary(r)


def test_no_port_forward_outlives_the_script(tmp_path):
    r = run_deploy(tmp_path, sc.smoke_fails_rolls_back(4), *sc.deploy_args())
    assert r.rc == 3, r.explain()
    # The held port-forward double records an error if nobody stops it; it must be gone.
    held = [c for c in r.calls if c["tool"] == "kubectl" and "port-forward" in c["argv"]]
    assert held and not r.errors


# --- rollback command ----------------------------------------------------------------------------
@pytest.mark.parametrize("major", MAJORS)
def test_rollback_goes_to_last_good_revision(tmp_path, major):
    r = run_deploy(tmp_path, sc.rollback_auto(major), "rollback")
    r.assert_script_followed()
    assert r.rc == 0, r.explain()
    assert "current revision 5 (deployed); last good revision before it: 3" in r.stdout


def test_rollback_without_history_says_so(tmp_path):
    r = run_deploy(tmp_path, sc.rollback_no_history(4), "rollback")
    r.assert_script_followed()
    assert r.rc == 4
    assert "release app has no history in namespace october: nothing to roll back" in r.stderr


def test_rollback_with_one_revision_says_so(tmp_path):
    r = run_deploy(tmp_path, sc.rollback_single_revision(4), "rollback")
    r.assert_script_followed()
    assert r.rc == 4
    assert "no good revision before revision 1 to roll back to" in r.stderr


def test_rollback_to_named_revision(tmp_path):
    s = Script().rollback(2).helm("history", "app", "--namespace", "october", "--max", "5",
                                  stdout="REVISION STATUS\n")
    r = run_deploy(tmp_path, s, "rollback", "--revision", "2")
    r.assert_script_followed()
    assert r.rc == 0, r.explain()


# --- diagnostics keep secrets out ------------------------------------------------------------------
def test_diagnostics_redact_secrets(tmp_path):
    values = ("api:\n  replicas: 1\nsecrets:\n  CELERY_BROKER_URL: redis://:hunter2@redis:6379/0\n"
              "  API_TOKEN: s3cr3t\nworker:\n  concurrency: 2\n")
    manifest = ("---\n# Source: october/templates/secret.yaml\napiVersion: v1\nkind: Secret\n"
                "metadata:\n  name: app-secret\ndata:\n  CELERY_BROKER_URL: aHVudGVyMg==\n"
                "---\nkind: Deployment\nmetadata:\n  name: api\n")
    s = Script().diagnostics(pods=("api-1",), values_stdout=values, manifest_stdout=manifest)
    r = run_deploy(tmp_path, s, "diagnostics", chart=False)
    r.assert_script_followed()
    assert r.rc == 0, r.explain()
    diag = r.out / "diagnostics"
    got_values = (diag / "helm-values.yaml").read_text()
    assert "hunter2" not in got_values and "s3cr3t" not in got_values
    assert "CELERY_BROKER_URL: <redacted>" in got_values and "concurrency: 2" in got_values
    got_manifest = (diag / "helm-manifest.yaml").read_text()
    assert "kind: Secret" not in got_manifest and "aHVudGVyMg" not in got_manifest
    assert "kind: Deployment" in got_manifest


# --- CI secrets check ------------------------------------------------------------------------------
def test_ci_setup_names_every_missing_secret(tmp_path):
    r = run_deploy(tmp_path, Script(), "ci-setup", chart=False,
                   extra_env={"GITHUB_ACTIONS": "true", "DEV_NAMESPACE": "october"})
    r.assert_script_followed()
    assert r.rc == 2
    for name in ("DEV_KUBECONFIG", "DEV_INGRESS_HOST"):
        assert f"::error title=deploy::secret {name} is missing or empty" in r.stdout
    assert "DEV_NAMESPACE is missing" not in r.stdout
    assert "Settings > Secrets and variables > Actions" in r.stdout


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: dev
  context: {cluster: dev, user: ci}
current-context: dev
users:
- name: ci
  user: {token: abc}
"""


def ci_env(tmp_path, kubeconfig_b64, **extra):
    env = {"GITHUB_ACTIONS": "true", "DEV_KUBECONFIG": kubeconfig_b64, "DEV_NAMESPACE": "october",
           "DEV_INGRESS_HOST": sc.HOST, "GITHUB_ENV": str(tmp_path / "github-env"),
           "RUNNER_TEMP": str(tmp_path)}
    env.update(extra)
    return env


def test_ci_setup_writes_private_kubeconfig(tmp_path):
    encoded = base64.b64encode(KUBECONFIG.encode()).decode()
    # Wrapped base64 (plain `base64` without -w0) is accepted too.
    wrapped = "\n".join(encoded[i:i + 76] for i in range(0, len(encoded), 76))
    r = run_deploy(tmp_path, Script(), "ci-setup", chart=False, extra_env=ci_env(tmp_path, wrapped))
    r.assert_script_followed()
    assert r.rc == 0, r.explain()
    config = tmp_path / "kubeconfig"
    assert config.read_text() == KUBECONFIG
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    assert (tmp_path / "github-env").read_text() == f"KUBECONFIG={config}\n"


@pytest.mark.parametrize("value, message", [
    ("not base64 at all!", "DEV_KUBECONFIG is not valid base64"),
    (base64.b64encode(b"hello: world\n").decode(), "does not decode to a kubeconfig"),
])
def test_ci_setup_rejects_bad_kubeconfig(tmp_path, value, message):
    r = run_deploy(tmp_path, Script(), "ci-setup", chart=False, extra_env=ci_env(tmp_path, value))
    assert r.rc == 2
    assert message in r.stdout and "kubectl config view --flatten --minify | base64 -w0" in r.stdout
    assert not (tmp_path / "kubeconfig").exists()


def test_ci_setup_rejects_url_as_ingress_host(tmp_path):
    encoded = base64.b64encode(KUBECONFIG.encode()).decode()
    r = run_deploy(tmp_path, Script(), "ci-setup", chart=False,
                   extra_env=ci_env(tmp_path, encoded, DEV_INGRESS_HOST="http://api.example.com/"))
    assert r.rc == 2 and "DEV_INGRESS_HOST must be a bare host name" in r.stdout


# --- usage errors touch nothing ------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["deploy", "--image-tag", "bad tag!"], "is not a valid image tag"),
    (["deploy", "--host", "http://api.example.com"], "is not a host name"),
    (["deploy", "--namespace", "Bad_NS"], "is not a Kubernetes namespace name"),
    (["deploy", "--registry", "GHCR.io/Acme"], "is not a lowercase registry path"),
    (["deploy", "--timeout", "five"], "--timeout needs a duration"),
    (["deploy", "--bogus"], "unknown argument '--bogus'"),
    (["rollback", "--revision", "x"], "--revision needs a revision number"),
    (["smoke", "--smoke-via", "ingress"], "--smoke-via ingress needs --host"),
    (["frobnicate"], "unknown command 'frobnicate'"),
])
def test_usage_errors(tmp_path, args, message):
    r = run_deploy(tmp_path, Script(), *args)
    assert r.rc == 2, r.explain()
    assert message in r.output
    assert r.calls == [], "nothing may run on a usage error"


def test_missing_values_file_is_named(tmp_path):
    r = run_deploy(tmp_path, Script().version(), *sc.deploy_args()[:1], "--env", "qa")
    assert r.rc == 2
    assert f"values file {Script().chart}/values-qa.yaml not found" in r.output


def test_help_lists_every_command(tmp_path):
    r = run_deploy(tmp_path, Script(), "help", chart=False)
    assert r.rc == 0
    for cmd in ("deploy", "lint", "template", "upgrade", "smoke", "history", "rollback",
                "diagnostics", "ci-setup"):
        assert f"  {cmd} " in r.stdout
