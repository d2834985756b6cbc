"""Every shell script of the repository passes shellcheck; every YAML file passes yamllint with
the committed .yamllint (Helm templates excepted: they are Go templates, checked rendered)."""

from __future__ import annotations

import os
import subprocess

import cicd_support as cs

SKIP_DIRS = {".git", "build", ".cache", ".run", "node_modules", "__pycache__"}


def repo_files(predicate):
    found = []
    for root, dirs, files in os.walk(cs.REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            path = os.path.join(root, name)
            if predicate(path):
                found.append(os.path.relpath(path, cs.REPO))
    return sorted(found)


def is_shell_script(path: str) -> bool:
    if path.endswith(".sh"):
        return True
    try:
        with open(path, "rb") as f:
            first = f.readline(100)
    except OSError:
        return False
    return first.startswith(b"#!") and (b"bash" in first or first.rstrip().endswith(b"/sh"))


def test_every_shell_script_passes_shellcheck():
    scripts = repo_files(is_shell_script)
    for must in ("scripts/deploy.sh", "scripts/diagnostics.sh", "scripts/smoke.sh", ".ci/run"):
        assert must in scripts, f"{must} not found among {scripts}"
    proc = subprocess.run(["shellcheck", "--severity=style", *scripts], cwd=cs.REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_delivery_scripts_are_executable():
    for script in ("scripts/deploy.sh", "scripts/diagnostics.sh", "scripts/smoke.sh"):
        assert os.access(cs.REPO / script, os.X_OK), f"{script} is not executable"


def test_every_yaml_file_passes_yamllint():
    assert (cs.REPO / ".yamllint").is_file()
    proc = subprocess.run(["yamllint", "--strict", "--format", "parsable", "."], cwd=cs.REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_yamllint_covers_the_workflows_and_catches_mistakes(tmp_path):
    """The workflows are linted (not ignored), and the config does reject bad YAML."""
    proc = subprocess.run(["yamllint", "--strict", "--list-files", "."], cwd=cs.REPO,
                          capture_output=True, text=True, timeout=120)
    listed = {os.path.normpath(p) for p in proc.stdout.split()}
    for must in (".github/workflows/ci.yml", ".github/workflows/cd.yml", ".yamllint",
                 "deploy/helm/api/values-dev.yaml"):
        if (cs.REPO / must).exists():
            assert must in listed, f"yamllint skips {must}"
    bad = tmp_path / "bad.yml"
    bad.write_text("key: value\nkey: other\nlist:\n- a\n  - b\n")
    proc = subprocess.run(["yamllint", "--strict", "-c", str(cs.REPO / ".yamllint"), str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "duplication of key" in proc.stdout
