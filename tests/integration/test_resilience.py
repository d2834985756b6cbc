"""Behaviour under load, failure and abuse: probes stay fast, backpressure, Redis outages,
graceful shutdown, slow clients, keep-alive, pipelining, connection limits, bad config."""

from __future__ import annotations

import re
import select
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from support.http_checks import assert_error
from support.processes import free_port, wait_for
from support.rawhttp import RawClient, get_request
from support.servers import ApiServer, assert_rejected, run_api_binary


def timed_get(srv, path, **kwargs):
    start = time.monotonic()
    r = srv.get(path, **kwargs)
    return r, time.monotonic() - start


# --- probes under load -----------------------------------------------------------------------
def test_healthz_fast_while_slow_requests_and_saturated_pool(api_factory):
    srv = api_factory(env={"COMPUTE_THREADS": "2", "COMPUTE_QUEUE_SIZE": "64", "IO_THREADS": "2"})
    with ThreadPoolExecutor(max_workers=32) as pool:
        slow = [pool.submit(timed_get, srv, "/slow", params={"delay": 5}, timeout=30)
                for _ in range(20)]
        burns = [pool.submit(timed_get, srv, "/burn", params={"seconds": 2}, timeout=60)
                 for _ in range(4)]

        def loaded():
            m = srv.metrics()
            return (m.value("http_requests_in_flight") >= 24
                    and m.value("october_compute_queue_depth") >= 1)

        wait_for(loaded, timeout=3, interval=0.05,
                 what="20 slow + 4 burn requests in flight with a queued burn")
        latencies = []
        with requests.Session() as s:
            s.trust_env = False
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                t0 = time.monotonic()
                r = s.get(srv.url("/healthz"), timeout=2)
                latencies.append(time.monotonic() - t0)
                assert r.status_code == 200 and r.json() == {"status": "ok"}
        # Fresh connections (accept path) are fast too.
        for _ in range(10):
            r, dt = timed_get(srv, "/healthz", timeout=2)
            assert r.status_code == 200
            latencies.append(dt)
        # /metrics is served on the I/O threads as well, and shows the load still in flight.
        r, dt = timed_get(srv, "/metrics", timeout=2)
        assert r.status_code == 200 and dt < 0.5, dt
        assert srv.metrics().value("http_requests_in_flight") >= 20, \
            "the slow requests ended before sampling did: the measurement did not overlap load"
        slow_results = [f.result() for f in slow]
        burn_results = [f.result() for f in burns]
    latencies.sort()
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    assert len(latencies) >= 20, f"only {len(latencies)} /healthz samples in 1.5 s"
    assert latencies[-1] < 0.5, f"slowest /healthz {latencies[-1]:.3f}s"
    assert p99 < 0.2, f"/healthz p99 {p99:.3f}s over {len(latencies)} samples"
    assert all(r.status_code == 200 and r.json() == {"delay_seconds": 5} for r, _ in slow_results)
    assert all(r.status_code == 200 for r, _ in burn_results), [r.text for r, _ in burn_results]
    # The queued burns waited for a worker: two ran after the first two.
    waits = sorted(dt for _, dt in burn_results)
    assert waits[-1] >= 3.5, waits


def test_compute_pool_full_rejects_at_once(api_factory):
    srv = api_factory(env={"COMPUTE_THREADS": "1", "COMPUTE_QUEUE_SIZE": "1"})
    results: list = [None] * 3

    def fire(i):
        results[i] = timed_get(srv, "/burn", params={"seconds": 2}, timeout=30)

    threads = []
    for i in range(3):  # one runs, one waits in the queue, the third finds the queue full
        t = threading.Thread(target=fire, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.3)
    try:
        wait_for(lambda: results[2] is not None, timeout=1.5, what="the third /burn answer")
        r, dt = results[2]
        assert_error(r, 503)
        assert dt < 0.75, f"503 took {dt:.3f}s: the rejection waited"
        assert r.headers.get("Retry-After") == "1", r.headers
        # Every CPU-heavy handler is refused while the queue is full; others still work.
        m = srv.metrics()
        assert m.value("october_compute_queue_depth") == 1
        assert m.value("october_compute_rejections_total") >= 1
        assert_error(srv.get("/compute/prime", params={"n": 10}, timeout=2), 503)
        assert_error(srv.get("/compute/hash", params={"iterations": 1}, timeout=2), 503)
        r, dt = timed_get(srv, "/healthz", timeout=2)
        assert r.status_code == 200 and dt < 0.5
        r, dt = timed_get(srv, "/slow", params={"delay": 0.1}, timeout=2)
        assert r.status_code == 200 and dt < 1.0
    finally:
        for t in threads:
            t.join(timeout=30)
    for i in (0, 1):
        r, _ = results[i]
        assert r.status_code == 200 and r.json()["burned_seconds"] == pytest.approx(2, abs=0.3), \
            (i, r.status_code, r.text)
    assert srv.metrics().value("october_compute_rejections_total") >= 3


