#!/usr/bin/env python3
"""Checks that src/ keeps the subsystem graph docs/ARCHITECTURE.md describes.

Two inputs: the include lines of every file under src/<subsystem>/, and the link graph CMake
writes at configure time (tests/layout/CMakeLists.txt: each october target, its folder and its
direct links). It fails, naming each breach, when
  - a subsystem includes or links a subsystem it must not (an upward edge or a cycle);
  - a folder's include lines and its targets' link lines disagree (it uses what it does not link,
    or links what it does not use);
  - a third-party library (Beast/Asio, hiredis, primesieve, OpenSSL, spdlog) is included or
    linked outside the subsystem that owns it;
  - src/ has a subsystem folder the rules below do not place;
  - a source file under src/ runs over MAX_LINES lines without saying why in its opening
    comment (a comment among its first lines containing "lines").

Usage: check_layout.py --source <repo> --graph <build>/october_link_graph.dot
"""

import argparse
import re
import sys
from pathlib import Path

# What each subsystem may depend on (directly). Lower layers never name higher ones.
ALLOWED = {
    "core": set(),
    "http": {"core"},
    "redis": {"core"},
    "crypto": {"core"},
    "tasks": {"core"},
    "configdir": {"core"},
    "celery": {"core", "redis", "crypto"},
    "service": {"core", "http", "redis"},
    "api": {"core", "http", "redis", "crypto", "celery", "tasks", "service", "configdir"},
    "worker": {"core", "http", "redis", "celery", "tasks", "service"},
}

# Third-party code and who may use it: include pattern, link pattern, and the owners (subsystem
# folders, or single files for spdlog, which stays behind log.hpp).
EXTERNALS = {
    "Beast/Asio": (r"boost/(beast|asio)\b", None, {"src/http"}),
    "hiredis": (r"hiredis/", r"hiredis", {"src/redis"}),
    "primesieve": (r"primesieve", r"primesieve", {"src/tasks"}),
    "OpenSSL": (r"openssl/", r"openssl", {"src/celery", "src/crypto", "src/tasks"}),
    "spdlog": (r"spdlog/", r"spdlog", {"src/core/log.cpp", "src/core/log.hpp"}),
}

# Past this a file is usually two jobs; one that is not says so at its top.
MAX_LINES = 350
OPENING = 5  # how many lines the reason may start within

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
NODE = re.compile(r'^\s*"([^"]+)"\s*\[folder="([^"]+)"\];\s*$')
EDGE = re.compile(r'^\s*"([^"]+)"\s*->\s*"([^"]+)";\s*$')


def read_graph(path):
    """Returns ({target: folder}, [(target, linked item)])."""
    folders, edges = {}, []
    for line in Path(path).read_text().splitlines():
        if m := NODE.match(line):
            folders[m.group(1)] = m.group(2)
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
    return folders, edges


def owned_by(path, owners):
    return any(path == owner or path.startswith(owner + "/") for owner in owners)


def check_includes(source, errors):
    """Returns {subsystem: subsystems its files include}, {subsystem: externals included}."""
    uses, externals = {}, {}
    src = source / "src"
    for file in sorted(src.rglob("*")):
        if file.suffix not in {".cpp", ".hpp", ".h"}:
            continue
        rel = file.relative_to(source).as_posix()
        subsystem = file.relative_to(src).parts[0]
        for kind, target in INCLUDE.findall(file.read_text(errors="replace")):
            for name, (pattern, _, owners) in EXTERNALS.items():
                if kind == "<" and re.match(pattern, target, re.IGNORECASE):
                    externals.setdefault(subsystem, set()).add(name)
                    if not owned_by(rel, owners):
                        errors.append(f"{rel} includes <{target}>: {name} belongs to "
                                      f"{', '.join(sorted(owners))} only")
            if kind != '"' or "/" not in target:
                continue
            other = target.split("/")[0]
            if other == subsystem:
                continue
            uses.setdefault(subsystem, set()).add(other)
            if other not in ALLOWED:
                errors.append(f'{rel} includes "{target}": no subsystem src/{other}')
            elif other not in ALLOWED.get(subsystem, set()):
                errors.append(f'{rel} includes "{target}": {subsystem} must not depend on '
                              f"{other}")
    return uses, externals


