#!/usr/bin/env python3
"""Checks that docs/ARCHITECTURE.md still describes the code it is about.

It fails, naming each breach, when
  - a repository path the page names in backticks (`src/...`, `tests/...`, `deploy/...`, ...)
    does not exist;
  - a subsystem library (a folder under src/ with a CMakeLists.txt) has no section of its own
    (a heading that names `src/<subsystem>/`);
  - a section's "May depend on:" line disagrees with the subsystem graph check_layout.py
    enforces, so the page cannot promise a layering the build does not hold;
  - the page has a subsystem section for a folder that is gone.

Usage: check_architecture.py --source <repo> [--page docs/ARCHITECTURE.md]
"""

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from check_layout import ALLOWED, report  # noqa: E402

# Top-level folders whose paths the page may name; anything else in backticks (identifiers,
# commands, URLs) is not a path claim.
ROOTS = ("src/", "tests/", "deploy/", "docs/", "cmake/", "scripts/", "bench/", "docker/",
         "tools/", "mk/", ".github/", ".ci/")
CODE = re.compile(r"`([^`\s]+)`")
SECTION = re.compile(r"^#{2,4}\s+`src/([a-z_]+)/`", re.MULTILINE)
DEPENDS = re.compile(r"^May depend on:\s*(.*)$", re.MULTILINE)


def named_paths(text):
    for token in CODE.findall(text):
        if token.startswith(ROOTS):
            # `src/api/routes_*.cpp` and `src/api/routes_<group>.cpp` name a pattern: it must
            # match at least one file.
            yield re.sub(r"<[a-z_]+>", "*", token.rstrip(".,:;"))


def sections(text):
    """{subsystem: body of its section up to the next heading of the same or higher level}."""
    found = {}
    matches = list(SECTION.finditer(text))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        following = re.search(r"^#{1,3}\s", text[m.end():end], re.MULTILINE)
        found[m.group(1)] = text[m.end():m.end() + following.start() if following else end]
    return found


def declared_dependencies(body):
    m = DEPENDS.search(body)
    if not m:
        return None
    line = m.group(1).strip()
    if line.lower().startswith("nothing"):
        return set()
    return set(re.findall(r"`(?:src/)?([a-z_]+)/?`", line))


def check(source, page):
    source = Path(source)
    errors = []
    path = source / page
    if not path.exists():
        return [f"{page} does not exist"]
    text = path.read_text()
    for name in sorted(set(named_paths(text))):
        if any(ch in name for ch in "*?["):
            if not list(source.glob(name)):
                errors.append(f"{page} names {name}, which matches nothing")
        elif not (source / name.rstrip("/")).exists():
            errors.append(f"{page} names {name}, which does not exist")
    present = sorted(p.name for p in (source / "src").iterdir() if (p / "CMakeLists.txt").exists())
    described = sections(text)
    for subsystem in present:
        if subsystem not in described:
            errors.append(f"{page} has no section for the library in src/{subsystem}/")
            continue
        declared = declared_dependencies(described[subsystem])
        if declared is None:
            errors.append(f"{page}: the src/{subsystem}/ section has no 'May depend on:' line")
        elif subsystem in ALLOWED and declared != ALLOWED[subsystem]:
            errors.append(f"{page}: src/{subsystem}/ may depend on "
                          f"{', '.join(sorted(ALLOWED[subsystem])) or 'nothing'} "
                          f"(check_layout.py), the page says "
                          f"{', '.join(sorted(declared)) or 'nothing'}")
    for subsystem in sorted(set(described) - set(present)):
        errors.append(f"{page} describes src/{subsystem}/, which is not a library folder")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the repository root")
    parser.add_argument("--page", default="docs/ARCHITECTURE.md")
    args = parser.parse_args()
    return report("architecture", check(args.source, args.page), f"{args.page} matches the tree")


if __name__ == "__main__":
    sys.exit(main())
