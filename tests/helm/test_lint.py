"""helm lint --strict with each values file, under Helm 4 and Helm 3; yamllint on the values files
and on the rendered manifests (yamllint cannot read templates); shellcheck on the helm test script."""

import subprocess

import pytest

import helmlib

helmlib.require_tools()

YAMLLINT_CONFIG = (
    "{extends: default, rules: {line-length: disable, document-start: disable,"
    " comments: {min-spaces-from-content: 1}, indentation: {spaces: consistent, indent-sequences: whatever}}}"
)
VALUES_SETS = {
    "default": [],
    "dev": ["-f", str(helmlib.VALUES_DEV)],
    "prod": ["-f", str(helmlib.VALUES_PROD)],
    # What CD runs: both files, the host and the tag from the command line.
    "cd-dev": ["-f", str(helmlib.CHART / "values.yaml"), "-f", str(helmlib.VALUES_DEV),
               "--set", "api.ingress.host=api.192.168.49.2.nip.io", "--set", "api.image.tag=dev"],
}


@pytest.mark.parametrize("helm", helmlib.HELMS)
@pytest.mark.parametrize("values", VALUES_SETS)
def test_helm_lint_strict(helm, values):
    result = helmlib.run_helm(["lint", "--strict", str(helmlib.CHART), "--namespace", helmlib.NAMESPACE,
                               *VALUES_SETS[values]], helmlib.HELMS[helm])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 chart(s) linted, 0 chart(s) failed" in output, output
    assert "[WARNING]" not in output and "[ERROR]" not in output, output


def test_yamllint_values_files():
    files = sorted(str(p) for p in helmlib.CHART.glob("values*.yaml"))
    files += [str(helmlib.CHART / "Chart.yaml")]
    result = subprocess.run(["yamllint", "-s", "-d", YAMLLINT_CONFIG, *files],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("scenario", helmlib.SCENARIOS)
def test_yamllint_rendered(scenario, tmp_path):
    spec = helmlib.SCENARIOS[scenario]
    result = helmlib.run_helm(helmlib.helm_args(spec.get("values", ()), (), spec.get("api_versions", ())))
    assert result.returncode == 0, result.stderr
    out = tmp_path / f"{scenario}.yaml"
    out.write_text(result.stdout)
    lint = subprocess.run(["yamllint", "-s", "-d", YAMLLINT_CONFIG, str(out)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_shellcheck_smoke_script():
    result = subprocess.run(["shellcheck", "-s", "sh", str(helmlib.CHART / "files" / "smoke-test.sh")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