def find_cycle(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [node])):
            return cycle
    return None


def check_links(folders, edges, errors):
    """Returns {subsystem: subsystems its targets link}, {subsystem: externals linked}."""
    links, externals = {}, {}
    own = [(a, b) for a, b in edges if b in folders]
    if cycle := find_cycle(own):
        errors.append("link cycle: " + " -> ".join(cycle))
    for a, b in edges:
        folder = folders.get(a, "?")
        subsystem = folder.split("/")[-1]
        if b in folders:
            other = folders[b].split("/")[-1]
            if other == subsystem:
                continue
            links.setdefault(subsystem, set()).add(other)
            if other not in ALLOWED.get(subsystem, set()):
                errors.append(f"{a} links {b}: {subsystem} must not depend on {other}")
            continue
        for name, (_, pattern, owners) in EXTERNALS.items():
            if pattern and re.search(pattern, b, re.IGNORECASE):
                externals.setdefault(subsystem, set()).add(name)
                owner_folders = {o if "." not in o else o.rsplit("/", 1)[0] for o in owners}
                if folder not in owner_folders:
                    errors.append(f"{a} links {b}: {name} belongs to "
                                  f"{', '.join(sorted(owner_folders))} only")
    return links, externals


def check_lengths(source, errors):
    for file in sorted((source / "src").rglob("*")):
        if file.suffix not in {".cpp", ".hpp", ".h"}:
            continue
        lines = file.read_text(errors="replace").splitlines()
        if len(lines) <= MAX_LINES:
            continue
        opening = [line for line in lines[:OPENING] if line.lstrip().startswith("//")]
        if not any("lines" in line for line in opening):
            errors.append(f"{file.relative_to(source).as_posix()} has {len(lines)} lines (over "
                          f"{MAX_LINES}) and no comment at its top saying why")


def check(source, graph):
    source = Path(source)
    errors = []
    check_lengths(source, errors)
    present = sorted(p.name for p in (source / "src").iterdir() if (p / "CMakeLists.txt").exists())
    for name in present:
        if name not in ALLOWED:
            errors.append(f"src/{name} is not placed in the subsystem graph (ALLOWED)")
    folders, edges = read_graph(graph)
    if not folders:
        errors.append(f"{graph}: no targets in the link graph")
    include_uses, include_ext = check_includes(source, errors)
    link_uses, link_ext = check_links(folders, edges, errors)
    for subsystem in sorted(set(include_uses) | set(link_uses)):
        used, linked = include_uses.get(subsystem, set()), link_uses.get(subsystem, set())
        for other in sorted(used - linked):
            errors.append(f"src/{subsystem} includes src/{other} but no target there links it")
        for other in sorted(linked - used):
            errors.append(f"src/{subsystem} links october_{other} but includes nothing from it")
    for subsystem in sorted(set(include_ext) | set(link_ext)):
        used, linked = include_ext.get(subsystem, set()), link_ext.get(subsystem, set())
        for name in sorted(used - linked - {"Beast/Asio"}):
            errors.append(f"src/{subsystem} includes {name} but does not link it")
        for name in sorted(linked - used):
            errors.append(f"src/{subsystem} links {name} but includes none of it")
    return errors


def report(prefix, errors, success):
    """Prints each error on stderr (or `success`), and returns the exit status."""
    for error in errors:
        print(f"{prefix}: {error}", file=sys.stderr)
    if errors:
        return 1
    print(f"{prefix}: {success}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="the repository root")
    parser.add_argument("--graph", required=True, help="october_link_graph.dot of a build")
    args = parser.parse_args()
    return report("layout", check(args.source, args.graph), "the subsystem graph holds")


if __name__ == "__main__":
    sys.exit(main())
