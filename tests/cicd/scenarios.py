"""The deploy scenarios: what scripts/deploy.sh (directly or through a Makefile target) must
ask helm, kubectl and the smoke script, in order, for each situation.

Used by test_deploy_logic.py and test_make_targets.py (against the doubles) and by
test_doubles_honest.py (every helm/kubectl argument list checked against the real binaries).
Each builder takes the Helm major version (3 or 4) and returns a Script.
"""

from __future__ import annotations

from cicd_support import Script

HOST = "api.127.0.0.1.nip.io"
REGISTRY = "ghcr.io/acme"
TAG = "sha-abc1234"
HISTORY_BEFORE = [(1, "superseded"), (2, "superseded"), (3, "deployed")]
HISTORY_AFTER = [(1, "superseded"), (2, "superseded"), (3, "superseded"), (4, "deployed")]


def deploy_args(atomic: bool = True) -> list[str]:
    args = ["deploy", "--host", HOST, "--registry", REGISTRY, "--image-tag", TAG]
    return args + (["--atomic"] if atomic else [])


def _start(major: int):
    s = Script(helm_major=major)
    v = s.values(HOST, REGISTRY, TAG)
    s.version().lint(v).template(v)
    return s, v


def deploy_ok(major):
    """Upgrade succeeds, smoke through the ingress passes: nothing else happens."""
    s, v = _start(major)
    return s.history(HISTORY_BEFORE).upgrade(v).history(HISTORY_AFTER).smoke(HOST)


def deploy_ok_via_port_forward(major):
    """The ingress is not reachable from where the deploy runs; the port-forward smoke passes."""
    s, v = _start(major)
    s.history(HISTORY_BEFORE).upgrade(v).history(HISTORY_AFTER).smoke(HOST, exit=1)
    return s.port_forward().smoke("127.0.0.1:43123")


def upgrade_fails_atomic(major):
    """Helm undoes the failed upgrade itself (revision 5 is its rollback to 3): diagnostics, no
    rollback of our own, exit 1."""
    s, v = _start(major)
    s.history(HISTORY_BEFORE).upgrade(v, exit=1)
    s.history([(1, "superseded"), (2, "superseded"), (3, "superseded"), (4, "failed"),
               (5, "deployed")])
    return s.diagnostics()


def upgrade_fails_not_atomic(major):
    """Without --atomic the script collects diagnostics while the failed pods still exist, then
    rolls back to the last good revision."""
    s, v = _start(major)
    s.history(HISTORY_BEFORE).upgrade(v, atomic=False, exit=1)
    s.history([(1, "superseded"), (2, "superseded"), (3, "deployed"), (4, "failed")])
    s.diagnostics()
    return s.rollback(3).history([(1, "superseded"), (2, "superseded"), (3, "superseded"),
                                  (4, "failed"), (5, "deployed")])


def first_install_fails_not_atomic(major):
    """A failed first install has no previous revision: diagnostics and a clear message."""
    s, v = _start(major)
    s.history(None).upgrade(v, atomic=False, exit=1).history([(1, "failed")])
    return s.diagnostics()


def smoke_fails_rolls_back(major):
    """Upgrade succeeds, smoke fails through the ingress and the port-forward: diagnostics of the
    broken revision, rollback to the one before, exit 3."""
    s, v = _start(major)
    s.history(HISTORY_BEFORE).upgrade(v).history(HISTORY_AFTER).smoke(HOST, exit=1)
    s.port_forward().smoke("127.0.0.1:43123", exit=1)
    s.diagnostics()
    return s.rollback(3).history(HISTORY_AFTER[:-1] + [(4, "superseded"), (5, "deployed")])


def smoke_fails_skips_failed_revision(major):
    """The last good revision is the newest deployed/superseded one: failed revisions between are
    skipped."""
    s, v = _start(major)
    before = [(1, "superseded"), (2, "deployed"), (3, "failed")]
    after = [(1, "superseded"), (2, "superseded"), (3, "failed"), (4, "deployed")]
    s.history(before).upgrade(v).history(after).smoke(HOST, exit=1)
    s.port_forward().smoke("127.0.0.1:43123", exit=1).diagnostics()
    return s.rollback(2).history(after[:-1] + [(4, "superseded"), (5, "deployed")])


def smoke_fails_no_previous_revision(major):
    """First install, smoke fails: nothing to roll back to; exit 4 with a clear message."""
    s, v = _start(major)
    s.history(None).upgrade(v).history([(1, "deployed")]).smoke(HOST, exit=1)
    return s.port_forward().smoke("127.0.0.1:43123", exit=1).diagnostics()


def smoke_fails_rollback_fails(major):
    s, v = _start(major)
    s.history(HISTORY_BEFORE).upgrade(v).history(HISTORY_AFTER).smoke(HOST, exit=1)
    s.port_forward().smoke("127.0.0.1:43123", exit=1).diagnostics()
    return s.rollback(3, exit=1)


