"""Shared helpers for the october-api black-box tests.

Process management (redis-server, october-api, prometheus), small HTTP helpers (requests
without proxies, and a raw-socket client for pipelining, slow clients and limits) and a parser
for the Prometheus text format. Everything listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import gc
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 10.0

# Every configuration variable the README names; stripped from the inherited environment so a
# developer's shell cannot change what a test starts.
CONFIG_VARS = (
    "HOST", "PORT", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "LOG_LEVEL",
    "SHUTDOWN_DRAIN_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "IO_THREADS", "COMPUTE_THREADS",
    "COMPUTE_QUEUE_SIZE", "MAX_CONNECTIONS", "MAX_HEADER_BYTES", "MAX_BODY_BYTES",
    "HEADER_TIMEOUT_SECONDS", "IDLE_TIMEOUT_SECONDS", "MEMORY_MAX_MB",
    "READINESS_INTERVAL_SECONDS", "FAIL_HEALTHZ",
)
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")

# Every process this test run started and has not reaped yet (for the failure report).
LIVE_PROCESSES: list["ManagedProcess"] = []


@atexit.register
def _kill_leftovers() -> None:
    """Last resort (interrupted run): no child outlives the test process."""
    for proc in list(LIVE_PROCESSES):
        proc.kill_group()


def built_binary(name: str, env_var: str) -> Path:
    """The binary `env_var` names (relative to the repository root unless absolute), else the
    release build's `name`."""
    env = os.environ.get(env_var)
    path = Path(env) if env else REPO_ROOT / "build" / "release" / "bin" / name
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def api_binary() -> Path:
    return built_binary("october-api", "OCTOBER_API_BIN")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS and k not in PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    if extra:
        env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        data = path.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(data[-lines:])


class ManagedProcess:
    """A child in its own process group, with stdout/stderr captured to files."""

    name = "process"

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.stdout_path = self.workdir / f"{self.name}.stdout.log"
        self.stderr_path = self.workdir / f"{self.name}.stderr.log"
        self.started_at = 0.0
        self.stopped_at: float | None = None

    def _spawn(self, argv: list[str], env: dict) -> None:
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.workdir)
        finally:
            out.close()
            err.close()
        self.started_at = time.monotonic()
        self.stopped_at = None
        if self not in LIVE_PROCESSES:
            LIVE_PROCESSES.append(self)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, wait up to `grace`, then SIGKILL the whole process group."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.wait(grace)
        # Kill leftovers in the group even when the leader exited.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            self.kill_group()
        self.stopped_at = time.monotonic()
        return self.proc.returncode

    def report(self, lines: int = 40) -> str:
        state = "running" if self.alive() else f"exited rc={self.proc.returncode if self.proc else None}"
        return (f"--- {self.name} pid={self.proc.pid if self.proc else None} ({state}) ---\n"
                f"[stdout tail: {self.stdout_path}]\n{tail(self.stdout_path, lines)}\n"
                f"[stderr tail: {self.stderr_path}]\n{tail(self.stderr_path, lines)}\n")

    def close(self) -> None:
        self.stop()
        if self in LIVE_PROCESSES:
            LIVE_PROCESSES.remove(self)


