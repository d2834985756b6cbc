"""The alert rules, extracted from the rendered PrometheusRule: `promtool check rules`, then
`promtool test rules` with alerts_test.yaml (input series proving each alert fires and stays
quiet when it should). Negative runs prove the unit tests bite: rendered with higher thresholds
the firing cases fail, with lower thresholds the quiet cases fail."""

import re
import shutil
import subprocess

import pytest
import yaml

import helmlib

helmlib.require_tools()

TESTS = helmlib.HERE / "alerts_test.yaml"


def rules_spec(values=()):
    rendered = helmlib.render(values=values, api_versions=[helmlib.MONITORING_API])
    return rendered.get("PrometheusRule", "october")["spec"]


def promtool_test(tmp_path, spec):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    shutil.copy(TESTS, tmp_path / "alerts_test.yaml")
    return subprocess.run([helmlib.PROMTOOL, "test", "rules", "alerts_test.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def failures(output):
    """(alert, expected any, got any) of each failed case in promtool's report."""
    found = re.findall(r"alertname: (\w+), time: \S+,\s*exp:\[(.*?)\],\s*got:\[(.*?)\]", output, flags=re.S)
    return [(alert, bool(exp.strip()), bool(got.strip())) for alert, exp, got in found]


def alerts(spec):
    return {rule["alert"] for group in spec["groups"] for rule in group["rules"] if "alert" in rule}


def test_promtool_check_rules(tmp_path):
    spec = rules_spec()
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = subprocess.run([helmlib.PROMTOOL, "check", "rules", str(tmp_path / "rules.yaml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts(spec))} rules found" in result.stdout, result.stdout


def test_promtool_unit_tests_pass(tmp_path):
    result = promtool_test(tmp_path, rules_spec())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_firing_and_quiet_cases():
    spec = rules_spec()
    cases = [case for test in yaml.safe_load(TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    fires = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert alerts(spec) - fires == set(), "alerts never shown firing"
    assert alerts(spec) - quiet == set(), "alerts never shown quiet"
    assert (fires | quiet) - alerts(spec) == set(), "tests of alerts the chart does not have"


THRESHOLD_ALERTS = ["OctoberApiHigh5xxRate", "OctoberApiHighLatency", "OctoberWorkerTaskFailures",
                    "OctoberQueueBacklog"]


@pytest.mark.parametrize("expected,got,thresholds", [
    # Thresholds above the firing cases' values: an alert expected but none fired.
    (True, False, {"apiErrorRatio": 0.5, "apiLatencyP95Seconds": 5, "workerFailureRatio": 0.5,
                           "queueBacklog": 1000}),
    # Thresholds under the quiet cases' values: no alert expected but one fired.
    (False, True, {"apiErrorRatio": 0.01, "apiLatencyP95Seconds": 0.05, "workerFailureRatio": 0.01,
                          "queueBacklog": 10}),
])
def test_unit_tests_catch_wrong_thresholds(tmp_path, expected, got, thresholds):
    values = tmp_path / "thresholds.yaml"
    values.write_text(yaml.safe_dump({"metrics": {"prometheusRule": thresholds}}))
    result = promtool_test(tmp_path, rules_spec([values]))
    assert result.returncode != 0, f"promtool passed with thresholds {thresholds}"
    found = failures(result.stdout + result.stderr)
    for alert in THRESHOLD_ALERTS:
        assert (alert, expected, got) in found, f"{alert}: no case failing with expected={expected} got={got}: {found}"


def test_unit_tests_catch_a_broken_expression(tmp_path):
    """An api-down rule that watches the wrong job fires while the api is up: its quiet case fails."""
    spec = rules_spec()
    for group in spec["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == "OctoberApiDown":
                rule["expr"] = rule["expr"].replace('job="api"', 'job="apii"')
    result = promtool_test(tmp_path, spec)
    assert result.returncode != 0
    assert ("OctoberApiDown", False, True) in failures(result.stdout + result.stderr)