def port_forward_cannot_start(major):
    """The port-forward fallback itself fails (no such Service): smoke failed, rollback."""
    s, v = _start(major)
    s.history(HISTORY_BEFORE).upgrade(v).history(HISTORY_AFTER).smoke(HOST, exit=1)
    s.port_forward(exit=1).diagnostics()
    return s.rollback(3).history(HISTORY_AFTER[:-1] + [(4, "superseded"), (5, "deployed")])


def lint_fails(major):
    s = Script(helm_major=major)
    v = s.values(HOST, REGISTRY, TAG)
    return s.version().lint(v, exit=1)


def rollback_auto(major):
    """`deploy.sh rollback` without --revision: to the last good revision before the current."""
    s = Script(helm_major=major)
    s.history([(2, "superseded"), (3, "superseded"), (4, "failed"), (5, "deployed")])
    return s.rollback(3).helm("history", "app", "--namespace", "october", "--max", "5",
                              stdout="REVISION STATUS\n")


def rollback_no_history(major):
    return Script(helm_major=major).history(None)


def rollback_single_revision(major):
    return Script(helm_major=major).history([(1, "deployed")])


DEPLOY_SCENARIOS = [deploy_ok, deploy_ok_via_port_forward, upgrade_fails_atomic,
                    upgrade_fails_not_atomic, first_install_fails_not_atomic,
                    smoke_fails_rolls_back, smoke_fails_skips_failed_revision,
                    smoke_fails_no_previous_revision, smoke_fails_rollback_fails,
                    port_forward_cannot_start, lint_fails, rollback_auto, rollback_no_history,
                    rollback_single_revision]


# --- what the Makefile targets must run (CHART=tests/cicd/fixtures/chart) -----------------------
def make_helm_lint(major):
    s = Script(helm_major=major)
    return s.lint(s.values(tag="dev"))


def make_helm_template_dev(major):
    s = Script(helm_major=major)
    return s.template(s.values(tag="dev"))


def make_helm_up_dev(major):
    s = Script(helm_major=major)
    return s.version().upgrade(s.values(tag="dev"), atomic=False)


def make_helm_up_dev_atomic(major):
    s = Script(helm_major=major)
    return s.version().upgrade(s.values(host=HOST, tag="dev"), atomic=True)


def make_helm_up_dev_local(major):
    """A local image on minikube/kind: registry, tag and extra values from make variables."""
    s = Script(helm_major=major)
    return s.version().upgrade(s.values(host=HOST, registry="ghcr.io/me", tag="local",
                                        sets=["image.pullPolicy=IfNotPresent",
                                              "api.replicas=2"]), atomic=False)


def make_helm_history(major):
    return Script(helm_major=major).helm("history", "app", "--namespace", "october",
                                         stdout="REVISION STATUS\n")


def make_helm_rollback(major):
    s = Script(helm_major=major)
    return s.rollback(3).helm("history", "app", "--namespace", "october", "--max", "5",
                              stdout="REVISION STATUS\n")


def make_smoke_ci(major):
    return Script(helm_major=major).smoke(HOST)


def make_smoke_pf(major):
    return Script(helm_major=major).port_forward().smoke("127.0.0.1:43123")


def make_smoke_pf_port(major):
    return Script(helm_major=major).port_forward(local_port="8080", port=8080).smoke("127.0.0.1:8080")


def _make_cd(major, atomic):
    s = Script(helm_major=major)
    v = s.values(HOST, tag="dev")
    s.version().lint(v).template(v).history(HISTORY_BEFORE).upgrade(v, atomic=atomic)
    return s.history(HISTORY_AFTER).smoke(HOST)


def make_cd_dev(major):
    return _make_cd(major, atomic=False)


def make_cd_dev_atomic(major):
    return _make_cd(major, atomic=True)


# target, make variables, scenario
MAKE_SCENARIOS = [
    ("helm-lint", {}, make_helm_lint),
    ("helm-template-dev", {}, make_helm_template_dev),
    ("helm-up-dev", {}, make_helm_up_dev),
    ("helm-up-dev-atomic", {"DEV_HOST": HOST}, make_helm_up_dev_atomic),
    ("helm-up-dev", {"DEV_HOST": HOST, "REGISTRY": "ghcr.io/me", "IMAGE_TAG": "local",
                     "SET": "image.pullPolicy=IfNotPresent api.replicas=2"}, make_helm_up_dev_local),
    ("helm-history", {}, make_helm_history),
    ("helm-rollback", {"REV": "3"}, make_helm_rollback),
    ("smoke-ci", {"HOST": HOST}, make_smoke_ci),
    ("smoke-pf", {}, make_smoke_pf),
    ("smoke-pf", {"PF_PORT": "8080"}, make_smoke_pf_port),
    ("cd-dev", {"DEV_HOST": HOST}, make_cd_dev),
    ("cd-dev-atomic", {"DEV_HOST": HOST}, make_cd_dev_atomic),
]


def all_scripts():
    """Every scripted scenario for both Helm majors: (label, Script)."""
    for major in (3, 4):
        for builder in DEPLOY_SCENARIOS:
            yield f"{builder.__name__}[helm{major}]", builder(major)
        for target, variables, builder in MAKE_SCENARIOS:
            yield f"make {target} {variables}[helm{major}]", builder(major)