def test_compute_queue_size_zero(api_factory):
    srv = api_factory(env={"COMPUTE_THREADS": "1", "COMPUTE_QUEUE_SIZE": "0"})
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(timed_get, srv, "/burn", params={"seconds": 1.5}, timeout=30)
        time.sleep(0.4)
        r, dt = timed_get(srv, "/compute/prime", params={"n": 5}, timeout=5)
        assert_error(r, 503)
        assert dt < 0.75 and r.headers.get("Retry-After") == "1"
        assert first.result()[0].status_code == 200
    # The worker frees itself just after its answer went out: allow it a moment.
    r = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
        srv.get("/compute/prime", params={"n": 5})), timeout=1, what="prime once the pool is free")
    assert r.json()["prime_number"] == 11


def test_sequential_compute_requests_never_rejected(api_factory):
    # One client, one request at a time: the pool is idle whenever a request arrives, so even
    # with no queue at all nothing may be refused (the worker must be free before it answers).
    srv = api_factory(env={"COMPUTE_THREADS": "1", "COMPUTE_QUEUE_SIZE": "0"})
    refused = []
    for i in range(30):
        for path, params in (("/burn", {"seconds": 0.1}), ("/compute/prime", {"n": 5})):
            r = srv.get(path, params=params)
            if r.status_code != 200:
                refused.append((i, path, r.status_code, r.text))
    assert not refused, f"{len(refused)}/60 sequential requests refused: {refused[:3]}"


# --- readiness follows Redis -----------------------------------------------------------------
def ready_status(srv):
    r, dt = timed_get(srv, "/ready", timeout=3)
    assert dt < 0.5, f"/ready took {dt:.3f}s: it must answer from the cached state"
    return r


def test_readiness_follows_redis_restart(api_factory, redis_factory):
    redis = redis_factory()
    srv = api_factory(redis=redis, env={"READINESS_INTERVAL_SECONDS": "0.2"})
    assert ready_status(srv).status_code == 200
    port = redis.port
    redis.stop()
    (r,) = wait_for(lambda: (lambda r: (r,) if r.status_code == 503 else None)(ready_status(srv)),
                    timeout=10, interval=0.1, what="/ready 503 with Redis stopped")
    body = r.json()
    assert body["ready"] is False and body["error"] == "not_ready" and body["detail"], body
    assert srv.get("/readyz").status_code == 503
    assert srv.get("/healthz").status_code == 200, "liveness must not depend on Redis"
    assert srv.metrics().value("october_ready") == 0
    assert srv.get("/compute/prime", params={"n": 3}).json()["prime_number"] == 5
    redis.start(port=port)
    wait_for(lambda: ready_status(srv).status_code == 200, timeout=10, interval=0.1,
             what="/ready 200 after Redis came back")
    assert srv.get("/ready").json() == {"ready": True}
    assert srv.metrics().value("october_ready") == 1


def test_readiness_false_when_redis_hangs(api_factory, redis_factory):
    # A Redis that accepts but never answers: the background PING must time out.
    redis = redis_factory()
    srv = api_factory(redis=redis, env={"READINESS_INTERVAL_SECONDS": "0.2"})
    assert ready_status(srv).status_code == 200
    redis.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: ready_status(srv).status_code == 503, timeout=10, interval=0.1,
                 what="/ready 503 with Redis frozen")
        assert srv.get("/healthz", timeout=2).status_code == 200
    finally:
        redis.signal(signal.SIGCONT)
    wait_for(lambda: ready_status(srv).status_code == 200, timeout=10, interval=0.1,
             what="/ready 200 after Redis resumed")


