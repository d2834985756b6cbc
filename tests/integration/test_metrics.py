"""/metrics: names, types, labels, histogram buckets, promtool lint and a real Prometheus scrape."""

from __future__ import annotations

import math
import subprocess
import time

import pytest

from support.processes import wait_for
from support.prometheus import PrometheusServer

BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, math.inf]

FAMILIES = {
    "http_requests_total": "counter",
    "http_request_duration_seconds": "histogram",
    "http_requests_in_flight": "gauge",
    "http_connections_open": "gauge",
    "october_build_info": "gauge",
    "october_ready": "gauge",
    "october_compute_queue_depth": "gauge",
    "october_compute_queue_capacity": "gauge",
    "october_compute_workers": "gauge",
    "october_compute_rejections_total": "counter",
    "october_memory_allocated_bytes": "gauge",
    "october_fault_injection": "gauge",
    "october_random_delay_min_seconds": "gauge",
    "october_random_delay_max_seconds": "gauge",
    "october_random_error_ratio": "gauge",
    "october_random_delays_total": "counter",
    "october_random_errors_total": "counter",
    "process_cpu_seconds_total": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
}


def generate_traffic(api):
    api.get("/healthz")
    api.get("/status/418")
    api.get("/status/201")
    api.get("/status/204")
    api.get("/delay/0")
    api.get("/compute/prime", params={"n": 7})
    api.get("/compute/prime", params={"n": "bad"})
    api.get("/no-such-thing-xyz")
    api.get("/another/unknown/path-abc")
    api.post("/healthz")
    api.get("/version")


def test_content_type(api):
    r = api.get("/metrics")
    assert r.status_code == 200
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("text/plain"), ctype
    assert "version=0.0.4" in ctype.replace(" ", ""), ctype


def test_families_and_types(api):
    generate_traffic(api)
    m = api.metrics()
    for name, kind in FAMILIES.items():
        assert m.types.get(name) == kind, f"# TYPE {name} should be {kind}, got {m.types.get(name)}"
    names = m.names()
    for name, kind in FAMILIES.items():
        if kind == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                assert name + suffix in names, f"{name}{suffix} missing"
        else:
            assert name in names, f"no sample of {name}"


def test_promtool_check_metrics(api):
    generate_traffic(api)
    body = api.get("/metrics").text
    res = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=body.encode(),
                         capture_output=True, timeout=30)
    assert res.returncode == 0, (f"promtool rc={res.returncode}\n{res.stdout.decode()}\n"
                                 f"{res.stderr.decode()}")


def test_path_label_is_route_template(api):
    generate_traffic(api)
    api.get("/delay/0")
    m = api.metrics()
    assert m.find("http_requests_total", method="GET", path="/status/{code}", status="418")
    assert m.find("http_requests_total", method="GET", path="/status/{code}", status="201")
    assert m.find("http_requests_total", method="GET", path="/delay/{seconds}", status="200")
    assert m.find("http_requests_total", method="GET", path="/compute/prime", status="200")
    assert m.find("http_requests_total", method="GET", path="/compute/prime", status="400")
    assert m.find("http_request_duration_seconds_count", method="GET", path="/status/{code}",
                  status="418")
    for raw in ("/status/418", "/status/201", "/delay/0", "n=7", "?"):
        assert all(raw not in lab.get("path", "") for _, lab, _ in m.samples), raw
    paths = {lab["path"] for n, lab, _ in m.samples if "path" in lab}
    assert paths, "no path labels at all"
    assert all(p == "unmatched" or p.startswith("/") for p in paths), paths


def test_unknown_path_is_unmatched(api):
    api.get("/no-such-thing-xyz")
    api.get("/another/unknown/path-abc")
    m = api.metrics()
    found = m.find("http_requests_total", method="GET", path="unmatched", status="404")
    assert found and found[0][1] >= 2, found
    assert "no-such-thing-xyz" not in m.text and "path-abc" not in m.text


def test_counter_increases_exactly(api):
    before = api.metrics().value("http_requests_total", method="GET", path="/version",
                                 status="200") or 0
    for _ in range(3):
        assert api.get("/version").status_code == 200
    after = api.metrics().value("http_requests_total", method="GET", path="/version",
                                status="200")
    assert after == before + 3, (before, after)


def test_histogram_buckets(api):
    for _ in range(2):
        api.get("/version")
    m = api.metrics()
    labels = dict(method="GET", path="/version", status="200")
    buckets = m.find("http_request_duration_seconds_bucket", **labels)
    les = sorted(float(lab["le"].replace("+Inf", "inf")) for lab, _ in buckets)
    assert les == BUCKETS, les
    by_le = {float(lab["le"].replace("+Inf", "inf")): v for lab, v in buckets}
    values = [by_le[b] for b in BUCKETS]
    assert values == sorted(values), f"buckets are not cumulative: {values}"
    count = m.value("http_request_duration_seconds_count", **labels)
    assert count == by_le[math.inf]
    assert count == m.value("http_requests_total", **labels)
    total = m.value("http_request_duration_seconds_sum", **labels)
    assert 0 < total < count * 5


