"""The test-workload endpoints and knobs (issue 13): GET /headers, GET /env, POST /echo, GET /fault,
START_UNHEALTHY / START_UNREADY with POST /healthz/enable|disable, GET /panic, and the random
faults (RANDOM_DELAY, RANDOM_ERROR_PERCENT, POST /fault/random), against a real october-api and
redis-server."""

from __future__ import annotations

import http.client
import json
import math
import threading
import time

import pytest
import requests

from support.http_checks import assert_error, assert_json_content_type
from support.processes import LOOPBACK, wait_for
from support.servers import assert_rejected, run_api_binary

NEW_SETTINGS = ["ECHO_MAX_BYTES", "START_UNHEALTHY", "START_UNREADY", "ENABLE_PANIC",
                "RANDOM_DELAY", "RANDOM_ERROR_PERCENT"]

# Routes the random faults must never touch: probes, metrics, version, the OpenAPI document and
# the drill switches (GET so no switch flips; the POST switches are covered by test_switches_*).
EXEMPT_GETS = ["/healthz", "/ready", "/readyz", "/metrics", "/version", "/openapi.json", "/fault"]


def ok_json(resp, status: int = 200):
    assert resp.status_code == status, f"{resp.url}: {resp.status_code} {resp.text[:300]!r}"
    assert_json_content_type(resp)
    return resp.json()


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def raw_request(port: int, method: str, path: str, headers: list[tuple[str, str]],
                body: bytes | None = None) -> tuple[int, dict, bytes]:
    """One request with header fields sent exactly as given (repeats and spelling kept)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"{LOOPBACK}:{port}")
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def binomial_bound_holds(count: int, n: int, percent: float, sigmas: float = 6.0) -> bool:
    """`count` successes in `n` trials is within `sigmas` standard deviations of `percent`%."""
    p = percent / 100.0
    sd = math.sqrt(n * p * (1 - p))
    return abs(count - n * p) <= sigmas * sd


def test_binomial_bound_rejects_broken_variants():
    # What an implementation that ignores the knob (never fails), fails everything, or uses the
    # wrong share would give over 400 requests at 30%: each must be caught by the bound.
    assert binomial_bound_holds(120, 400, 30)
    assert not binomial_bound_holds(0, 400, 30)
    assert not binomial_bound_holds(400, 400, 30)
    assert not binomial_bound_holds(200, 400, 30)  # 50% instead of 30%
    assert not binomial_bound_holds(12, 400, 30)   # 3% instead of 30%


# --- GET /headers ------------------------------------------------------------------------------
def test_headers_lists_every_field_and_keeps_repeats(api):
    status, headers, body = raw_request(api.port, "GET", "/headers", [
        ("X-Single", "one"), ("X-Forwarded-For", "10.0.0.1"), ("Accept", "application/json"),
        ("x-forwarded-for", "10.0.0.2"), ("X-FORWARDED-FOR", "10.0.0.3, 10.0.0.4"),
        ("X-Empty", "")])
    assert status == 200 and headers["content-type"].startswith("application/json"), body
    doc = json.loads(body)
    assert doc["x-single"] == "one"
    assert doc["x-forwarded-for"] == ["10.0.0.1", "10.0.0.2", "10.0.0.3, 10.0.0.4"]
    assert doc["accept"] == "application/json"
    assert doc["host"] == f"{LOOPBACK}:{api.port}"
    assert doc["x-empty"] == ""
    assert all(name == name.lower() for name in doc), doc


def test_headers_route_in_openapi_says_the_shape(api):
    op = api.get("/openapi.json").json()["paths"]["/headers"]["get"]
    assert "list" in op["summary"] and "lower-cased" in op["summary"], op["summary"]


# --- GET /env ----------------------------------------------------------------------------------
def test_env_masks_secret_names_and_url_passwords(api_factory):
    srv = api_factory(env={
        "WL_API_KEY": "k-123456", "WL_DB_PASSWORD": "p-123456", "wl_secret_thing": "s-123456",
        "WL_GITHUB_TOKEN": "t-123456",
        "WL_CACHE_URL": "redis://:pw-123456@127.0.0.1:6379/0",
        "WL_USER_URL": "redis://alice:pw-654321@cache.example:6380/2",
        "WL_BACKENDS": "http://a:pw-111111@b.example/x,http://c.example/y",
        "WL_PLAIN": "visible value", "WL_USER_ONLY": "redis://alice@host/0"})
    r = srv.get("/env")
    doc = ok_json(r)
    for name in ("WL_API_KEY", "WL_DB_PASSWORD", "wl_secret_thing", "WL_GITHUB_TOKEN"):
        assert doc[name] == "***", (name, doc[name])
    assert doc["WL_CACHE_URL"] == "redis://:***@127.0.0.1:6379/0"
    assert doc["WL_USER_URL"] == "redis://alice:***@cache.example:6380/2"
    assert doc["WL_BACKENDS"] == "http://a:***@b.example/x,http://c.example/y"
    assert doc["WL_PLAIN"] == "visible value"
    assert doc["WL_USER_ONLY"] == "redis://alice@host/0"
    assert doc["CELERY_BROKER_URL"].startswith("redis://127.0.0.1:")
    assert doc["PORT"] == str(srv.port)
    # No secret value leaks anywhere in the answer.
    for secret in ("k-123456", "p-123456", "s-123456", "t-123456", "pw-123456", "pw-654321",
                   "pw-111111"):
        assert secret not in r.text, secret


# --- POST /echo --------------------------------------------------------------------------------
@pytest.mark.parametrize("ctype,body", [
    ("text/plain; charset=utf-8", "héllo wörld\n".encode()),
    ("application/json", b'{"a": [1, 2, 3]}'),
    ("application/octet-stream", bytes(range(256)) * 4),
    ("application/x-custom+xml", b"<a/>"),
])
def test_echo_answers_body_and_content_type(api, ctype, body):
    r = api.post("/echo", data=body, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text[:200]
    assert r.headers["Content-Type"] == ctype
    assert r.content == body


def test_echo_without_content_type_or_body(api):
    status, headers, body = raw_request(api.port, "POST", "/echo", [], b"raw bytes")
    assert (status, headers["content-type"], body) == (200, "application/octet-stream",
                                                       b"raw bytes")
    status, _, body = raw_request(api.port, "POST", "/echo", [("Content-Type", "text/plain")],
                                  b"")
    assert (status, body) == (200, b"")


def test_echo_limit_is_echo_max_bytes(api_factory):
    srv = api_factory(env={"ECHO_MAX_BYTES": "100"})
    r = srv.post("/echo", data=b"x" * 100, headers={"Content-Type": "text/plain"})
    assert r.status_code == 200 and r.content == b"x" * 100
    body = assert_error(srv.post("/echo", data=b"x" * 101), 413, error="body_too_large",
                        param="ECHO_MAX_BYTES")
    assert "101" in body["detail"] and "0 to 100" in body["detail"], body
    assert srv.get("/healthz").status_code == 200


def test_echo_default_limit_is_one_mib(api):
    big = b"e" * 1048576
    r = api.post("/echo", data=big, headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200 and r.content == big


def test_echo_is_bounded_by_max_body_bytes_too(api_factory):
    # ECHO_MAX_BYTES above MAX_BODY_BYTES: the server refuses the body first.
    srv = api_factory(env={"ECHO_MAX_BYTES": "5000", "MAX_BODY_BYTES": "1000"})
    assert srv.post("/echo", data=b"y" * 1000).status_code == 200
    r = srv.post("/echo", data=b"y" * 2000)
    assert r.status_code == 413 and "MAX_BODY_BYTES" in r.json()["detail"], r.text


def test_echo_wrong_method(api):
    assert_error(api.get("/echo"), 405, error="method_not_allowed")


# --- settings ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name,value", [
    ("ECHO_MAX_BYTES", "-1"), ("ECHO_MAX_BYTES", "104857601"), ("ECHO_MAX_BYTES", "1k"),
    ("START_UNHEALTHY", "sometimes"), ("START_UNREADY", "2"), ("ENABLE_PANIC", "yes please"),
    ("RANDOM_DELAY", "500-100"), ("RANDOM_DELAY", "abc"), ("RANDOM_DELAY", "0-60001"),
    ("RANDOM_DELAY", "-5"), ("RANDOM_DELAY", "1-2-3"), ("RANDOM_DELAY", "10-"),
    ("RANDOM_ERROR_PERCENT", "101"), ("RANDOM_ERROR_PERCENT", "-1"),
    ("RANDOM_ERROR_PERCENT", "ten"), ("RANDOM_ERROR_PERCENT", "nan"),
])
def test_bad_setting_exits_2_naming_it(name, value):
    line = assert_rejected(run_api_binary(env={name: value}), name)
    assert value in line or value == "", line


def test_bad_setting_names_the_range():
    assert "between 0 and 60000" in assert_rejected(
        run_api_binary(env={"RANDOM_DELAY": "0-70000"}), "RANDOM_DELAY")
    assert "between 0 and 100" in assert_rejected(
        run_api_binary(env={"RANDOM_ERROR_PERCENT": "150"}), "RANDOM_ERROR_PERCENT")


def test_help_lists_the_new_settings():
    rc, out, _ = run_api_binary(["--help"])
    assert rc == 0
    for name in NEW_SETTINGS:
        assert name in out, f"{name} missing from --help"


# --- GET /fault, START_UNHEALTHY, START_UNREADY ------------------------------------------------
def test_fault_status_defaults(api_factory):
    srv = api_factory()
    assert ok_json(srv.get("/fault")) == {
        "fault_injection": False, "healthz_enabled": True, "fail_healthz": False,
        "ready_enabled": True,
        "random": {"delay_min_ms": 0, "delay_max_ms": 0, "error_percent": 0,
                   "delays_injected": 0, "errors_injected": 0}}
    srv.post("/fault/enable")
    srv.post("/ready/disable")
    doc = ok_json(srv.get("/fault"))  # the status stays up under fault injection
    assert doc["fault_injection"] is True and doc["ready_enabled"] is False, doc
    assert srv.metrics().value("october_fault_injection") == 1
    srv.post("/fault/disable")
    assert ok_json(srv.get("/fault"))["fault_injection"] is False


def test_start_unhealthy_until_healthz_enable(api_factory):
    srv = api_factory(env={"START_UNHEALTHY": "true"})
    body = assert_error(srv.get("/healthz"), 500, error="unhealthy")
    assert "START_UNHEALTHY" in body["detail"] and "POST /healthz/enable" in body["detail"], body
    assert ok_json(srv.get("/fault"))["healthz_enabled"] is False
    # Only liveness fails: readiness and the app keep answering.
    assert ok_json(srv.get("/ready")) == {"ready": True}
    assert ok_json(srv.get("/status/200")) == {"status": 200}
    assert ok_json(srv.post("/healthz/enable")) == {"healthz_enabled": True}
    assert ok_json(srv.get("/healthz")) == {"status": "ok"}
    assert ok_json(srv.post("/healthz/disable")) == {"healthz_enabled": False}
    assert_error(srv.get("/healthz"), 500, error="unhealthy")


def test_fail_healthz_is_not_undone_by_the_switch(api_factory):
    srv = api_factory(env={"FAIL_HEALTHZ": "true"})
    srv.post("/healthz/enable")
    body = assert_error(srv.get("/healthz"), 500, error="unhealthy")
    assert "FAIL_HEALTHZ" in body["detail"], body
    assert ok_json(srv.get("/fault"))["fail_healthz"] is True


def test_start_unready_until_ready_enable(api_factory):
    srv = api_factory(env={"START_UNREADY": "true"}, wait_ready=False)
    for path in ("/ready", "/readyz"):
        r = srv.get(path)
        assert r.status_code == 503, r.text
        assert "START_UNREADY" in r.json()["detail"], r.json()
    assert ok_json(srv.get("/healthz")) == {"status": "ok"}
    assert ok_json(srv.get("/fault"))["ready_enabled"] is False
    assert srv.metrics().value("october_ready") == 0
    assert ok_json(srv.post("/ready/enable")) == {"ready_enabled": True}
    wait_for(lambda: srv.get("/ready").status_code == 200, timeout=10, what="ready after enable")


# --- GET /panic --------------------------------------------------------------------------------
def test_panic_is_refused_by_default(api_factory):
    srv = api_factory()
    body = assert_error(srv.get("/panic"), 403, error="panic_disabled", param="ENABLE_PANIC")
    assert body
    time.sleep(0.3)
    assert srv.alive(), srv.report()
    assert ok_json(srv.get("/healthz")) == {"status": "ok"}


def test_panic_exits_non_zero_and_says_why(api_factory):
    srv = api_factory(env={"ENABLE_PANIC": "true"})
    with pytest.raises(requests.exceptions.ConnectionError):
        srv.get("/panic", timeout=10)
    rc = srv.wait(timeout=10)
    assert rc is not None and rc != 0, f"exit code {rc}\n{srv.report()}"
    assert rc == 1, srv.report()
    records = [json.loads(line) for line in srv.stdout_lines() if line.startswith("{")]
    panic = [r for r in records if r.get("msg", "").startswith("panic")]
    assert panic, srv.report()
    assert panic[-1]["level"] == "error" and "ENABLE_PANIC" in panic[-1]["reason"], panic[-1]
    assert panic[-1]["exit_code"] == 1


# --- random faults -----------------------------------------------------------------------------
def count_statuses(srv, path: str, n: int) -> dict[int, int]:
    counts: dict[int, int] = {}
    with session() as s:
        for _ in range(n):
            r = s.get(srv.url(path), timeout=10)
            if r.status_code == 500:
                assert r.json()["error"] == "random_error_injected", r.text
                assert "RANDOM_ERROR_PERCENT" in r.json()["detail"], r.text
            counts[r.status_code] = counts.get(r.status_code, 0) + 1
    return counts


def test_random_errors_hit_the_share_and_never_the_exempt_routes(api_factory):
    srv = api_factory(env={"RANDOM_ERROR_PERCENT": "30"})
    n = 400
    counts = count_statuses(srv, "/status/200", n)
    assert set(counts) <= {200, 500}, counts
    errors = counts.get(500, 0)
    assert binomial_bound_holds(errors, n, 30), f"{errors} errors of {n} at 30%"
    with session() as s:
        for _ in range(20):
            for path in EXEMPT_GETS:
                r = s.get(srv.url(path), timeout=10)
                assert r.status_code == 200, (path, r.status_code, r.text[:200])
    m = srv.metrics()
    assert m.value("october_random_errors_total") == errors
    assert m.value("october_random_error_ratio") == pytest.approx(0.3)
    assert m.types.get("october_random_errors_total") == "counter"
    assert m.types.get("october_random_error_ratio") == "gauge"
    assert ok_json(srv.get("/fault"))["random"]["errors_injected"] == errors


def test_random_errors_reach_every_app_route_kind(api_factory):
    srv = api_factory(env={"RANDOM_ERROR_PERCENT": "100"})
    for path in ["/", "/headers", "/env", "/status/201", "/compute/prime?n=10", "/delay/0",
                 "/tasks/abc"]:
        assert_error(srv.get(path), 500, error="random_error_injected")
    assert_error(srv.post("/echo", data=b"x"), 500, error="random_error_injected")
    # The switches stay available, so the drill can always be stopped.
    for path in ["/fault/disable", "/ready/enable", "/healthz/enable"]:
        assert srv.post(path).status_code == 200, path
    assert ok_json(srv.post("/fault/random"))["random"]["error_percent"] == 0
    assert ok_json(srv.get("/status/201"), 201) == {"status": 201}


def test_random_delay_at_least_min_and_not_on_probes(api_factory):
    srv = api_factory(env={"RANDOM_DELAY": "300-400"})
    with session() as s:
        for _ in range(5):
            start = time.monotonic()
            assert s.get(srv.url("/status/200"), timeout=10).status_code == 200
            assert time.monotonic() - start >= 0.3
        before = srv.metrics().value("october_random_delays_total")
        assert before == 5
        for path in EXEMPT_GETS:
            assert s.get(srv.url(path), timeout=10).status_code == 200, path
    m = srv.metrics()
    assert m.value("october_random_delays_total") == 5  # the probes added none
    assert m.value("october_random_delay_min_seconds") == pytest.approx(0.3)
    assert m.value("october_random_delay_max_seconds") == pytest.approx(0.4)


def test_random_delay_holds_no_thread(api_factory):
    # One I/O thread and 1 s delays: 12 concurrent requests finish together (a sleeping thread
    # would serialise them: 12 s), and a probe answers meanwhile.
    srv = api_factory(env={"IO_THREADS": "1", "RANDOM_DELAY": "1000-1000"})
    results: list[int] = []

    def call():
        results.append(requests.get(srv.url("/status/200"), timeout=30).status_code)

    threads = [threading.Thread(target=call) for _ in range(12)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(0.3)
    probe_start = time.monotonic()
    assert srv.get("/healthz").status_code == 200
    probe_seconds = time.monotonic() - probe_start
    for t in threads:
        t.join(30)
    elapsed = time.monotonic() - start
    assert results == [200] * 12, results
    assert elapsed >= 1.0 and elapsed < 8, elapsed
    assert probe_seconds < 0.9, probe_seconds


def test_random_faults_switch_at_run_time(api_factory):
    srv = api_factory()
    assert ok_json(srv.get("/status/200")) == {"status": 200}
    doc = ok_json(srv.post("/fault/random", params={"error_percent": 100}))
    assert doc == {"random": {"delay_min_ms": 0, "delay_max_ms": 0, "error_percent": 100,
                              "delays_injected": 0, "errors_injected": 0}}
    assert_error(srv.get("/status/200"), 500, error="random_error_injected")
    assert srv.metrics().value("october_random_error_ratio") == 1
    doc = ok_json(srv.post("/fault/random", params={"delay_min_ms": 200, "delay_max_ms": 250}))
    assert doc["random"]["delay_min_ms"] == 200 and doc["random"]["delay_max_ms"] == 250
    assert doc["random"]["error_percent"] == 0 and doc["random"]["errors_injected"] == 1
    start = time.monotonic()
    assert ok_json(srv.get("/status/200")) == {"status": 200}
    assert time.monotonic() - start >= 0.2
    assert ok_json(srv.get("/fault"))["random"]["delays_injected"] == 1
    assert srv.metrics().value("october_random_delay_min_seconds") == pytest.approx(0.2)
    doc = ok_json(srv.post("/fault/random"))
    assert doc["random"]["delay_max_ms"] == 0 and doc["random"]["error_percent"] == 0
    assert ok_json(srv.get("/status/200")) == {"status": 200}
    assert ok_json(srv.get("/fault"))["random"]["delays_injected"] == 1


def test_random_faults_from_settings_show_in_fault_status(api_factory):
    srv = api_factory(env={"RANDOM_DELAY": "0-20", "RANDOM_ERROR_PERCENT": "0.5"})
    random = ok_json(srv.get("/fault"))["random"]
    assert (random["delay_min_ms"], random["delay_max_ms"], random["error_percent"]) == (0, 20, 0.5)
    srv_fixed = api_factory(env={"RANDOM_DELAY": "15"})
    random = ok_json(srv_fixed.get("/fault"))["random"]
    assert (random["delay_min_ms"], random["delay_max_ms"]) == (15, 15)


@pytest.mark.parametrize("params,param,allowed", [
    ({"error_percent": "101"}, "error_percent", "between 0 and 100"),
    ({"error_percent": "-0.5"}, "error_percent", "between 0 and 100"),
    ({"error_percent": "lots"}, "error_percent", "between 0 and 100"),
    ({"delay_min_ms": "-1"}, "delay_min_ms", "between 0 and 60000"),
    ({"delay_min_ms": "1.5"}, "delay_min_ms", "between 0 and 60000"),
    ({"delay_max_ms": "60001"}, "delay_max_ms", "between 0 and 60000"),
    ({"delay_min_ms": "300", "delay_max_ms": "100"}, "delay_max_ms",
     "between delay_min_ms (300) and 60000"),
])
def test_random_fault_bad_values_name_field_and_range(api, params, param, allowed):
    body = assert_error(api.post("/fault/random", params=params), 400, param=param)
    assert allowed in body["detail"], body
    # Nothing was switched.
    assert ok_json(api.get("/fault"))["random"]["error_percent"] == 0


# --- OpenAPI and fault injection ---------------------------------------------------------------
NEW_ROUTES = {"/headers": "get", "/env": "get", "/echo": "post", "/fault": "get",
              "/fault/random": "post", "/healthz/enable": "post", "/healthz/disable": "post",
              "/panic": "get"}


def test_openapi_lists_the_new_routes(api):
    paths = api.get("/openapi.json").json()["paths"]
    for path, method in NEW_ROUTES.items():
        assert method in paths.get(path, {}), f"{method} {path} missing from /openapi.json"
    random = paths["/fault/random"]["post"]
    declared = {p["name"]: p["schema"] for p in random["parameters"]}
    assert declared["error_percent"]["minimum"] == 0 and declared["error_percent"]["maximum"] == 100
    assert declared["delay_max_ms"]["maximum"] == 60000
    assert "400" in random["responses"]
    assert "413" in paths["/echo"]["post"]["responses"]
    assert "403" in paths["/panic"]["get"]["responses"]


def test_fault_injection_covers_the_new_app_routes_only(api_factory):
    srv = api_factory()
    srv.post("/fault/enable")
    for path in ["/headers", "/env"]:
        assert_error(srv.get(path), 500, error="fault_injected")
    assert_error(srv.post("/echo", data=b"x"), 500, error="fault_injected")
    assert ok_json(srv.get("/fault"))["fault_injection"] is True
    assert srv.post("/fault/random").status_code == 200
    assert ok_json(srv.post("/healthz/enable")) == {"healthz_enabled": True}
    srv.post("/fault/disable")
    assert ok_json(srv.get("/headers"))["host"]
