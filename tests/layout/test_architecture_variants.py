"""check_architecture.py against a small fabricated tree and page: the faithful page passes; each
broken copy (a path that is gone, a pattern matching nothing, a library without a section, a
section for a removed folder, a missing or wrong "May depend on:" line) fails naming it."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import check_architecture  # noqa: E402

PAGE = """# Architecture

A request enters `src/http/server.cpp`; the routes live in `src/http/router_*.cpp`
(`src/http/router_<group>.cpp`).

## Libraries

### `src/core/`
Settings and logging.

May depend on: nothing.

### `src/http/`
The listener.

May depend on: `core`.

## Threading
One io_context per thread.
"""


def make_tree(root, page=PAGE):
    for folder in ("core", "http"):
        (root / "src" / folder).mkdir(parents=True)
        (root / "src" / folder / "CMakeLists.txt").write_text("")
    (root / "src/http/server.cpp").write_text("")
    (root / "src/http/router_probes.cpp").write_text("")
    (root / "docs").mkdir()
    (root / "docs/ARCHITECTURE.md").write_text(page)
    return root


def errors_for(tmp_path, page=PAGE):
    return check_architecture.check(make_tree(tmp_path, page), "docs/ARCHITECTURE.md")


def test_faithful_page_passes(tmp_path):
    assert errors_for(tmp_path) == []


@pytest.mark.parametrize("page, expected", [
    (PAGE.replace("server.cpp", "listener.cpp"), "src/http/listener.cpp, which does not exist"),
    (PAGE.replace("router_*.cpp", "routes_*.cpp"), "src/http/routes_*.cpp, which matches nothing"),
    (PAGE.replace("### `src/http/`", "### The listener"), "no section for the library in src/http/"),
    (PAGE + "\n### `src/redis/`\nGone.\n\nMay depend on: `core`.\n",
     "describes src/redis/, which is not a library folder"),
    (PAGE.replace("May depend on: `core`.", "It uses core."), "src/http/ section has no 'May depend on:'"),
    (PAGE.replace("May depend on: `core`.", "May depend on: `core`, `redis`."),
     "src/http/ may depend on core (check_layout.py), the page says core, redis"),
    (PAGE.replace("May depend on: nothing.", "May depend on: `http`."),
     "src/core/ may depend on nothing (check_layout.py), the page says http"),
], ids=["missing-path", "empty-pattern", "no-section", "stale-section", "no-depends-line",
        "extra-dependency", "upward-dependency"])
def test_broken_page_fails(tmp_path, page, expected):
    errors = errors_for(tmp_path, page)
    assert any(expected in e for e in errors), errors


def test_missing_page_fails(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "docs/ARCHITECTURE.md").unlink()
    assert check_architecture.check(tmp_path, "docs/ARCHITECTURE.md") == [
        "docs/ARCHITECTURE.md does not exist"]
