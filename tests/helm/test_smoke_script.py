"""The helm test script's /cache and /token checks, each shown to fail loudly, naming the check,
against an api that gets that one thing wrong.

The script is the unit here; the real api runs it in test_binaries.py (the round trips pass
against the api once its --help lists CACHE_MAX_VALUE_BYTES and JWT_SECRET) and in tests/deploy.
A wrong api cannot be had from the real binary, so this file serves the script a small loopback
HTTP server that answers every request the script makes, correctly by default, and breaks one
answer per case.
"""

from __future__ import annotations

import json
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import helmlib

helmlib.require_tools()

ISSUED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJoZWxtLXRlc3QifQ.c2lnbmF0dXJl"


class Api(BaseHTTPRequestHandler):
    """What the script expects of the api; `broken` names the one answer to get wrong."""

    broken = ""
    cache: dict[str, bytes] = {}

    def log_message(self, *args):
        pass

    def answer(self, status: int, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def do_GET(self):
        path = self.path
        if path == "/healthz":
            return self.answer(200, {"status": "ok"})
        if path == "/ready":
            return self.answer(200, {"ready": True})
        if path == "/metrics":
            return self.answer(200, b'http_requests_total{route="/"} 1\n', "text/plain")
        if path == "/compute/prime?n=100":
            return self.answer(200, {"n": 100, "prime_number": 541})
        if path == "/tasks/t1":
            return self.answer(200, {"task_id": "t1", "status": "SUCCESS", "result": 5})
        if path.startswith("/cache/"):
            value = self.cache.get(path)
            if value is None:
                return self.answer(404, {"error": "not_found", "detail": path})
            return self.answer(200, value + (b"!" if self.broken == "cache-get" else b""), "text/plain")
        return self.answer(404, {"error": "not_found", "detail": path})

    def do_PUT(self):
        if self.path.startswith("/cache/") and self.broken != "cache-put":
            self.cache[self.path] = self.body()
            return self.answer(204, b"")
        return self.answer(404, {"error": "not_found", "detail": self.path})

    def do_DELETE(self):
        if self.path.startswith("/cache/") and self.cache.pop(self.path, None) is not None:
            return self.answer(200 if self.broken != "cache-delete" else 500, {"deleted": True})
        return self.answer(404, {"error": "not_found", "detail": self.path})

    def do_POST(self):
        body = self.body()
        if self.path == "/tasks":
            return self.answer(202, {"task_id": "t1"})
        if self.path == "/token":
            if json.loads(body) != {"sub": "helm-test"}:
                return self.answer(400, {"error": "bad_sub", "detail": body.decode()})
            return self.answer(200, {"tok": ISSUED} if self.broken == "token" else {"token": ISSUED, "expires_in": 60})
        if self.path == "/token/validate":
            given = self.headers.get("Authorization", "")
            ok = given == f"Bearer {ISSUED}"
            if self.broken == "token-validate":
                ok = False
            if self.broken == "token-forged":
                ok = given.startswith("Bearer ")  # takes any token: no signature check
            return self.answer(200 if ok else 401, {"valid": ok} if ok else {"error": "invalid_token", "detail": "x"})
        return self.answer(404, {"error": "not_found", "detail": self.path})


@pytest.fixture
def api():
    """Starts the stand-in on a free loopback port: api(broken) -> its URL."""
    servers = []

    def start(broken=""):
        handler = type("BrokenApi", (Api,), {"broken": broken, "cache": {}})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def script() -> str:
    pod = helmlib.render_scenario("knobs").get("Pod", "api-smoke-test")
    return pod["spec"]["containers"][0]["args"][0]


def run(url: str, tmp_path, cache="true", token="true") -> subprocess.CompletedProcess:
    # dash, a POSIX sh like the busybox ash of the curl image; curl's retries of a 5xx kept short.
    env = {"PATH": "/usr/bin:/bin", "API_URL": url, "HOME": str(tmp_path), "CHECK_CACHE": cache, "CHECK_TOKEN": token}
    return subprocess.run(["dash", "-c", script()], env=env, capture_output=True, text=True, timeout=120)


def test_round_trips_pass_against_a_correct_api(api, tmp_path):
    url = api()
    result = run(url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for check in ("cache-put", "cache-get", "cache-delete", "token", "token-validate", "token-forged"):
        assert f"ok   {check}\n" in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith(f"all smoke checks passed against {url}"), result.stdout


@pytest.mark.parametrize("broken,message", [
    ("cache-put", "FAIL cache-put: PUT /cache/helm-test-"),
    ("cache-get", "FAIL cache-get: GET /cache/helm-test-"),
    ("cache-delete", "FAIL cache-delete: DELETE /cache/helm-test-"),
    ("token", 'FAIL token: no JWT (header.payload.signature) under "token"'),
    ("token-validate", "FAIL token-validate: POST /token/validate answered 401, want 200"),
    ("token-forged", "FAIL token-forged: POST /token/validate took a token with a changed signature: 200"),
])
def test_each_wrong_answer_fails_naming_its_check(api, tmp_path, broken, message):
    result = run(api(broken), tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert message in result.stderr, result.stdout + result.stderr
    assert "all smoke checks passed" not in result.stdout


def test_switched_off_checks_say_so(api, tmp_path):
    # The checks that would fail are off: the run passes and says what it skipped.
    result = run(api("cache-get"), tmp_path, cache="false", token="false")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skip cache: turned off" in result.stdout and "skip token: turned off" in result.stdout
    assert "ok   cache-get" not in result.stdout and "ok   token" not in result.stdout