class RedisServer(ManagedProcess):
    name = "redis"
    persistence = ("--save", "", "--appendonly", "no")

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.port = 0
        self.datadir = Path(tempfile.mkdtemp(prefix="redis-data-", dir=self.workdir))

    def start(self, port: int | None = None, timeout: float = 10.0) -> "RedisServer":
        self.port = port or free_port()
        argv = ["/usr/bin/redis-server", "--port", str(self.port), "--bind", LOOPBACK,
                *self.persistence, "--dir", str(self.datadir),
                "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"]
        self._spawn(argv, clean_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("redis-server exited during start-up\n" + self.report())
            if self.ping():
                return self
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING in time\n" + self.report())

    def ping(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def url(self, db: int) -> str:
        return f"redis://{LOOPBACK}:{self.port}/{db}"


class ApiServer(ManagedProcess):
    name = "october-api"

    def __init__(self, workdir: Path, env: dict, args: list[str] | None = None,
                 binary: Path | None = None):
        super().__init__(workdir)
        self.env = dict(env)
        self.args = list(args or [])
        self.binary = binary or api_binary()
        self.port = int(self.env.get("PORT", 0))

    # --- life cycle -------------------------------------------------------------------------
    def start(self, wait_ready: bool = True, timeout: float = 20.0) -> "ApiServer":
        if not self.binary.exists():
            raise RuntimeError(f"october-api binary not found at {self.binary} "
                               "(set OCTOBER_API_BIN)")
        self._spawn([str(self.binary), *self.args], clean_env(self.env))
        self.wait_started(wait_ready=wait_ready, timeout=timeout)
        return self

    def wait_started(self, wait_ready: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        healthy = False
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("october-api exited during start-up\n" + self.report())
            if not healthy:
                status = self._probe("/healthz")
                healthy = status is not None
            if healthy:
                if not wait_ready:
                    return
                if self._probe("/ready") == 200:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"october-api not {'ready' if wait_ready else 'answering'} within "
                           f"{timeout}s\n" + self.report())

    def _probe(self, path: str) -> int | None:
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=2)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            return resp.status
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()

    # --- HTTP helpers -----------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def request(self, method: str, path: str, timeout: float = DEFAULT_TIMEOUT,
                **kwargs) -> requests.Response:
        with requests.Session() as s:
            s.trust_env = False
            return s.request(method, self.url(path), timeout=timeout, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def metrics(self) -> "Metrics":
        r = self.get("/metrics")
        assert r.status_code == 200, r.text
        return Metrics(r.text)

    def stdout_lines(self) -> list[str]:
        try:
            return self.stdout_path.read_text(errors="replace").splitlines()
        except OSError:
            return []


# Defaults for every api the tests start, chosen for a 2-core shared machine: short shutdown,
# fast readiness polling, explicit pool sizes the tests can rely on.
BASE_API_ENV = {
    "HOST": LOOPBACK,
    "LOG_LEVEL": "info",
    "IO_THREADS": "2",
    "COMPUTE_THREADS": "2",
    "COMPUTE_QUEUE_SIZE": "64",
    "READINESS_INTERVAL_SECONDS": "0.2",
    "SHUTDOWN_DRAIN_SECONDS": "0",
    "SHUTDOWN_TIMEOUT_SECONDS": "5",
}


def server_env(base: dict, redis: RedisServer, port: int | None = None, **overrides) -> dict:
    """`base` on `port` (a free one by default) with `redis` as broker (db 0) and result backend
    (db 1); an override of None removes the variable."""
    env = dict(base)
    env["PORT"] = str(port or free_port())
    env["CELERY_BROKER_URL"] = redis.url(0)
    env["CELERY_RESULT_BACKEND"] = redis.url(1)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def start_server(cls, base_env: dict, workdir, redis: RedisServer, env: dict | None = None,
                 args=None, wait_ready: bool = True, attempts: int = 3):
    """Start a `cls` (ApiServer, WorkerServer) with `env` over `base_env`; retry on a fresh port
    when it dies at start-up (the free port was taken meanwhile), unless `env` fixed the port."""
    last_error = None
    for attempt in range(attempts):
        full_env = server_env(base_env, redis, **(env or {}))
        server = cls(workdir / f"{cls.name}-{full_env['PORT']}-{attempt}", full_env, args=args)
        try:
            return server.start(wait_ready=wait_ready)
        except RuntimeError as exc:
            last_error = exc
            exited = server.proc is not None and server.proc.poll() is not None
            server.close()
            if not exited or (env is not None and "PORT" in env):
                break
    raise last_error


def start_api(workdir, redis: RedisServer, **options) -> ApiServer:
    """An october-api with the test defaults; `options` as for start_server."""
    return start_server(ApiServer, BASE_API_ENV, workdir, redis, **options)


class PrometheusServer(ManagedProcess):
    name = "prometheus"

    def __init__(self, workdir: Path, targets: list[str], interval: str = "1s"):
        super().__init__(workdir)
        self.port = 0
        self.config = self.workdir / "prometheus.yml"
        self.config.write_text(
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  scrape_timeout: {interval}\n"
            f"  evaluation_interval: {interval}\n"
            "scrape_configs:\n"
            "  - job_name: october-api\n"
            "    static_configs:\n"
            f"      - targets: [{', '.join(repr(t) for t in targets)}]\n")
        self.tsdb = Path(tempfile.mkdtemp(prefix="tsdb-", dir=self.workdir))

    def start(self, timeout: float = 30.0) -> "PrometheusServer":
        self.port = free_port()
        argv = ["/usr/bin/prometheus", f"--config.file={self.config}",
                f"--storage.tsdb.path={self.tsdb}",
                f"--web.listen-address={LOOPBACK}:{self.port}", "--log.level=warn"]
        self._spawn(argv, clean_env())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("prometheus exited during start-up\n" + self.report())
            try:
                r = self.api("/-/ready")
                if r.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("prometheus not ready in time\n" + self.report())

    def api(self, path: str, **params) -> requests.Response:
        with requests.Session() as s:
            s.trust_env = False
            return s.get(f"http://{LOOPBACK}:{self.port}{path}", params=params, timeout=5)


# --- raw HTTP over a socket ------------------------------------------------------------------
class RawResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"RawResponse({self.status} {self.reason}, {self.headers}, {self.body[:200]!r})"


class RawClient:
    """A tiny HTTP/1.1 client on a plain socket: lets a test control exactly what is sent."""

    def __init__(self, port: int, timeout: float = DEFAULT_TIMEOUT):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def try_send(self, data: bytes) -> bool:
        """Send what the peer accepts; False when it reset or closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_response(self, head_request: bool = False) -> RawResponse:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed before a full response head: {self.buf!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ValueError(f"bad status line {lines[0]!r}")
        status = int(m.group(1))
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = RawResponse(status, m.group(2), headers, b"")
        if head_request or status in (204, 304) or 100 <= status < 200:
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill():
                        raise ConnectionError("closed inside a chunked body")
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    if not self._fill():
                        raise ConnectionError("closed inside a chunk")
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            resp.body = body
            return resp
        length = resp.header("Content-Length")
        if length is not None:
            n = int(length)
            while len(self.buf) < n:
                if not self._fill():
                    raise ConnectionError("closed inside a body")
            resp.body, self.buf = self.buf[:n], self.buf[n:]
            return resp
        # No length: body runs until the connection closes.
        while self._fill():
            pass
        resp.body, self.buf = self.buf, b""
        return resp

    def wait_closed(self, timeout: float) -> tuple[bool, float, bytes]:
        """Read until EOF/reset. Returns (closed, seconds waited, bytes received meanwhile)."""
        start = time.monotonic()
        got = b""
        self.sock.settimeout(0.1)
        try:
            while time.monotonic() - start < timeout:
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    return True, time.monotonic() - start, got
                if not chunk:
                    return True, time.monotonic() - start, got
                got += chunk
            return False, time.monotonic() - start, got
        finally:
            self.sock.settimeout(DEFAULT_TIMEOUT)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def get_request(path: str, headers: dict | None = None, close: bool = False) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {LOOPBACK}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# --- Prometheus text format ------------------------------------------------------------------
_SAMPLE_RE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\S+)?$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*')


def _parse_value(text: str) -> float:
    return float({"+Inf": "inf", "-Inf": "-inf", "NaN": "nan"}.get(text, text))


class Metrics:
    def __init__(self, text: str):
        self.text = text
        self.samples: list[tuple[str, dict, float]] = []
        self.types: dict[str, str] = {}
        self.helps: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(None, 3)
                self.types[name] = kind.strip()
                continue
            if line.startswith("# HELP "):
                parts = line.split(None, 3)
                self.helps[parts[2]] = parts[3] if len(parts) > 3 else ""
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE_RE.match(line)
            if not m:
                raise ValueError(f"unparsable metrics line: {line!r}")
            labels = dict(_LABEL_RE.findall(m.group("labels") or ""))
            self.samples.append((m.group("name"), labels, _parse_value(m.group("value"))))

    def find(self, name: str, **labels) -> list[tuple[dict, float]]:
        return [(lab, val) for n, lab, val in self.samples
                if n == name and all(lab.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels) -> float | None:
        """The single sample matching exactly; None when absent."""
        found = self.find(name, **labels)
        if not found:
            return None
        assert len(found) == 1, f"{name}{labels} matches {len(found)} samples: {found}"
        return found[0][1]

    def names(self) -> set[str]:
        return {n for n, _, _ in self.samples}


def wait_for(predicate, timeout: float, interval: float = 0.05, what="condition"):
    """Poll predicate() until it returns a truthy value; return it or raise AssertionError.

    `what` describes the condition in the timeout message: a string, or a callable returning
    one, called only at the timeout (after the last poll), so a message that shows a count or
    a state shows its value at the timeout, not when wait_for was called."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = predicate()
        except (requests.RequestException, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {_describe(what)}; "
                                 f"last: {last!r}")
        time.sleep(interval)


def _describe(what) -> str:
    if not callable(what):
        return str(what)
    try:
        return str(what())
    except Exception as exc:  # noqa: BLE001 - the timeout must still be reported
        return f"<description failed: {exc!r}>"


def assert_json_content_type(resp) -> None:
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", \
        f"Content-Type {ctype!r} for {resp.request.method} {resp.url}"


def names_param(detail: str, param: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(param)}(?![A-Za-z0-9_])", detail) is not None


def assert_error(resp, status: int, error: str | None = None, param: str | None = None) -> dict:
    """An error answer: the status, JSON content type, body exactly {error, detail} strings."""
    assert resp.status_code == status, \
        f"{resp.request.method} {resp.url}: expected {status}, got {resp.status_code} {resp.text[:300]!r}"
    assert_json_content_type(resp)
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error", "detail"}, \
        f"error body must be exactly {{error, detail}}: {body!r}"
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if error is not None:
        assert body["error"] == error, body
    if param is not None:
        assert names_param(body["detail"], param), \
            f"detail should name the parameter {param!r}: {body['detail']!r}"
    return body


def make_tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --- october-worker, Python Celery peers and a persistent Redis (the worker/task tests) -------
# Worker-only configuration (and the Celery client/peer settings) stripped from the inherited
# environment as well, so a developer's shell cannot change what a worker test starts.
WORKER_CONFIG_VARS = CONFIG_VARS + (
    "CONCURRENCY", "QUEUES", "VISIBILITY_TIMEOUT_SECONDS", "PREFETCH_MULTIPLIER",
    "RESULT_EXPIRES_SECONDS", "TASK_TIME_LIMIT_SECONDS", "TASK_SOFT_TIME_LIMIT_SECONDS",
)
INTEGRATION_DIR = Path(__file__).resolve().parent
CELERY_PYTHON = "/usr/bin/python3"  # Debian's python3 with python3-celery, never a pyenv one


def worker_binary() -> Path:
    return built_binary("october-worker", "OCTOBER_WORKER_BIN")


def worker_clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in clean_env().items()
           if k not in WORKER_CONFIG_VARS and not k.startswith(("CELERY_", "OCTOBER_PEER_"))}
    if extra:
        env.update({k: str(v) for k, v in extra.items() if v is not None})
    return env


