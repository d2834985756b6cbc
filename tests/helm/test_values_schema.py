"""values.schema.json (and templates/validate.yaml for checks across values) refuse bad values
with a message naming the key, under Helm 4 and Helm 3; the chart's own values files pass.

Each fixture in fixtures/bad-values holds one mistake and says, in its header, what the error
must name:  `# path: a.b.c` (the key, as a.b.c or /a/b/c), `# message: text` (in both Helms'
words), `# with: values-prod.yaml` (chart values files applied first), `# api-versions: x/v1`."""

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

import helmlib

helmlib.require_tools()

BAD = sorted((helmlib.FIXTURES / "bad-values").glob("*.yaml"))


def header(path, key):
    return re.findall(rf"^# {key}: (.+)$", path.read_text(), flags=re.M)


def path_named(output, dotted):
    # Helm 4: at '/api/image/tag'; Helm 3: api.image.tag (or (root) for top-level keys).
    slashed = "/" + dotted.replace(".", "/")
    return dotted in output or slashed in output


def run_fixture(fixture, helm):
    values = [helmlib.CHART / name for name in header(fixture, "with")] + [fixture]
    return helmlib.run_helm(helmlib.helm_args(values, (), header(fixture, "api-versions")), helmlib.HELMS[helm])


@pytest.fixture(scope="module")
def results():
    """Every (fixture, helm) run at once, four at a time: helm starts slowly."""
    jobs = [(f, h) for f in BAD for h in helmlib.HELMS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(jobs, pool.map(lambda job: run_fixture(*job), jobs)))


@pytest.mark.parametrize("helm", helmlib.HELMS)
@pytest.mark.parametrize("fixture", BAD, ids=[p.stem for p in BAD])
def test_bad_values_are_refused_with_a_clear_message(results, fixture, helm):
    paths, messages = header(fixture, "path"), header(fixture, "message")
    assert paths or messages, f"{fixture.name}: no '# path:' or '# message:' header"
    result = results[(fixture, helm)]
    output = result.stderr
    assert result.returncode != 0, f"{fixture.name} was accepted:\n{result.stdout[:500]}"
    assert "Error:" in output, output
    for dotted in paths:
        assert path_named(output, dotted), f"the error does not name {dotted}:\n{output}"
    for text in messages:
        assert text.lower() in output.lower(), f"the error does not say {text!r}:\n{output}"


@pytest.mark.parametrize("helm", helmlib.HELMS)
@pytest.mark.parametrize("scenario", helmlib.SCENARIOS)
def test_good_values_are_accepted(scenario, helm):
    spec = helmlib.SCENARIOS[scenario]
    result = helmlib.run_helm(helmlib.helm_args(spec.get("values", ()), (), spec.get("api_versions", ())),
                              helmlib.HELMS[helm])
    assert result.returncode == 0, result.stderr


def test_schema_knows_every_key_of_values_yaml():
    """values.yaml validates against a schema that refuses unknown keys (checked above), and every
    object the schema describes refuses unknown keys, except free-form maps."""
    schema = json.loads((helmlib.CHART / "values.schema.json").read_text())
    free_form = []

    def walk(node, where):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            walk(schema["definitions"][name], f"{where}<{name}>")
            return
        for key in ("oneOf", "anyOf"):
            for i, sub in enumerate(node.get(key, [])):
                walk(sub, f"{where}|{i}")
        if node.get("type") == "object" and "properties" in node:
            if node.get("additionalProperties", True) is True:
                free_form.append(where)
            for name, sub in node["properties"].items():
                walk(sub, f"{where}.{name}")

    walk(schema, "")
    assert not free_form, f"objects with properties that accept unknown keys: {free_form}"
