"""POST /api/echo against real october-api processes: api A forwards to BACKEND_URLS (two other
october-api instances, which echo, a port nobody listens on, and peers that hang or record what
they receive), combines the answers, keeps to BACKEND_TIMEOUT, and passes the caller's
X-Request-ID and traceparent on. Bad BACKEND_URLS / BACKEND_TIMEOUT exit 2 naming the setting."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.processes import LOOPBACK, free_port
from support.servers import assert_rejected, run_api_binary

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Recorder(ThreadingHTTPServer):
    """A peer that answers 201 text and keeps the headers and body of what it got."""

    daemon_threads = True

    def __init__(self):
        self.seen: list[tuple[dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
                reply = b"recorded"
                self.send_response(201)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        super().__init__((LOOPBACK, 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}/record"


class Hang:
    """A peer that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(16)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.sock.getsockname()[1]}/never"

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def recorder():
    server = Recorder()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hang():
    peer = Hang()
    yield peer
    peer.close()


def dead_url() -> str:
    return f"http://{LOOPBACK}:{free_port()}/api/echo"  # nothing listens there


def request_ids(server) -> list[str]:
    ids = []
    for line in server.stdout_lines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "request" and entry.get("path") == "/api/echo":
            ids.append(entry.get("request_id"))
    return ids


def test_combines_two_echoes_and_a_dead_backend(api_factory):
    b1, b2 = api_factory(), api_factory()
    dead = dead_url()
    urls = [b1.url("/api/echo"), b2.url("/api/echo"), dead]
    a = api_factory(env={"BACKEND_URLS": ",".join(urls), "BACKEND_TIMEOUT": "2"})
    started = time.monotonic()
    resp = a.post("/api/echo", json={"msg": "hi", "n": 1},
                  headers={"X-Request-ID": "it-echo-42", "traceparent": TRACEPARENT})
    elapsed = time.monotonic() - started
    assert resp.status_code == 502, resp.text  # one backend was not reached
    answers = resp.json()
    assert [x["url"] for x in answers] == urls
    for echo in answers[:2]:
        assert echo["status"] == 200 and echo["body"] == {"msg": "hi", "n": 1}, echo
        assert echo["content_type"].startswith("application/json")
    assert answers[2].keys() == {"url", "error"}
    assert "refused" in answers[2]["error"], answers[2]
    assert elapsed < 10, f"took {elapsed:.1f}s"  # generous; a refused connect is immediate
    # The caller's request id reached both backends (their access log lines).
    for backend in (b1, b2):
        assert "it-echo-42" in request_ids(backend), backend.stdout_lines()[-5:]
    assert "it-echo-42" in request_ids(a)


def test_all_answered_is_200_and_headers_pass_on(api_factory, recorder):
    b1 = api_factory()
    a = api_factory(env={"BACKEND_URLS": f"{b1.url('/api/echo')}, {recorder.url}"})
    resp = a.post("/api/echo", data=b"plain words", headers={
        "Content-Type": "text/plain", "X-Request-ID": "it-echo-43", "traceparent": TRACEPARENT,
        "tracestate": "vendor=1"})
    assert resp.status_code == 200, resp.text
    echo, recorded = resp.json()
    assert echo["status"] == 200 and echo["body"] == "plain words"
    assert echo["content_type"].startswith("text/plain")
    assert recorded == {"url": recorder.url, "status": 201,
                        "content_type": "text/plain", "body": "recorded"}
    headers, body = recorder.seen[-1]
    assert body == b"plain words"
    assert headers["x-request-id"] == "it-echo-43"
    assert headers["traceparent"] == TRACEPARENT
    assert headers["tracestate"] == "vendor=1"
    assert headers["content-type"] == "text/plain"


def test_without_a_request_id_the_generated_one_passes_on(api_factory, recorder):
    a = api_factory(env={"BACKEND_URLS": recorder.url})
    resp = a.post("/api/echo", data=b"x")
    assert resp.status_code == 200
    generated = resp.headers["X-Request-ID"]
    assert recorder.seen[-1][0]["x-request-id"] == generated
    assert "traceparent" not in recorder.seen[-1][0]  # none to pass on


def test_a_hanging_backend_times_out(api_factory, hang):
    b1 = api_factory()
    a = api_factory(env={"BACKEND_URLS": f"{hang.url},{b1.url('/api/echo')}",
                         "BACKEND_TIMEOUT": "1"})
    started = time.monotonic()
    resp = a.post("/api/echo", json=[1, 2])
    elapsed = time.monotonic() - started
    assert resp.status_code == 502
    stuck, echo = resp.json()
    assert stuck == {"url": hang.url, "error": "timed out after 1000 ms (read)"}
    assert echo["body"] == [1, 2]
    assert 0.9 <= elapsed < 8, f"took {elapsed:.1f}s"  # the timeout held, generously bounded


def test_binary_answers_are_base64(api_factory):
    b1 = api_factory()
    a = api_factory(env={"BACKEND_URLS": b1.url("/api/echo")})
    resp = a.post("/api/echo", data=b"\xff\x00\xfe",
                  headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 200
    assert resp.json()[0]["body"] == {"base64": "/wD+"}


def test_without_backends_it_echoes(api):
    resp = api.post("/api/echo", data=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.content == b'{"a": 1}'


def test_openapi_lists_api_echo(api):
    assert "post" in api.get("/openapi.json").json()["paths"]["/api/echo"]


@pytest.mark.parametrize("env,name", [
    ({"BACKEND_URLS": "https://127.0.0.1:1/"}, "BACKEND_URLS"),
    ({"BACKEND_URLS": "http://127.0.0.1:0/"}, "BACKEND_URLS"),
    ({"BACKEND_URLS": "http://127.0.0.1:8000/,"}, "BACKEND_URLS"),
    ({"BACKEND_URLS": "127.0.0.1:8000"}, "BACKEND_URLS"),
    ({"BACKEND_URLS": "http:///path"}, "BACKEND_URLS"),
    ({"BACKEND_URLS": ",".join(["http://127.0.0.1:1/"] * 17)}, "BACKEND_URLS"),
    ({"BACKEND_TIMEOUT": "0"}, "BACKEND_TIMEOUT"),
    ({"BACKEND_TIMEOUT": "61"}, "BACKEND_TIMEOUT"),
    ({"BACKEND_TIMEOUT": "soon"}, "BACKEND_TIMEOUT"),
])
def test_bad_backend_settings_exit_2_naming_them(env, name):
    assert_rejected(run_api_binary(env=env), name)