class WorkerServer(ApiServer):
    """An october-worker process; its HTTP listener serves /healthz, /ready and /metrics."""

    name = "october-worker"

    def __init__(self, workdir: Path, env: dict, args: list[str] | None = None,
                 binary: Path | None = None):
        super().__init__(workdir, env, args=args, binary=binary or worker_binary())

    def start(self, wait_ready: bool = True, timeout: float = 20.0) -> "WorkerServer":
        if not self.binary.exists():
            raise RuntimeError(f"october-worker binary not found at {self.binary} "
                               "(set OCTOBER_WORKER_BIN)")
        self._spawn([str(self.binary), *self.args], worker_clean_env(self.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("october-worker exited during start-up\n" + self.report())
            status = self._probe("/ready")
            if status is not None and (not wait_ready or status == 200):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"october-worker not {'ready' if wait_ready else 'answering'} "
                           f"within {timeout}s\n" + self.report())

    def ready_status(self) -> int | None:
        return self._probe("/ready")

    def log_records(self) -> list[dict]:
        """The JSON log lines written to stdout so far (other lines skipped)."""
        records = []
        for line in self.stdout_lines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                records.append(rec)
        return records


class PersistentRedisServer(RedisServer):
    """A redis-server with an fsync-always append-only file: a stop + start on the same port
    keeps every queued message, as a production Redis with persistence would."""

    name = "redis-aof"
    persistence = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")

    def start(self, port: int | None = None, timeout: float = 10.0) -> "PersistentRedisServer":
        # Back on its last port by default: its clients reconnect to where the data was.
        return super().start(port=port or self.port, timeout=timeout)

    def restart(self, down_seconds: float = 0.0) -> None:
        port = self.port
        self.stop()
        time.sleep(down_seconds)
        self.start(port=port)


class CeleryPeerWorker(ManagedProcess):
    """A real Python Celery worker (Debian's celery) running tests/integration/celery_peer."""

    name = "celery-worker"

    def __init__(self, workdir: Path, broker: str, backend: str, queues: str = "celery",
                 pool: str = "threads", concurrency: int = 2,
                 visibility_timeout: float | None = None, prefetch_multiplier: int = 1,
                 extra_env: dict | None = None):
        super().__init__(workdir)
        self.prefetch_multiplier = prefetch_multiplier
        self.broker, self.backend, self.queues = broker, backend, queues
        self.pool, self.concurrency = pool, concurrency
        self.visibility_timeout = visibility_timeout
        self.extra_env = dict(extra_env or {})

    def start(self, timeout: float = 60.0) -> "CeleryPeerWorker":
        env = worker_clean_env({
            "PYTHONPATH": str(INTEGRATION_DIR), "PYTHONDONTWRITEBYTECODE": "1",
            "OCTOBER_PEER_BROKER": self.broker, "OCTOBER_PEER_BACKEND": self.backend,
            "OCTOBER_PEER_VISIBILITY_TIMEOUT": self.visibility_timeout,
            "OCTOBER_PEER_PREFETCH_MULTIPLIER": self.prefetch_multiplier,
            **self.extra_env})
        env.pop("PYTHONHOME", None)
        argv = [CELERY_PYTHON, "-m", "celery", "-A", "celery_peer.app", "worker",
                f"--pool={self.pool}", f"--concurrency={self.concurrency}", "-Q", self.queues,
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel=INFO", "-n", f"peer{os.getpid()}-{id(self)}@localhost"]
        offset = self.stderr_path.stat().st_size if self.stderr_path.exists() else 0
        self._spawn(argv, env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("celery worker exited during start-up\n" + self.report())
            try:
                with open(self.stderr_path, "rb") as f:
                    f.seek(offset)
                    if re.search(rb"@localhost ready\.", f.read()):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("celery worker not ready in time\n" + self.report())

    def log_text(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""


# Defaults for every october-worker the tests start: a 2-core machine, no drain delay after
# SIGTERM, fast readiness polling, a short grace for running tasks.
BASE_WORKER_ENV = {
    "HOST": LOOPBACK,
    "LOG_LEVEL": "info",
    "IO_THREADS": "1",
    "CONCURRENCY": "2",
    "READINESS_INTERVAL_SECONDS": "0.2",
    "SHUTDOWN_DRAIN_SECONDS": "0",
    "SHUTDOWN_TIMEOUT_SECONDS": "5",
}


def worker_env(redis: RedisServer, port: int | None = None, **overrides) -> dict:
    return server_env(BASE_WORKER_ENV, redis, port, **overrides)


def start_worker(workdir, redis: RedisServer, **options) -> WorkerServer:
    """An october-worker with the test defaults; `options` as for start_server."""
    return start_server(WorkerServer, BASE_WORKER_ENV, workdir, redis, **options)


def redis_client(server: RedisServer, db: int):
    import redis  # python3-redis
    return redis.Redis(host=LOOPBACK, port=server.port, db=db, socket_timeout=10,
                       socket_connect_timeout=5)


def celery_client(server: RedisServer, **conf):
    """A Python Celery client app on `server` (broker db 0, result backend db 1)."""
    from celery import Celery  # python3-celery
    app = Celery("october-tests", broker=server.url(0), backend=server.url(1),
                 set_as_current=False)
    app.conf.update(broker_connection_retry=True, broker_connection_max_retries=3,
                    result_expires=3600,
                    # Bounded reconnects of the result subscriber (Redis restarts, teardown).
                    result_backend_transport_options={"retry_policy": {
                        "max_retries": 5, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.5}},
                    **conf)
    return app


def close_celery_client(app) -> None:
    """Close a client app so results garbage-collected later (AsyncResult.__del__ unsubscribes)
    never try to reach a Redis the test already stopped."""
    gc.collect()
    try:
        consumer = getattr(app.backend, "result_consumer", None)
        pubsub = getattr(consumer, "_pubsub", None)
        if pubsub is not None:
            consumer._pubsub = None
            pubsub.close()
    except Exception:  # noqa: BLE001 - best effort at teardown
        pass
    try:
        app.close()
    except Exception:  # noqa: BLE001
        pass


def task_meta(backend, task_id: str) -> dict | None:
    """The stored result of a task (`celery-task-meta-<id>`), None while there is none."""
    raw = backend.get(f"celery-task-meta-{task_id}")
    return json.loads(raw) if raw is not None else None


def queue_lengths(broker, queue: str = "celery") -> dict[str, int]:
    """LLEN of a queue and of its priority lists (kombu's `<queue>\\x06\\x16<p>` names)."""
    names = [queue] + [f"{queue}\x06\x16{p}" for p in (3, 6, 9)]
    return {n: broker.llen(n) for n in names}


# --- a binary that must exit on its own (--help, a configuration it refuses) -----------------
def run_to_exit(binary: Path, args=(), env: dict | None = None, timeout: float = 5,
                clean=clean_env) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `binary` on a free port, its Redis on a port nobody listens
    on, `env` on top. Still running after `timeout` fails the test: it started instead of
    refusing its configuration."""
    full = clean({"HOST": LOOPBACK, "PORT": str(free_port()),
                  "CELERY_BROKER_URL": f"redis://{LOOPBACK}:1/0",
                  "CELERY_RESULT_BACKEND": f"redis://{LOOPBACK}:1/1", **(env or {})})
    proc = subprocess.Popen([str(binary), *args], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{args} {env}: still running after {timeout}s (started instead of failing)"
                    f"\nstdout: {out[-2000:]!r}\nstderr: {err[-2000:]!r}")
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def run_api_binary(args=(), env: dict | None = None, timeout: float = 5) -> tuple[int, str, str]:
    return run_to_exit(api_binary(), args, env, timeout, clean=clean_env)


def run_worker_binary(args=(), env: dict | None = None,
                      timeout: float = 5) -> tuple[int, str, str]:
    return run_to_exit(worker_binary(), args, env, timeout, clean=worker_clean_env)


def assert_rejected(result: tuple[int, str, str], *names: str) -> str:
    """A refused configuration: exit code 2 and one stderr line, which names one of `names` (when
    given); returns that line."""
    rc, _, err = result
    assert rc == 2, f"exit code {rc}; stderr {err!r}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"stderr should be one line: {err!r}"
    if names:
        assert any(name in lines[0] for name in names), \
            f"stderr should name {' or '.join(names)}: {err!r}"
    return lines[0]


def promtool_check(text: str) -> tuple[int, str]:
    res = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text.encode(),
                         capture_output=True, timeout=30)
    return res.returncode, res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
