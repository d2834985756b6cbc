"""GET /chunked/{seconds}: chunked transfer coding, one JSON line per interval, held on timers
(many streams at once on one I/O thread), bounded parameters with 400s naming them, keep-alive
and pipelining after a stream, and a draining server ending a stream cleanly at a chunk."""

from __future__ import annotations

import json
import signal
import threading
import time

import pytest

from support.http_checks import assert_error
from support.processes import wait_for
from support.rawhttp import RawClient, get_request


def read_head(client: RawClient) -> tuple[int, dict]:
    while b"\r\n\r\n" not in client.buf:
        assert client._fill(), f"closed before the head: {client.buf!r}"
    head, client.buf = client.buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers


def read_chunks(client: RawClient) -> list[tuple[float, bytes]]:
    """Every chunk with the time it arrived, up to and including the last (empty) one; raises
    ConnectionError when the connection closes before the last chunk (a cut, malformed body)."""
    chunks = []
    while True:
        while b"\r\n" not in client.buf:
            if not client._fill():
                raise ConnectionError(f"closed inside the chunked body after {len(chunks)} chunks")
        size_line, rest = client.buf.split(b"\r\n", 1)
        size = int(size_line, 16)
        while len(rest) < size + 2:
            if not client._fill():
                raise ConnectionError("closed inside a chunk")
            size_line, rest = client.buf.split(b"\r\n", 1)
        assert rest[size:size + 2] == b"\r\n", rest[:size + 2]
        chunks.append((time.monotonic(), rest[:size]))
        client.buf = rest[size + 2:]
        if size == 0:
            return chunks


def stream(api, path: str) -> tuple[dict, list[dict], list[float]]:
    with RawClient(api.port, timeout=30) as client:
        client.send(get_request(path, close=True))
        status, headers = read_head(client)
        assert status == 200, (status, client.buf)
        chunks = read_chunks(client)
    lines = [json.loads(data) for _, data in chunks if data]
    return headers, lines, [t for t, data in chunks if data]


def test_one_chunk_per_interval(api):
    start = time.monotonic()
    headers, lines, times = stream(api, "/chunked/2?interval=0.5")
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers
    assert headers["content-type"] == "application/x-ndjson"
    assert [line["chunk"] for line in lines] == [1, 2, 3, 4]
    assert all(line["of"] == 4 for line in lines)
    # Chunks come over time, not all at the end (generous bounds: a shared 2-core machine).
    assert times[-1] - times[0] >= 1.0, times
    assert times[-1] - start < 10, times
    assert lines[-1]["elapsed_seconds"] >= 1.9


def test_default_interval_is_one_second(api):
    _, lines, _ = stream(api, "/chunked/2")
    assert [line["chunk"] for line in lines] == [1, 2] and lines[0]["of"] == 2


@pytest.mark.parametrize("path,param", [
    ("/chunked/0", "seconds"), ("/chunked/61", "seconds"), ("/chunked/abc", "seconds"),
    ("/chunked/2?interval=0.01", "interval"), ("/chunked/2?interval=11", "interval"),
    ("/chunked/2?interval=x", "interval"),
])
def test_bad_parameters_are_400_naming_them(api, path, param):
    err = assert_error(api.get(path), 400, param=param)
    assert "between" in err["detail"], err


def test_streams_are_timers_not_threads(api_factory):
    # One I/O thread and 20 streams of 2 s at once: held on timers, they all end in about 2 s,
    # and probes are answered meanwhile.
    api = api_factory(env={"IO_THREADS": "1"})
    results, errors = [], []

    def one():
        try:
            results.append(stream(api, "/chunked/2?interval=0.5")[1])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    probe = api.get("/healthz", timeout=5)
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert probe.status_code == 200
    assert len(results) == 20 and all(len(lines) == 4 for lines in results)
    assert time.monotonic() - start < 15, "streams were served one after another"


def test_keep_alive_and_pipelining_after_a_stream(api):
    with RawClient(api.port, timeout=30) as client:
        client.send(get_request("/chunked/1?interval=0.5") + get_request("/version"))
        status, headers = read_head(client)
        assert status == 200
        lines = [json.loads(d) for _, d in read_chunks(client) if d]
        assert [line["chunk"] for line in lines] == [1, 2]
        second = client.read_response()
        assert second.status == 200 and second.json()["service"] == "october-api"


def test_metrics_label_and_access_line(api):
    before = sum(v for _, v in api.metrics().find("http_requests_total",
                                                  path="/chunked/{seconds}", status="200"))
    stream(api, "/chunked/1?interval=0.5")
    after = sum(v for _, v in api.metrics().find("http_requests_total",
                                                 path="/chunked/{seconds}", status="200"))
    assert after == before + 1
    wait_for(lambda: api.metrics().value("http_requests_in_flight") == 1, timeout=5,
             what="only the /metrics request itself in flight")


def test_client_leaving_mid_stream_is_counted_and_harmless(api):
    before = sum(v for _, v in api.metrics().find("http_requests_total", path="/chunked/{seconds}"))
    client = RawClient(api.port, timeout=30)
    client.send(get_request("/chunked/5?interval=0.2"))
    read_head(client)
    client.close()
    # The next chunk write fails: the request is counted and nothing stays in flight.
    wait_for(lambda: sum(v for _, v in api.metrics().find(
        "http_requests_total", path="/chunked/{seconds}")) == before + 1, timeout=10,
        what="the cut stream counted")
    assert api.metrics().value("http_requests_in_flight") == 1
    assert api.get("/healthz").status_code == 200


def test_draining_server_ends_a_stream_cleanly_at_a_chunk(api_factory):
    api = api_factory(env={"SHUTDOWN_DRAIN_SECONDS": "1", "SHUTDOWN_TIMEOUT_SECONDS": "10"})
    with RawClient(api.port, timeout=30) as client:
        client.send(get_request("/chunked/30?interval=0.5"))
        status, _ = read_head(client)
        assert status == 200
        time.sleep(1.2)
        api.signal(signal.SIGTERM)
        start = time.monotonic()
        # The body ends with its last chunk (well-formed, shorter than announced), then the
        # connection closes; read_chunks raises if it were cut mid-body instead.
        lines = [json.loads(d) for _, d in read_chunks(client) if d]
        ended = time.monotonic() - start
        closed, _, extra = client.wait_closed(5)
    assert 2 <= len(lines) < 60 and lines[0]["of"] == 60, lines
    assert [line["chunk"] for line in lines] == list(range(1, len(lines) + 1))
    assert ended < 8, f"the stream took {ended:.1f}s to end after SIGTERM"
    assert closed and extra == b""
    assert api.wait(10) == 0


def test_cut_stream_is_detected_by_the_reader():
    # The reader used above is what tells a clean end from a cut: a body closed before its last
    # chunk raises.
    class Fake(RawClient):
        def __init__(self, data):
            self.buf, self.data = b"", [data]

        def _fill(self):
            if not self.data:
                return False
            self.buf += self.data.pop()
            return True

    with pytest.raises(ConnectionError):
        read_chunks(Fake(b"5\r\nhello\r\n"))
    assert [d for _, d in read_chunks(Fake(b"5\r\nhello\r\n0\r\n\r\n"))] == [b"hello", b""]