def test_not_ready_when_redis_absent_at_start(api_factory, redis_factory):
    redis = redis_factory()
    port = redis.port
    redis.stop()
    srv = api_factory(redis=redis, wait_ready=False, env={"READINESS_INTERVAL_SECONDS": "0.2"})
    assert srv.get("/healthz").status_code == 200
    time.sleep(0.5)
    assert ready_status(srv).status_code == 503
    redis.start(port=port)
    wait_for(lambda: ready_status(srv).status_code == 200, timeout=10, interval=0.1,
             what="/ready 200 once Redis appears")


# --- graceful shutdown -----------------------------------------------------------------------
def test_sigterm_drains_and_finishes_in_flight(api_factory):
    srv = api_factory(env={"SHUTDOWN_DRAIN_SECONDS": "1", "SHUTDOWN_TIMEOUT_SECONDS": "10"})
    idle = RawClient(srv.port)
    idle.send(get_request("/healthz"))
    assert idle.read_response().status == 200
    with ThreadPoolExecutor(max_workers=8) as pool:
        inflight = [pool.submit(timed_get, srv, "/slow", params={"delay": 3}, timeout=30)
                    for _ in range(5)]
        wait_for(lambda: srv.metrics().value("http_requests_in_flight") >= 5, timeout=3,
                 what="5 slow requests in flight")
        t_sig = time.monotonic()
        srv.signal(signal.SIGTERM)
        # Readiness turns false at once, while the listener still serves.
        (r,) = wait_for(lambda: (lambda r: (r,) if r.status_code == 503 else None)(
            srv.get("/ready", timeout=1)), timeout=0.8, interval=0.02,
            what="/ready 503 during the drain")
        assert r.json()["ready"] is False, r.text
        assert srv.get("/healthz", timeout=1).status_code == 200
        assert time.monotonic() - t_sig < 1.0, "the checks above overran the drain window"
        # After the drain the listener is closed; in-flight requests are still running.
        time.sleep(max(0.0, t_sig + 1.6 - time.monotonic()))
        with pytest.raises(requests.ConnectionError):
            srv.get("/healthz", timeout=1)
        results = [f.result() for f in inflight]
    for r, _ in results:
        assert r.status_code == 200 and r.json() == {"delay_seconds": 3}, r.text
    rc = srv.wait(timeout=10)
    exited = time.monotonic()
    assert rc == 0, f"exit code {rc}"
    assert exited - t_sig < 8, "exit took too long after the in-flight requests finished"
    idle.close()  # it was open and idle all along: it must not have held the exit back


def test_sigint_exits_zero(api_factory):
    srv = api_factory(env={"SHUTDOWN_DRAIN_SECONDS": "0"})
    srv.signal(signal.SIGINT)
    assert srv.wait(timeout=5) == 0


def test_sigterm_with_idle_connections_exits_promptly(api_factory):
    # Idle keep-alive connections are closed at shutdown; they never hold the exit back.
    # Several rounds, because a shutdown race shows up only some of the time.
    for round_ in range(12):
        srv = api_factory(env={"SHUTDOWN_DRAIN_SECONDS": "0", "SHUTDOWN_TIMEOUT_SECONDS": "5"})
        idle = []
        for _ in range(3 if round_ % 3 == 2 else 1):
            c = RawClient(srv.port)
            c.send(get_request("/healthz"))
            assert c.read_response().status == 200
            idle.append(c)
        t0 = time.monotonic()
        srv.signal(signal.SIGTERM)
        rc = srv.wait(timeout=6)
        took = time.monotonic() - t0
        for c in idle:
            c.close()
        assert rc == 0, f"round {round_}: exit code {rc} (None = still running after 6 s)"
        assert took < 3, f"round {round_}: exit took {took:.2f}s with only idle connections"
        assert any('"stopped"' in ln or "stop" in ln for ln in srv.stdout_lines()[-3:]), \
            "no lifecycle log line at exit"


# --- slow and idle clients -------------------------------------------------------------------
def test_slow_header_client_is_cut_off(api_factory):
    srv = api_factory(env={"HEADER_TIMEOUT_SECONDS": "1"})
    with RawClient(srv.port) as c:
        c.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Partial: abc")
        closed, waited, got = c.wait_closed(6)
    assert closed, "server kept a connection with unfinished headers open"
    assert 0.5 <= waited <= 3, f"closed after {waited:.2f}s with HEADER_TIMEOUT_SECONDS=1"
    assert got == b"" or got.startswith(b"HTTP/1.1 408"), got