def test_histogram_observes_duration(api):
    labels = dict(method="GET", path="/slow", status="200")

    def bucket(m, le):
        return m.value("http_request_duration_seconds_bucket", le=le, **labels) or 0

    m0 = api.metrics()
    start = time.monotonic()
    assert api.get("/slow", params={"delay": 1.2}).status_code == 200
    elapsed = time.monotonic() - start
    m1 = api.metrics()
    assert bucket(m1, "1") == bucket(m0, "1"), "a 1.2 s request landed in le=1"
    if elapsed < 1.9:
        assert bucket(m1, "2") == bucket(m0, "2") + 1
    assert bucket(m1, "+Inf") == bucket(m0, "+Inf") + 1
    s0 = m0.value("http_request_duration_seconds_sum", **labels) or 0
    s1 = m1.value("http_request_duration_seconds_sum", **labels)
    assert 1.2 <= s1 - s0 < elapsed + 0.5, (s0, s1)


def test_gauges_and_build_info(api_factory):
    srv = api_factory(env={"COMPUTE_THREADS": "3", "COMPUTE_QUEUE_SIZE": "17"})
    version = srv.get("/version").json()
    m = srv.metrics()
    info = m.find("october_build_info")
    assert len(info) == 1, info
    lab, val = info[0]
    assert val == 1 and lab.get("version") == version["version"] \
        and lab.get("revision") == version["revision"], info
    assert m.value("october_ready") == 1
    assert m.value("october_compute_workers") == 3
    assert m.value("october_compute_queue_capacity") == 17
    assert m.value("october_compute_queue_depth") == 0
    assert m.value("october_compute_rejections_total") == 0
    assert m.value("october_memory_allocated_bytes") == 0
    assert m.value("http_connections_open") >= 1
    assert m.value("http_requests_in_flight") >= 0


def test_ready_gauge_follows_readiness(api_factory):
    srv = api_factory()
    assert srv.metrics().value("october_ready") == 1
    assert srv.post("/ready/disable").status_code == 200
    assert srv.metrics().value("october_ready") == 0
    assert srv.post("/ready/enable").status_code == 200
    assert srv.metrics().value("october_ready") == 1


def test_process_metrics(api):
    m = api.metrics()
    now = time.time()
    rss = m.value("process_resident_memory_bytes")
    vms = m.value("process_virtual_memory_bytes")
    assert rss and rss > 1024 * 1024 and vms >= rss, (rss, vms)
    assert m.value("process_open_fds") >= 3
    assert m.value("process_max_fds") >= m.value("process_open_fds")
    assert m.value("process_cpu_seconds_total") >= 0
    start = m.value("process_start_time_seconds")
    assert now - 3600 < start <= now + 5, (start, now)
    # The start time is the process's, not the scrape's.
    time.sleep(1.1)
    assert api.metrics().value("process_start_time_seconds") == pytest.approx(start, abs=1.0)


def test_connections_gauge_counts_open_connections(api_factory):
    # Measured as a difference (4 clients open, then closed), so connections the harness itself
    # opens or closes meanwhile cannot make the test flaky.
    from support.rawhttp import RawClient, get_request
    srv = api_factory()
    clients = [RawClient(srv.port) for _ in range(4)]
    try:
        for c in clients:
            c.send(get_request("/healthz"))
            assert c.read_response().status == 200
        with_clients = srv.metrics().value("http_connections_open")
        assert with_clients >= 4 + 1, with_clients  # the 4 clients and this scrape
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: srv.metrics().value("http_connections_open") <= with_clients - 4, timeout=5,
             what="the 4 closed connections leaving the gauge")


def test_prometheus_scrapes_the_api(api, tmp_path):
    prom = PrometheusServer(tmp_path / "prometheus", [f"127.0.0.1:{api.port}"], interval="1s")
    try:
        prom.start()

        def target_up():
            data = prom.api("/api/v1/targets").json()["data"]["activeTargets"]
            return data if data and all(t["health"] == "up" for t in data) else None

        targets = wait_for(target_up, timeout=30, interval=0.3, what="prometheus target up")
        assert len(targets) == 1 and targets[0]["scrapeUrl"].startswith(
            f"http://127.0.0.1:{api.port}/metrics"), targets
        assert targets[0]["lastError"] == "", targets

        def query(q):
            r = prom.api("/api/v1/query", query=q).json()
            assert r["status"] == "success", r
            return r["data"]["result"]

        up = wait_for(lambda: query('up{job="october-api"}'), timeout=30, interval=0.3,
                      what="up series")
        assert up[0]["value"][1] == "1", up
        info = wait_for(lambda: query("october_build_info"), timeout=15, interval=0.3,
                        what="october_build_info series")
        assert info[0]["metric"].get("version"), info
        scrapes = wait_for(lambda: query('http_requests_total{path="/metrics",status="200"}'),
                           timeout=15, interval=0.3, what="scrape counter")
        assert float(scrapes[0]["value"][1]) >= 1
        buckets = wait_for(
            lambda: query('http_request_duration_seconds_bucket{path="/metrics",status="200"}'),
            timeout=15, interval=0.3, what="histogram buckets")
        assert len(buckets) == len(BUCKETS), buckets
    finally:
        prom.close()
