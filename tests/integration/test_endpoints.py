"""Happy paths of every endpoint in the README, against a real october-api and redis-server."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time

import pytest

from support.http_checks import assert_error, assert_json_content_type
from support.processes import wait_for
from support.rawhttp import RawClient, get_request


def ok_json(resp, status: int = 200):
    assert resp.status_code == status, f"{resp.url}: {resp.status_code} {resp.text[:300]!r}"
    assert_json_content_type(resp)
    return resp.json()


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# --- probes ----------------------------------------------------------------------------------
def test_healthz(api):
    assert ok_json(api.get("/healthz")) == {"status": "ok"}


@pytest.mark.parametrize("path", ["/ready", "/readyz"])
def test_ready(api, path):
    assert ok_json(api.get(path)) == {"ready": True}


def test_fail_healthz_drill(api_factory):
    srv = api_factory(env={"FAIL_HEALTHZ": "true"})
    assert_error(srv.get("/healthz"), 500, error="unhealthy")
    # Only liveness fails; the rest of the service keeps working.
    assert ok_json(srv.get("/ready")) == {"ready": True}
    assert ok_json(srv.get("/compute/prime", params={"n": 10}))["prime_number"] == 29


def test_ready_disable_enable(api_factory):
    srv = api_factory()
    assert ok_json(srv.post("/ready/disable")) == {"ready_enabled": False}
    for path in ("/ready", "/readyz"):
        r = srv.get(path)
        assert r.status_code == 503, r.text
        assert_json_content_type(r)
        body = r.json()
        assert body["ready"] is False and body["error"] == "not_ready", body
        assert isinstance(body["detail"], str) and body["detail"], body
    # Liveness and the rest of the app are unaffected.
    assert ok_json(srv.get("/healthz")) == {"status": "ok"}
    assert ok_json(srv.get("/status/200")) == {"status": 200}
    assert ok_json(srv.post("/ready/enable")) == {"ready_enabled": True}
    assert ok_json(srv.get("/ready")) == {"ready": True}
    assert ok_json(srv.get("/readyz")) == {"ready": True}


# --- compute ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n,prime", [(1, 2), (2, 3), (10, 29), (100, 541), (1000, 7919),
                                     (1000000, 15485863)])
def test_prime(api, n, prime):
    body = ok_json(api.get("/compute/prime", params={"n": n}))
    assert set(body) == {"nth_prime", "prime_number", "duration_seconds"}, body
    assert body["nth_prime"] == n
    assert body["prime_number"] == prime
    assert is_number(body["duration_seconds"]) and 0 <= body["duration_seconds"] < 10


def test_prime_default_is_1000(api):
    body = ok_json(api.get("/compute/prime"))
    assert body["nth_prime"] == 1000 and body["prime_number"] == 7919, body


def test_prime_upper_bound_exceeds_32_bits(api):
    # The 10^9-th prime is 22801763489 > 2^32: checks the top of the range and the integer width.
    r = api.get("/compute/prime", params={"n": 1000000000}, timeout=120)
    body = ok_json(r)
    assert body["nth_prime"] == 1000000000
    assert body["prime_number"] == 22801763489
    assert "22801763489" in r.text


@pytest.mark.parametrize("n,fib", [(0, 0), (1, 1), (2, 1), (10, 55), (50, 12586269025),
                                   (92, 7540113804746346429)])
def test_fibonacci_iterative(api, n, fib):
    r = api.get("/compute/fibonacci", params={"n": n})
    body = ok_json(r)
    assert set(body) == {"n", "method", "fibonacci_number", "duration_seconds"}, body
    assert body["n"] == n
    assert body["method"] == "iterative"
    # Python's json keeps big integers exact; a double would not compare equal.
    assert isinstance(body["fibonacci_number"], int), r.text
    assert body["fibonacci_number"] == fib, r.text
    assert is_number(body["duration_seconds"]) and body["duration_seconds"] >= 0


def test_fibonacci_92_is_exact_in_the_raw_body(api):
    r = api.get("/compute/fibonacci", params={"n": 92, "method": "iterative"})
    assert re.search(r'"fibonacci_number"\s*:\s*7540113804746346429\b', r.text), r.text


def test_fibonacci_default(api):
    body = ok_json(api.get("/compute/fibonacci"))
    assert body["n"] == 10 and body["method"] == "iterative" and body["fibonacci_number"] == 55


@pytest.mark.parametrize("n,fib", [(0, 0), (1, 1), (20, 6765), (25, 75025)])
def test_fibonacci_recursive(api, n, fib):
    body = ok_json(api.get("/compute/fibonacci", params={"n": n, "method": "recursive"}))
    assert body["n"] == n and body["method"] == "recursive", body
    assert body["fibonacci_number"] == fib


def expected_hash(iterations: int, data_size_kb: int) -> str:
    digest = hashlib.sha256(b"x" * (data_size_kb * 1024)).digest()
    for _ in range(iterations - 1):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


@pytest.mark.parametrize("iterations,kb", [(1, 1), (2, 1), (5, 3), (1000, 1), (10, 64)])
def test_hash(api, iterations, kb):
    body = ok_json(api.get("/compute/hash", params={"iterations": iterations,
                                                    "data_size_kb": kb}))
    assert set(body) == {"iterations", "data_size_kb", "hash", "duration_seconds"}, body
    assert body["iterations"] == iterations and body["data_size_kb"] == kb
    assert re.fullmatch(r"[0-9a-fA-F]{64}", body["hash"]), body
    assert body["hash"].lower() == expected_hash(iterations, kb)
    assert is_number(body["duration_seconds"]) and body["duration_seconds"] >= 0


def test_hash_defaults(api):
    body = ok_json(api.get("/compute/hash"))
    assert body["iterations"] == 1000 and body["data_size_kb"] == 1
    assert body["hash"].lower() == expected_hash(1000, 1)


# --- load and fault drills -------------------------------------------------------------------
def test_burn(api):
    start = time.monotonic()
    body = ok_json(api.get("/burn", params={"seconds": 0.5}, timeout=30))
    elapsed = time.monotonic() - start
    assert set(body) == {"burned_seconds", "cpu_seconds"}, body
    assert body["burned_seconds"] == pytest.approx(0.5, abs=0.25), body
    assert 0.45 <= elapsed < 10, elapsed
    # Spinning one thread: CPU time is positive and cannot exceed wall time by much.
    assert is_number(body["cpu_seconds"]) and 0 < body["cpu_seconds"] <= elapsed + 0.1, body


def test_burn_default_one_second(api):
    start = time.monotonic()
    body = ok_json(api.get("/burn", timeout=30))
    assert time.monotonic() - start >= 0.95
    assert body["burned_seconds"] == pytest.approx(1.0, abs=0.3), body


@pytest.mark.parametrize("delay", [0.1, 0.5])
def test_slow(api, delay):
    start = time.monotonic()
    body = ok_json(api.get("/slow", params={"delay": delay}))
    elapsed = time.monotonic() - start
    assert body == {"delay_seconds": pytest.approx(delay, abs=1e-6)}
    assert delay - 0.02 <= elapsed < delay + 3, elapsed


def test_slow_default_one_second(api):
    start = time.monotonic()
    body = ok_json(api.get("/slow"))
    assert body == {"delay_seconds": pytest.approx(1.0)}
    assert 0.98 <= time.monotonic() - start < 5


@pytest.mark.parametrize("seconds", [0, 1])
def test_delay_path(api, seconds):
    start = time.monotonic()
    body = ok_json(api.get(f"/delay/{seconds}"))
    elapsed = time.monotonic() - start
    assert body == {"delay_seconds": pytest.approx(seconds)}
    assert seconds - 0.02 <= elapsed < seconds + 3, elapsed


def test_memory_allocate(api):
    start = time.monotonic()
    body = ok_json(api.get("/memory/allocate", params={"size_mb": 16, "duration_seconds": 1},
                           timeout=30))
    elapsed = time.monotonic() - start
    assert body == {"allocated_mb": 16, "held_seconds": pytest.approx(1)}, body
    assert 0.98 <= elapsed < 10, elapsed


def test_memory_allocate_zero_duration(api):
    body = ok_json(api.get("/memory/allocate", params={"size_mb": 1, "duration_seconds": 0},
                           timeout=30))
    assert body == {"allocated_mb": 1, "held_seconds": pytest.approx(0)}, body


def test_memory_ceiling_in_total_gives_503(api_factory):
    srv = api_factory(env={"MEMORY_MAX_MB": "48"})
    holder = {}

    def hold():
        holder["resp"] = srv.get("/memory/allocate",
                                 params={"size_mb": 32, "duration_seconds": 3}, timeout=30)

    t = threading.Thread(target=hold)
    t.start()
    try:
        # Wait until the first allocation is accounted for.
        wait_for(lambda: (srv.metrics().value("october_memory_allocated_bytes") or 0)
                 >= 32 * 1024 * 1024, timeout=5, what="32 MiB allocated")
        r = srv.get("/memory/allocate", params={"size_mb": 32, "duration_seconds": 0})
        assert_error(r, 503)
        assert r.headers.get("Retry-After"), r.headers
        # Within the ceiling still works while the first one is held.
        assert ok_json(srv.get("/memory/allocate",
                               params={"size_mb": 8, "duration_seconds": 0}))["allocated_mb"] == 8
    finally:
        t.join(timeout=30)
    assert holder["resp"].status_code == 200, holder["resp"].text
    wait_for(lambda: srv.metrics().value("october_memory_allocated_bytes") == 0, timeout=5,
             what="allocation released")


def test_error_test(api):
    assert_error(api.get("/error-test"), 500, error="internal_error")


@pytest.mark.parametrize("code", [200, 201, 202, 299, 301, 400, 404, 418, 429, 500, 503, 599])
def test_status_code(api, code):
    r = api.get(f"/status/{code}", allow_redirects=False)
    assert r.status_code == code
    assert_json_content_type(r)
    assert r.json() == {"status": code}


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body(api, code):
    r = api.get(f"/status/{code}", allow_redirects=False)
    assert r.status_code == code
    assert r.content == b""
    assert r.headers.get("Content-Length") in (None, "0"), r.headers


def test_version(api):
    body = ok_json(api.get("/version"))
    assert set(body) == {"service", "version", "revision"}, body
    assert body["service"] == "october-api"
    assert isinstance(body["version"], str) and re.match(r"\d+\.\d+\.\d+", body["version"]), body
    assert isinstance(body["revision"], str) and body["revision"], body


def _flatten(obj, prefix=""):
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
    else:
        out[prefix] = obj
    return out


def test_root_runtime_info(api_factory):
    srv = api_factory(env={"COMPUTE_THREADS": "3", "COMPUTE_QUEUE_SIZE": "17"})
    version = ok_json(srv.get("/version"))
    body = ok_json(srv.get("/"))
    for key in ("service", "version", "revision", "hostname", "uptime_seconds", "threads",
                "connections", "requests_in_flight"):
        assert key in body, f"{key} missing from /: {body}"
    assert body["service"] == "october-api"
    assert body["version"] == version["version"] and body["revision"] == version["revision"]
    assert body["hostname"] == socket.gethostname()
    assert is_number(body["uptime_seconds"]) and 0 <= body["uptime_seconds"] < 600
    assert isinstance(body["threads"], int) and body["threads"] >= 1
    assert isinstance(body["connections"], int) and body["connections"] >= 1  # this one
    assert isinstance(body["requests_in_flight"], int) and body["requests_in_flight"] >= 0
    flat = _flatten(body)
    compute = {k: v for k, v in flat.items() if "compute" in k.lower()}
    assert 3 in compute.values(), f"compute pool size 3 not reported: {body}"
    assert any("queue" in k.lower() and isinstance(v, int) and v >= 0
               for k, v in compute.items()), f"compute queue depth not reported: {body}"
    time.sleep(1.1)
    later = ok_json(srv.get("/"))
    assert later["uptime_seconds"] >= body["uptime_seconds"] + 1.0


EXPECTED_PATHS = {
    "/healthz": "get", "/ready": "get", "/readyz": "get", "/ready/disable": "post",
    "/ready/enable": "post", "/metrics": "get", "/compute/prime": "get",
    "/compute/fibonacci": "get", "/compute/hash": "get", "/burn": "get", "/slow": "get",
    "/delay/{seconds}": "get", "/memory/allocate": "get", "/error-test": "get",
    "/status/{code}": "get", "/fault/enable": "post", "/fault/disable": "post",
    "/version": "get", "/": "get",
    "/headers": "get", "/env": "get", "/echo": "post", "/fault": "get", "/fault/random": "post",
    "/healthz/enable": "post", "/healthz/disable": "post", "/panic": "get",
}


def test_openapi(api):
    r = api.get("/openapi.json")
    doc = json.loads(r.text)
    assert r.status_code == 200
    assert_json_content_type(r)
    assert isinstance(doc.get("openapi"), str) and doc["openapi"].startswith("3."), doc.get("openapi")
    assert isinstance(doc.get("info"), dict) and doc["info"].get("title") and doc["info"].get("version")
    paths = doc.get("paths")
    assert isinstance(paths, dict)
    for path, method in EXPECTED_PATHS.items():
        assert path in paths, f"{path} missing from openapi paths {sorted(paths)}"
        assert method in paths[path], f"{method} missing for {path}: {paths[path]}"
        assert "responses" in paths[path][method], paths[path][method]


@pytest.mark.parametrize("path,params", [
    ("/compute/prime", {"n"}), ("/compute/fibonacci", {"n", "method"}),
    ("/compute/hash", {"iterations", "data_size_kb"}), ("/burn", {"seconds"}),
    ("/slow", {"delay"}), ("/delay/{seconds}", {"seconds"}),
    ("/memory/allocate", {"size_mb", "duration_seconds"}), ("/status/{code}", {"code"}),
])
def test_openapi_parameters(api, path, params):
    doc = api.get("/openapi.json").json()
    op = doc["paths"][path]["get"]
    declared = {p.get("name") for p in op.get("parameters", []) + doc["paths"][path].get("parameters", [])}
    assert params <= declared, f"{path}: parameters {declared}, expected {params}"


# --- fault injection -------------------------------------------------------------------------
APP_ENDPOINTS = ["/compute/prime?n=10", "/compute/fibonacci?n=5", "/compute/hash?iterations=1",
                 "/slow?delay=0.1", "/delay/0", "/status/200", "/status/204", "/version", "/",
                 "/error-test", "/memory/allocate?size_mb=1&duration_seconds=0",
                 "/burn?seconds=0.1", "/openapi.json"]


def test_fault_injection(api_factory):
    srv = api_factory()
    assert ok_json(srv.post("/fault/enable")) == {"fault_injection": True}
    for path in APP_ENDPOINTS:
        assert_error(srv.get(path), 500, error="fault_injected")
    # Probes, metrics and the switch itself are exempt.
    assert ok_json(srv.get("/healthz")) == {"status": "ok"}
    assert ok_json(srv.get("/ready")) == {"ready": True}
    assert ok_json(srv.get("/readyz")) == {"ready": True}
    m = srv.get("/metrics")
    assert m.status_code == 200 and "http_requests_total" in m.text
    assert ok_json(srv.post("/fault/enable")) == {"fault_injection": True}
    assert ok_json(srv.post("/fault/disable")) == {"fault_injection": False}
    assert ok_json(srv.get("/compute/prime", params={"n": 10}))["prime_number"] == 29
    assert ok_json(srv.get("/status/201"), 201) == {"status": 201}
    assert ok_json(srv.get("/version"))["service"] == "october-api"


# --- cross-cutting ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/healthz", "/compute/prime?n=5", "/status/404", "/nope",
                                  "/compute/prime?n=abc"])
def test_request_id_echoed(api, path):
    rid = "it-req-" + path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-")
    r = api.get(path, headers={"X-Request-ID": rid})
    assert r.headers.get("X-Request-ID") == rid, r.headers


def test_request_id_generated(api):
    a = api.get("/healthz").headers.get("X-Request-ID")
    b = api.get("/healthz").headers.get("X-Request-ID")
    assert a and b and a != b, (a, b)


@pytest.mark.parametrize("path", ["/", "/healthz", "/ready", "/version", "/openapi.json",
                                  "/compute/fibonacci", "/status/200", "/nope", "/error-test",
                                  "/compute/prime?n=0"])
def test_json_content_type(api, path):
    r = api.get(path)
    assert_json_content_type(r)
    json.loads(r.text)


def test_keep_alive_serves_many_requests_on_one_connection(api):
    with RawClient(api.port) as c:
        for code in (200, 201, 202, 203, 206):
            c.send(get_request(f"/status/{code}"))
            r = c.read_response()
            assert r.status == code and r.json() == {"status": code}, r


@pytest.mark.parametrize("code", [204, 304])
def test_bodyless_status_keeps_the_connection_in_sync(api, code):
    # A stray body after a 204/304 would be read as the start of the next response.
    with RawClient(api.port) as c:
        c.send(get_request(f"/status/{code}"))
        r = c.read_response()
        assert r.status == code and r.header("Content-Length") in (None, "0"), r
        c.send(get_request("/healthz"))
        r = c.read_response()
        assert r.status == 200 and r.json() == {"status": "ok"}, r


def test_request_log_line(api):
    rid = "it-log-line-0001"
    assert api.get("/status/201", headers={"X-Request-ID": rid}).status_code == 201

    def find():
        for line in api.stdout_lines():
            if rid in line:
                return line
        return None

    line = wait_for(find, timeout=5, what="request log line")
    entry = json.loads(line)
    for key in ("ts", "level", "msg", "method", "path", "status", "duration_ms", "request_id"):
        assert key in entry, f"{key} missing from log line {entry}"
    assert entry["request_id"] == rid
    assert entry["method"] == "GET" and entry["status"] == 201
    assert is_number(entry["duration_ms"]) and entry["duration_ms"] >= 0


def test_every_stdout_line_is_json(api):
    api.get("/healthz")
    lines = [ln for ln in api.stdout_lines() if ln.strip()]
    assert lines, "no log lines on stdout"
    for ln in lines:
        obj = json.loads(ln)
        assert isinstance(obj, dict) and "ts" in obj and "level" in obj and "msg" in obj, ln