def test_dribbling_header_client_is_cut_off(api_factory):
    # Slowloris: bytes keep arriving, but the headers never complete.
    srv = api_factory(env={"HEADER_TIMEOUT_SECONDS": "1"})
    with RawClient(srv.port) as c:
        c.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        start = time.monotonic()
        closed = False
        while time.monotonic() - start < 6:
            readable, _, _ = select.select([c.sock], [], [], 0.2)
            if readable:
                try:
                    data = c.sock.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:
                    closed = True
                    break
                continue
            if not c.try_send(b"a"):
                closed = True
                break
        waited = time.monotonic() - start
    assert closed, "a dribbling client kept its connection past the header timeout"
    assert waited <= 3, f"closed after {waited:.2f}s with HEADER_TIMEOUT_SECONDS=1"


def test_header_sent_in_pieces_within_timeout_is_served(api_factory):
    srv = api_factory(env={"HEADER_TIMEOUT_SECONDS": "2"})
    with RawClient(srv.port) as c:
        c.send(b"GET /healthz HTTP/1.1\r\nHo")
        time.sleep(0.3)
        c.send(b"st: 127.0.0.1\r\n")
        time.sleep(0.3)
        c.send(b"\r\n")
        r = c.read_response()
    assert r.status == 200 and r.json() == {"status": "ok"}


def test_idle_keep_alive_connection_closed(api_factory):
    srv = api_factory(env={"IDLE_TIMEOUT_SECONDS": "1", "HEADER_TIMEOUT_SECONDS": "10"})
    with RawClient(srv.port) as c:
        c.send(get_request("/healthz"))
        assert c.read_response().status == 200
        time.sleep(0.4)  # within the idle timeout: still usable
        c.send(get_request("/status/202"))
        assert c.read_response().status == 202
        closed, waited, _ = c.wait_closed(6)
    assert closed, "idle keep-alive connection never closed"
    assert 0.6 <= waited <= 3, f"closed after {waited:.2f}s with IDLE_TIMEOUT_SECONDS=1"


# --- pipelining ------------------------------------------------------------------------------
def test_pipelined_requests_answered_in_order(api):
    with RawClient(api.port) as c:
        c.send(get_request("/status/201", {"X-Request-ID": "pipe-1"})
               + get_request("/healthz", {"X-Request-ID": "pipe-2"})
               + get_request("/status/202", {"X-Request-ID": "pipe-3"}))
        got = [c.read_response() for _ in range(3)]
    assert [r.status for r in got] == [201, 200, 202], got
    assert [r.json() for r in got] == [{"status": 201}, {"status": "ok"}, {"status": 202}]
    assert [r.header("X-Request-ID") for r in got] == ["pipe-1", "pipe-2", "pipe-3"]


def test_pipelined_order_kept_behind_a_slow_request(api):
    with RawClient(api.port) as c:
        start = time.monotonic()
        c.send(get_request("/delay/1") + get_request("/healthz")
               + get_request("/status/203", close=True))
        first = c.read_response()
        second = c.read_response()
        t_second = time.monotonic() - start
        third = c.read_response()
        closed, _, extra = c.wait_closed(3)
    assert (first.status, second.status, third.status) == (200, 200, 203)
    assert first.json() == {"delay_seconds": 1} and second.json() == {"status": "ok"}
    assert t_second >= 0.98, "the second answer overtook the first"
    assert closed and extra == b"", "Connection: close not honoured"


# --- connection limit ------------------------------------------------------------------------
def test_max_connections_enforced(api_factory):
    srv = api_factory(env={"MAX_CONNECTIONS": "3"})
    time.sleep(0.2)  # the fixture's probe connections are closed
    held = []
    try:
        for _ in range(3):
            c = RawClient(srv.port)
            c.send(get_request("/healthz"))
            assert c.read_response().status == 200
            held.append(c)
        extra = RawClient(srv.port, timeout=5)
        try:
            readable, _, _ = select.select([extra.sock], [], [], 0.3)
            if not readable:
                extra.try_send(get_request("/healthz"))
            r = extra.read_response()
        finally:
            extra.close()
        assert r.status == 503, r
        assert r.header("Retry-After"), r
        assert set(r.json()) == {"error", "detail"}, r
        # The held connections still work.
        held[0].send(get_request("/status/201"))
        assert held[0].read_response().status == 201
        held.pop().close()

        def admitted():
            with RawClient(srv.port, timeout=3) as c:
                c.try_send(get_request("/healthz", close=True))
                return c.read_response().status == 200

        wait_for(admitted, timeout=3, interval=0.1, what="a new connection after one closed")
    finally:
        for c in held:
            c.close()


