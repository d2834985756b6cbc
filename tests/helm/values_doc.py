#!/usr/bin/python3
"""The value table of the chart's README.md, generated from values.yaml.

A `# -- text` comment line (continued by the plain comment lines right under it) documents the key
that follows it. Every leaf of values.yaml must be documented, by itself or by an ancestor (a map
like `config` documented as a whole). The table sits in README.md between
<!-- values-table:start --> and <!-- values-table:end -->.

  values_doc.py --check   exit 1 (and print a diff) when README.md's table is not the generated one
  values_doc.py --write   regenerate the table in README.md
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path

import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "api"
START, END = "<!-- values-table:start -->", "<!-- values-table:end -->"
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_][A-Za-z0-9_.\-/]*):(?:\s|$)")


class DocError(Exception):
    pass


def documented_keys(text: str) -> list[tuple[str, str]]:
    """(dotted key path, description) of every documented key, in file order."""
    docs, stack, pending = [], [], None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            pending = None
            continue
        if stripped.startswith("# --"):
            pending = stripped[4:].strip()
            continue
        if stripped.startswith("#"):
            if pending is not None:
                pending += " " + stripped[1:].strip()
            continue
        match = KEY.match(line)
        if not match or stripped.startswith("- "):
            pending = None
            continue
        indent = len(match.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group("key")))
        path = ".".join(k for _, k in stack)
        if pending is not None:
            if not pending:
                raise DocError(f"values.yaml:{number}: empty '# --' description for {path}")
            docs.append((path, pending))
        pending = None
    return docs


def leaves(data, prefix=""):
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix


def lookup(data, path):
    for part in path.split("."):
        data = data[part]
    return data


def type_name(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(values_text: str) -> str:
    data = yaml.safe_load(values_text)
    docs = documented_keys(values_text)
    paths = [p for p, _ in docs]
    duplicates = {p for p in paths if paths.count(p) > 1}
    if duplicates:
        raise DocError(f"documented twice: {sorted(duplicates)}")
    undocumented = [leaf for leaf in leaves(data)
                    if not any(leaf == p or leaf.startswith(p + ".") for p in paths)]
    if undocumented:
        raise DocError("values without a '# --' description: " + ", ".join(undocumented))
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for path, description in docs:
        value = lookup(data, path)
        default = json.dumps(value, separators=(", ", ": "))
        rows.append(f"| `{cell(path)}` | {type_name(value)} | `{cell(default)}` | {cell(description)} |")
    return "\n".join(rows)


def readme_with_table(readme: str, generated: str) -> str:
    if START not in readme or END not in readme:
        raise DocError(f"README.md lacks the {START} / {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{generated}\n{END}{tail}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("--check", "--write"):
        print(__doc__, file=sys.stderr)
        return 2
    readme_path = CHART / "README.md"
    readme = readme_path.read_text()
    try:
        wanted = readme_with_table(readme, table((CHART / "values.yaml").read_text()))
    except DocError as err:
        print(f"values_doc: {err}", file=sys.stderr)
        return 1
    if argv[1] == "--write":
        readme_path.write_text(wanted)
        return 0
    if wanted != readme:
        sys.stdout.writelines(difflib.unified_diff(readme.splitlines(True), wanted.splitlines(True),
                                                   "README.md", "generated"))
        print("values_doc: README.md's value table is stale: run tests/helm/values_doc.py --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
