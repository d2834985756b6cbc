"""check_layout.py against a small fabricated tree: clean it passes; each broken copy (an upward
include, a stray Beast/hiredis/spdlog include, an upward link, a cycle, a misplaced third-party
link, a link nothing uses, an unplaced folder) fails with a message naming the breach."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import check_layout  # noqa: E402

# A miniature of the real layout: one file per subsystem including what it may, and the link
# graph that matches.
FILES = {
    "src/core/log.cpp": '#include "core/log.hpp"\n#include <spdlog/spdlog.h>\n',
    "src/core/log.hpp": "#include <string>\n",
    "src/http/server.cpp": '#include "core/log.hpp"\n#include <boost/beast/http.hpp>\n',
    "src/redis/client.cpp": '#include "core/log.hpp"\n#include <hiredis/hiredis.h>\n',
    "src/tasks/workloads.cpp": '#include "core/log.hpp"\n#include <primesieve.hpp>\n'
                               "#include <openssl/sha.h>\n",
    "src/celery/broker.cpp": '#include "redis/client.hpp"\n#include "core/log.hpp"\n'
                             "#include <openssl/evp.h>\n",
    "src/service/lifecycle.cpp": '#include "http/server.hpp"\n#include "redis/client.hpp"\n'
                                 '#include "core/log.hpp"\n',
    "src/api/main.cpp": '#include "service/lifecycle.hpp"\n#include "celery/broker.hpp"\n'
                        '#include "tasks/workloads.hpp"\n#include "http/router.hpp"\n'
                        '#include "redis/client.hpp"\n#include "core/log.hpp"\n',
    "src/worker/main.cpp": '#include "service/lifecycle.hpp"\n#include "celery/broker.hpp"\n'
                           '#include "tasks/registry.hpp"\n#include "http/probes.hpp"\n'
                           '#include "core/log.hpp"\n',
}
TARGETS = {
    "october_core": "core", "october_http": "http", "october_redis": "redis",
    "october_tasks": "tasks", "october_celery": "celery", "october_service": "service",
    "october_api_lib": "api", "october-api": "api",
    "october_worker_lib": "worker", "october-worker": "worker",
}
EDGES = [
    ("october_core", "Boost::json"), ("october_core", "spdlog::spdlog"),
    ("october_http", "october_core"), ("october_http", "Boost::headers"),
    ("october_redis", "october_core"), ("october_redis", "PkgConfig::HIREDIS"),
    ("october_tasks", "october_core"), ("october_tasks", "PkgConfig::PRIMESIEVE"),
    ("october_tasks", "OpenSSL::Crypto"),
    ("october_celery", "october_core"), ("october_celery", "october_redis"),
    ("october_celery", "OpenSSL::Crypto"),
    ("october_service", "october_core"), ("october_service", "october_http"),
    ("october_service", "october_redis"),
    ("october_api_lib", "october_service"), ("october_api_lib", "october_celery"),
    ("october_api_lib", "october_tasks"), ("october_api_lib", "october_http"),
    ("october_api_lib", "october_redis"), ("october_api_lib", "october_core"),
    ("october-api", "october_api_lib"),
    ("october_worker_lib", "october_service"), ("october_worker_lib", "october_celery"),
    ("october_worker_lib", "october_tasks"), ("october_worker_lib", "october_core"),
    ("october-worker", "october_worker_lib"), ("october-worker", "october_http"),
]


def make_tree(root, files=None, edges=None, extra_files=()):
    files = dict(FILES if files is None else files)
    files.update(extra_files)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {rel.split("/")[1] for rel in files}:
        (root / "src" / folder / "CMakeLists.txt").write_text("")
    lines = ["digraph october {"]
    lines += [f'  "{t}" [folder="src/{f}"];' for t, f in TARGETS.items()]
    lines += [f'  "{a}" -> "{b}";' for a, b in (EDGES if edges is None else edges)]
    graph = root / "graph.dot"
    graph.write_text("\n".join(lines + ["}"]) + "\n")
    return check_layout.check(root, graph)


def test_the_fabricated_tree_is_clean(tmp_path):
    assert make_tree(tmp_path) == []


@pytest.mark.parametrize("rel, text, expected", [
    ("src/core/metrics.cpp", '#include "http/router.hpp"\n',
     'src/core/metrics.cpp includes "http/router.hpp": core must not depend on http'),
    ("src/redis/url.cpp", '#include "celery/envelope.hpp"\n',
     "redis must not depend on celery"),
    ("src/api/drills.cpp", "#include <boost/beast/http.hpp>\n",
     "src/api/drills.cpp includes <boost/beast/http.hpp>: Beast/Asio belongs to src/http only"),
    ("src/service/health.cpp", "#include <hiredis/hiredis.h>\n",
     "hiredis belongs to src/redis only"),
    ("src/http/observer.cpp", "#include <spdlog/spdlog.h>\n",
     "spdlog belongs to src/core/log.cpp, src/core/log.hpp only"),
    ("src/core/metrics.cpp", "#include <spdlog/spdlog.h>\n",
     "spdlog belongs to src/core/log.cpp, src/core/log.hpp only"),
    ("src/celery/keys.cpp", "#include <primesieve.hpp>\n", "primesieve belongs to src/tasks only"),
    ("src/http/router.cpp", "#include <openssl/sha.h>\n",
     "OpenSSL belongs to src/celery, src/crypto, src/tasks only"),
    ("src/api/main2.cpp", '#include "util/strings.hpp"\n', "no subsystem src/util"),
    ("src/lua/scripts.cpp", '#include "core/log.hpp"\n', "src/lua is not placed"),
])
def test_a_broken_include_fails(tmp_path, rel, text, expected):
    errors = make_tree(tmp_path, extra_files={rel: text})
    assert any(expected in e for e in errors), errors


@pytest.mark.parametrize("edit, expected", [
    # An upward link, which with core's users is also a cycle.
    (lambda e: e + [("october_core", "october_http")],
     "october_core links october_http: core must not depend on http"),
    (lambda e: e + [("october_core", "october_http")], "link cycle: "),
    (lambda e: e + [("october_redis", "october_celery")], "link cycle: "),
    (lambda e: e + [("october_http", "PkgConfig::HIREDIS")],
     "october_http links PkgConfig::HIREDIS: hiredis belongs to src/redis only"),
    (lambda e: e + [("october_api_lib", "PkgConfig::PRIMESIEVE")],
     "primesieve belongs to src/tasks only"),
    (lambda e: e + [("october_service", "spdlog::spdlog")], "spdlog belongs to src/core only"),
    (lambda e: e + [("october_service", "october_celery")],
     "src/service links october_celery but includes nothing from it"),
    (lambda e: [x for x in e if x != ("october_celery", "october_redis")],
     "src/celery includes src/redis but no target there links it"),
    (lambda e: [x for x in e if x != ("october_tasks", "OpenSSL::Crypto")],
     "src/tasks includes OpenSSL but does not link it"),
])
def test_a_broken_link_fails(tmp_path, edit, expected):
    errors = make_tree(tmp_path, edges=edit(list(EDGES)))
    assert any(expected in e for e in errors), errors


def test_a_long_file_needs_a_reason(tmp_path):
    body = "int x;\n" * (check_layout.MAX_LINES + 1)
    errors = make_tree(tmp_path, extra_files={"src/core/big.cpp": body})
    assert any("src/core/big.cpp has 351 lines (over 350) and no comment at its top saying why"
               in e for e in errors), errors
    reason = "// Over 350 lines on purpose: one state machine.\n"
    assert make_tree(tmp_path / "ok", extra_files={"src/core/big.cpp": reason + body}) == []


def test_a_missing_graph_fails(tmp_path):
    root = tmp_path
    make_tree(root)
    (root / "graph.dot").write_text("digraph october {\n}\n")
    assert any("no targets" in e for e in check_layout.check(root, root / "graph.dot"))