# --- configuration ---------------------------------------------------------------------------
BAD_ENV = [
    ("PORT", "abc"), ("PORT", "70000"), ("PORT", "0"), ("PORT", "-1"), ("LOG_LEVEL", "loud"),
    ("HOST", "999.1.1.1"), ("CELERY_BROKER_URL", "http://127.0.0.1:6379/0"),
    ("CELERY_RESULT_BACKEND", "redis://127.0.0.1:notaport/1"),
    ("SHUTDOWN_DRAIN_SECONDS", "301"), ("SHUTDOWN_TIMEOUT_SECONDS", "-1"),
    ("IO_THREADS", "-1"), ("IO_THREADS", "257"), ("COMPUTE_THREADS", "257"),
    ("COMPUTE_QUEUE_SIZE", "-1"), ("COMPUTE_QUEUE_SIZE", "100001"), ("MAX_CONNECTIONS", "0"),
    ("MAX_HEADER_BYTES", "1023"), ("MAX_BODY_BYTES", "104857601"),
    ("HEADER_TIMEOUT_SECONDS", "0.05"), ("IDLE_TIMEOUT_SECONDS", "abc"),
    ("MEMORY_MAX_MB", "0"), ("MEMORY_MAX_MB", "65537"), ("READINESS_INTERVAL_SECONDS", "61"),
    ("FAIL_HEALTHZ", "maybe"), ("HEADER_TIMEOUT_SECONDS", "nan"),
    ("BROKER_CALL_THREADS", "0"), ("BROKER_CALL_THREADS", "257"),
    ("BROKER_CALL_QUEUE_SIZE", "-1"), ("BROKER_CALL_QUEUE_SIZE", "100001"),
]


@pytest.mark.parametrize("var,value", BAD_ENV, ids=[f"{k}={v}" for k, v in BAD_ENV])
def test_bad_config_env(var, value):
    assert_rejected(run_api_binary(env={var: value}), var)


def test_unknown_flag():
    assert_rejected(run_api_binary(args=["--no-such-flag"]), "no-such-flag")


def test_bad_flag_value():
    assert_rejected(run_api_binary(args=["--port=abc"]), "PORT", "--port")


ALL_VARS = ["HOST", "PORT", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "LOG_LEVEL",
            "SHUTDOWN_DRAIN_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "IO_THREADS",
            "COMPUTE_THREADS", "COMPUTE_QUEUE_SIZE", "MAX_CONNECTIONS", "MAX_HEADER_BYTES",
            "MAX_BODY_BYTES", "HEADER_TIMEOUT_SECONDS", "IDLE_TIMEOUT_SECONDS", "MEMORY_MAX_MB",
            "READINESS_INTERVAL_SECONDS", "FAIL_HEALTHZ", "BROKER_CALL_THREADS",
            "BROKER_CALL_QUEUE_SIZE"]


def test_help_lists_every_variable():
    rc, out, err = run_api_binary(args=["--help"])
    assert rc == 0, f"exit code {rc}; stderr {err!r}"
    for var in ALL_VARS:
        assert var in out, f"--help does not list {var}"
    assert "--port" in out


def test_flags_configure_like_env(tmp_path, redis_server):
    # `october-api --help` documents the syntax as --flag=value.
    help_text = run_api_binary(args=["--help"])[1]
    m = re.search(r"--compute[-_]threads", help_text)
    assert m, "--help does not show the --compute-threads flag"
    port = free_port()
    flags = {"--port": str(port), "--host": "127.0.0.1", m.group(0): "3"}
    args = []
    for k, v in flags.items():
        args.append(f"{k}={v}")
    env = {"READINESS_INTERVAL_SECONDS": "0.2", "SHUTDOWN_DRAIN_SECONDS": "0",
           "CELERY_BROKER_URL": redis_server.url(0),
           "CELERY_RESULT_BACKEND": redis_server.url(1)}
    srv = ApiServer(tmp_path / "flags", env, args=args)
    srv.port = port
    try:
        srv.start()
        assert srv.get("/healthz").json() == {"status": "ok"}
        assert srv.metrics().value("october_compute_workers") == 3
    finally:
        srv.close()
