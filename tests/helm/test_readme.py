"""The chart README's value table is the one generated from values.yaml's `# --` comments, every
value is documented, and the documented keys are the schema's. Negative cases prove the generator
refuses an undocumented value and that a stale table is noticed."""

import json
import subprocess

import pytest

import helmlib
import values_doc


def test_readme_table_is_generated_from_values_yaml():
    result = subprocess.run(["/usr/bin/python3", str(helmlib.HERE / "values_doc.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_documented_keys_exist_in_the_schema():
    schema = json.loads((helmlib.CHART / "values.schema.json").read_text())

    def resolve(node):
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    missing = []
    for path, _ in values_doc.documented_keys((helmlib.CHART / "values.yaml").read_text()):
        node = schema
        for part in path.split("."):
            properties = resolve(node).get("properties", {})
            if part not in properties:
                missing.append(path)
                break
            node = properties[part]
    assert not missing, f"documented in values.yaml but unknown to values.schema.json: {missing}"


def test_undocumented_value_is_refused():
    text = "api:\n  # -- Replicas.\n  replicas: 1\n  newKnob: true\n"
    with pytest.raises(values_doc.DocError, match="api.newKnob"):
        values_doc.table(text)


def test_ancestor_documents_its_children():
    text = "# -- All of it.\nconfig:\n  A: 1\n  B: two\n"
    assert "| `config` | object |" in values_doc.table(text)


def test_stale_table_is_noticed():
    readme = (helmlib.CHART / "README.md").read_text()
    values = (helmlib.CHART / "values.yaml").read_text()
    changed = values.replace("maxReplicas: 5", "maxReplicas: 7", 1)
    assert changed != values
    assert values_doc.readme_with_table(readme, values_doc.table(values)) == readme
    assert values_doc.readme_with_table(readme, values_doc.table(changed)) != readme
