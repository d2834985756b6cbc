"""Child processes of the integration tests, and waiting on them.

ManagedProcess (a child in its own process group, its output captured to files, killed at exit
if a run is interrupted), redis-server (RedisServer, and PersistentRedisServer with an
append-only file), free loopback ports, the scrubbed environment every child starts with, and
wait_for. Everything listens and connects on 127.0.0.1 only.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_TIMEOUT = 10.0

# Every configuration variable the README names; stripped from the inherited environment so a
# developer's shell cannot change what a test starts.
CONFIG_VARS = (
    "HOST", "PORT", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "LOG_LEVEL",
    "SHUTDOWN_DRAIN_SECONDS", "SHUTDOWN_TIMEOUT_SECONDS", "IO_THREADS", "COMPUTE_THREADS",
    "COMPUTE_QUEUE_SIZE", "COMPUTE_NICE", "BROKER_CALL_THREADS", "BROKER_CALL_QUEUE_SIZE",
    "MAX_CONNECTIONS", "MAX_HEADER_BYTES", "MAX_BODY_BYTES",
    "HEADER_TIMEOUT_SECONDS", "IDLE_TIMEOUT_SECONDS", "MEMORY_MAX_MB",
    "READINESS_INTERVAL_SECONDS", "FAIL_HEALTHZ",
    "UI_COLOR", "UI_MESSAGE", "CONFIG_DIR", "BACKEND_URLS", "BACKEND_TIMEOUT",
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


# Worker-only configuration (and the Celery client/peer settings) stripped from the inherited
# environment as well, so a developer's shell cannot change what a worker test starts.
WORKER_CONFIG_VARS = CONFIG_VARS + (
    "CONCURRENCY", "QUEUES", "VISIBILITY_TIMEOUT_SECONDS", "PREFETCH_MULTIPLIER",
    "RESULT_EXPIRES_SECONDS", "TASK_TIME_LIMIT_SECONDS", "TASK_SOFT_TIME_LIMIT_SECONDS",
    "WORKER_HOSTNAME", "WORKER_SEND_EVENTS", "WORKER_MINGLE",
)


def worker_clean_env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in clean_env().items()
           if k not in WORKER_CONFIG_VARS and not k.startswith(("CELERY_", "OCTOBER_PEER_"))}
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


def make_tempdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
