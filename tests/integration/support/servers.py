"""The october binaries under test: october-api (ApiServer) and october-worker (WorkerServer).

Starting them with the test defaults on a free port (retried when the port was taken meanwhile),
plain HTTP requests to them through requests (no proxies), and running a binary that must exit on
its own (--help, a configuration it refuses) with the check of its refusal.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from .processes import (DEFAULT_TIMEOUT, LOOPBACK, ManagedProcess, RedisServer, built_binary,
                        clean_env, free_port, worker_clean_env)
from .prometheus import Metrics

def api_binary() -> Path:
    return built_binary("october-api", "OCTOBER_API_BIN")


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
    # Celery's mingle waits a second for other workers at every start; the suites start many
    # workers, so only the tests of mingle turn it on (it is on by default, as in Celery).
    "WORKER_MINGLE": "false",
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


def worker_binary() -> Path:
    return built_binary("october-worker", "OCTOBER_WORKER_BIN")


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


def finished_runs(workers, task_id: str) -> int:
    """How many times any of `workers` logged that it stored `task_id`'s result and acked it
    (october-worker's "task finished" line comes after the store-and-ack script)."""
    runs = 0
    for worker in workers:
        for line in worker.stdout_lines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            runs += entry.get("msg") == "task finished" and entry.get("id") == task_id
    return runs


def worker_env(redis: RedisServer, port: int | None = None, **overrides) -> dict:
    return server_env(BASE_WORKER_ENV, redis, port, **overrides)


def start_worker(workdir, redis: RedisServer, **options) -> WorkerServer:
    """An october-worker with the test defaults; `options` as for start_server."""
    return start_server(WorkerServer, BASE_WORKER_ENV, workdir, redis, **options)


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
