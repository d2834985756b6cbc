"""scripts/smoke.sh against the real local stack: redis-server, october-worker and october-api
from the build (OCTOBER_API_BIN / OCTOBER_WORKER_BIN, default build/release/bin), each on a free
127.0.0.1 port. It must pass against a healthy stack and fail, naming the check, against a dead
port, a stack whose Redis is stopped, an api started with FAIL_HEALTHZ=true and a stack without
a worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cicd_support import REPO, clean_env

SMOKE = REPO / "scripts" / "smoke.sh"
LOOPBACK = "127.0.0.1"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def binary(var: str, name: str) -> Path:
    path = Path(os.environ.get(var) or REPO / "build" / "release" / "bin" / name)
    if not path.is_absolute():
        path = REPO / path
    assert path.is_file(), f"{name} not built at {path} (set {var} or run make build)"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with NO_PROXY.open(url, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return 0


def wait_for(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Proc:
    def __init__(self, name, argv, env, workdir: Path):
        self.name = name
        self.log = workdir / f"{name}.log"
        self.handle = open(self.log, "wb")
        self.popen = subprocess.Popen(argv, env=env, stdout=self.handle, stderr=subprocess.STDOUT,
                                      cwd=workdir, start_new_session=True)

    def alive(self):
        return self.popen.poll() is None

    def stop(self):
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=10)
        self.handle.close()

    def tail(self):
        return self.log.read_text(errors="replace")[-2000:]


class Stack:
    """redis-server + october-worker + october-api on free loopback ports."""

    def __init__(self, workdir: Path, api_env=None, worker=True):
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, Proc] = {}
        self.redis_port, self.api_port, self.worker_port = free_port(), free_port(), free_port()
        base = clean_env({"HOST": LOOPBACK, "LOG_LEVEL": "warning", "SHUTDOWN_DRAIN_SECONDS": "0",
                          "CELERY_BROKER_URL": f"redis://{LOOPBACK}:{self.redis_port}/0",
                          "CELERY_RESULT_BACKEND": f"redis://{LOOPBACK}:{self.redis_port}/1"})
        for var in ("FAIL_HEALTHZ", "PORT", "CONCURRENCY", "QUEUES"):
            base.pop(var, None)
        self.procs["redis"] = Proc("redis", [
            "redis-server", "--bind", LOOPBACK, "--port", str(self.redis_port), "--save", "",
            "--appendonly", "no", "--dir", str(workdir)], base, workdir)
        wait_for(self._redis_up, "redis-server")
        if worker:
            self.procs["worker"] = Proc("worker", [str(binary("OCTOBER_WORKER_BIN", "october-worker"))],
                                        {**base, "PORT": str(self.worker_port), "CONCURRENCY": "2"},
                                        workdir)
            wait_for(lambda: http_status(f"http://{LOOPBACK}:{self.worker_port}/ready") == 200,
                     "october-worker /ready")
        env = {**base, "PORT": str(self.api_port), "IO_THREADS": "2", "COMPUTE_THREADS": "2",
               "READINESS_INTERVAL_SECONDS": "0.2", **(api_env or {})}
        self.procs["api"] = Proc("api", [str(binary("OCTOBER_API_BIN", "october-api"))], env, workdir)
        wait_for(lambda: http_status(f"{self.url}/ready") == 200, "october-api /ready")

    def _redis_up(self):
        try:
            with socket.create_connection((LOOPBACK, self.redis_port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    @property
    def target(self):
        return f"{LOOPBACK}:{self.api_port}"

    @property
    def url(self):
        return f"http://{self.target}"

    def logs(self):
        return "\n".join(f"--- {n}\n{p.tail()}" for n, p in self.procs.items())

    def close(self):
        for name in ("api", "worker", "redis"):
            if name in self.procs:
                self.procs[name].stop()


def smoke(*args, timeout=90):
    env = clean_env({"NO_PROXY": "*", "no_proxy": "*"})
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(var, None)
    proc = subprocess.run(["bash", str(SMOKE), *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


FAST = ["--timeout", "5", "--task-timeout", "15"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("stack"))
    yield s
    s.close()


@pytest.fixture
def stack_factory(tmp_path):
    made = []

    def make(**kwargs):
        s = Stack(tmp_path / f"stack-{len(made)}", **kwargs)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def assert_failed_at(rc, out, check, stack=None):
    assert rc == 1, f"expected exit 1, got {rc}\n{out}\n{stack.logs() if stack else ''}"
    assert f"FAIL {check}:" in out, out
    assert f"FAILED at check '{check}'" in out, out


def test_smoke_script_exists_and_passes_shellcheck():
    assert SMOKE.is_file() and os.access(SMOKE, os.X_OK), f"{SMOKE} missing or not executable"
    proc = subprocess.run(["shellcheck", str(SMOKE)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_passes_against_the_local_stack(stack):
    rc, out = smoke(*FAST, stack.target)
    assert rc == 0, f"{out}\n{stack.logs()}"
    for check in ("healthz", "ready", "metrics", "prime", "task"):
        assert f"PASS {check}:" in out, out
    assert "541" in out


def test_passes_with_a_url_too(stack):
    rc, out = smoke(*FAST, stack.url + "/")
    assert rc == 0, out


def test_fails_naming_healthz_against_a_dead_port():
    rc, out = smoke("--timeout", "2", f"{LOOPBACK}:{free_port()}")
    assert_failed_at(rc, out, "healthz")


def test_retries_make_more_passes_before_failing():
    start = time.monotonic()
    rc, out = smoke("--retries", "2", "--delay", "0.2", "--timeout", "2", f"{LOOPBACK}:{free_port()}")
    assert_failed_at(rc, out, "healthz")
    assert "pass 3 of 3" in out and "pass 4" not in out
    assert time.monotonic() - start < 30


def test_fails_naming_ready_when_redis_is_stopped(stack_factory):
    s = stack_factory()
    s.procs["redis"].stop()
    wait_for(lambda: http_status(f"{s.url}/ready") == 503, "october-api /ready to turn 503")
    rc, out = smoke(*FAST, s.target)
    assert_failed_at(rc, out, "ready", s)
    assert "PASS healthz:" in out, "liveness stays up without Redis"


def test_fails_naming_healthz_when_the_api_fails_healthz(stack_factory):
    s = stack_factory(api_env={"FAIL_HEALTHZ": "true"})
    assert http_status(f"{s.url}/healthz") == 500
    rc, out = smoke(*FAST, s.target)
    assert_failed_at(rc, out, "healthz", s)


def test_fails_naming_task_without_a_worker(stack_factory):
    s = stack_factory(worker=False)
    rc, out = smoke("--timeout", "5", "--task-timeout", "3", s.target)
    assert_failed_at(rc, out, "task", s)
    for check in ("healthz", "ready", "metrics", "prime"):
        assert f"PASS {check}:" in out


def test_bad_usage_exits_2():
    rc, out = smoke()
    assert rc == 2 and "missing HOST_OR_URL" in out
    rc, out = smoke("--retries", "x", "127.0.0.1:1")
    assert rc == 2
