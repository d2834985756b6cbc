"""Fixtures: a real redis-server and real october-api processes on free loopback ports.

- `redis_server` (session): one redis-server shared by the default apis.
- `api` (module): an october-api with the default test configuration, ready before use.
- `api_factory` (function): `api_factory(env={...}, args=[...], wait_ready=True, redis=None)`
  starts an october-api with extra/overriding environment; every instance is stopped after the
  test, also on failure (process groups are killed).
- `redis_factory` (function): private redis-server instances a test may stop and restart.

On a failed test the tails of the stdout/stderr of every process that was running during the
test are attached to the report.
"""

from __future__ import annotations

import time

import pytest

pytest.register_assert_rewrite("support")

import support  # noqa: E402
from support import ApiServer, RedisServer, free_port  # noqa: E402

# Defaults for every api the tests start, chosen for a 2-core shared machine: short shutdown,
# fast readiness polling, explicit pool sizes the tests can rely on.
BASE_API_ENV = {
    "HOST": support.LOOPBACK,
    "LOG_LEVEL": "info",
    "IO_THREADS": "2",
    "COMPUTE_THREADS": "2",
    "COMPUTE_QUEUE_SIZE": "64",
    "READINESS_INTERVAL_SECONDS": "0.2",
    "SHUTDOWN_DRAIN_SECONDS": "0",
    "SHUTDOWN_TIMEOUT_SECONDS": "5",
}


def api_env(redis: RedisServer, port: int | None = None, **overrides) -> dict:
    env = dict(BASE_API_ENV)
    env["PORT"] = str(port or free_port())
    env["CELERY_BROKER_URL"] = redis.url(0)
    env["CELERY_RESULT_BACKEND"] = redis.url(1)
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def start_api(workdir, redis: RedisServer, env: dict | None = None, args=None,
              wait_ready: bool = True, attempts: int = 3) -> ApiServer:
    """Start an api; retry on a fresh port when it dies at start-up (port taken meanwhile)."""
    last_error = None
    for attempt in range(attempts):
        full_env = api_env(redis, **(env or {}))
        server = ApiServer(workdir / f"api-{full_env['PORT']}-{attempt}", full_env, args=args)
        try:
            return server.start(wait_ready=wait_ready)
        except RuntimeError as exc:
            last_error = exc
            exited = server.proc is not None and server.proc.poll() is not None
            server.close()
            explicit_port = env is not None and "PORT" in env
            if not exited or explicit_port:
                break
    raise last_error


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("october-it")


@pytest.fixture(scope="session")
def redis_server(run_dir):
    server = RedisServer(run_dir / "redis-session")
    server.start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def api(run_dir, redis_server, request):
    workdir = run_dir / f"api-module-{request.module.__name__}"
    server = start_api(workdir, redis_server)
    yield server
    server.close()


@pytest.fixture
def redis_factory(tmp_path):
    started: list[RedisServer] = []

    def make() -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(started)}")
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.close()


@pytest.fixture
def api_factory(tmp_path, redis_server):
    started: list[ApiServer] = []

    def make(env: dict | None = None, args=None, wait_ready: bool = True,
             redis: RedisServer | None = None) -> ApiServer:
        server = start_api(tmp_path, redis or redis_server, env=env, args=args,
                           wait_ready=wait_ready)
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


# --- failure reporting -----------------------------------------------------------------------
def pytest_runtest_setup(item):
    item._october_started = time.monotonic()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    began = getattr(item, "_october_started", 0.0)
    reports = []
    for proc in list(support.LIVE_PROCESSES):
        if proc.alive() or (proc.stopped_at or 0) >= began or proc.started_at >= began:
            reports.append(proc.report())
    if reports:
        rep.sections.append((f"process logs ({rep.when})", "\n".join(reports)))


# --- october-worker / Celery fixtures (worker and task tests) --------------------------------
from support import (CeleryPeerWorker, PersistentRedisServer, WorkerServer,  # noqa: E402
                     celery_client, close_celery_client, start_worker)


@pytest.fixture
def worker_factory(tmp_path):
    """`worker_factory(redis, env={...}, args=[...], wait_ready=True)` -> WorkerServer."""
    started: list[WorkerServer] = []

    def make(redis: RedisServer, env: dict | None = None, args=None,
             wait_ready: bool = True) -> WorkerServer:
        server = start_worker(tmp_path, redis, env=env, args=args, wait_ready=wait_ready)
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


@pytest.fixture
def aof_redis_factory(tmp_path):
    """Private redis-server instances with an append-only file (survive stop + start)."""
    started: list[PersistentRedisServer] = []

    def make() -> PersistentRedisServer:
        server = PersistentRedisServer(tmp_path / f"redis-aof-{len(started)}")
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.close()


@pytest.fixture
def celery_peer_factory(tmp_path):
    """`celery_peer_factory(redis, queues=..., pool=..., concurrency=..., visibility_timeout=...)`
    -> a started real Python Celery worker (tests/integration/celery_peer)."""
    started: list[CeleryPeerWorker] = []

    def make(redis: RedisServer, **kwargs) -> CeleryPeerWorker:
        peer = CeleryPeerWorker(tmp_path / f"celery-peer-{len(started)}", redis.url(0),
                                redis.url(1), **kwargs)
        started.append(peer)
        return peer.start()

    yield make
    for peer in started:
        peer.stop(grace=10)
        peer.close()


@pytest.fixture
def celery_app_factory():
    """`celery_app_factory(redis, **conf)` -> a Python Celery client app, closed afterwards."""
    apps = []

    def make(redis: RedisServer, **conf):
        app = celery_client(redis, **conf)
        apps.append(app)
        return app

    yield make
    for app in apps:
        close_celery_client(app)
