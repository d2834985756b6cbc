"""Fixtures: a real redis-server and real october-api processes on free loopback ports.

- `redis_server` (session): one redis-server shared by the default apis.
- `api` (module): an october-api with the default test configuration, ready before use.
- `api_factory` (function): `api_factory(env={...}, args=[...], wait_ready=True, redis=None)`
  starts an october-api with extra/overriding environment; every instance is stopped after the
  test, also on failure (process groups are killed).
- `redis_factory` (function): private redis-server instances a test may stop and restart.
- `worker_stack` (module) with `app`, `broker`, `backend` (function): a private Redis, one
  october-worker (2 threads) and a Python Celery client app, for modules that send their tasks
  to one shared worker; a module may define its own `broker`/`backend` instead.

On a failed test the tails of the stdout/stderr of every process that was running during the
test are attached to the report.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import pytest

pytest.register_assert_rewrite("support")

from support.peers import (CeleryPeerWorker, celery_client, close_celery_client,  # noqa: E402
                           redis_client)
from support.processes import LIVE_PROCESSES, PersistentRedisServer, RedisServer  # noqa: E402
from support.servers import WorkerServer, start_api, start_worker  # noqa: E402


def factory(build, start=None, close=lambda thing: thing.close()):
    """The body of a `*_factory` fixture (`yield from factory(...)`): yields `make(...)`, which
    calls `build(n, ...)` (n: how many it made before, for distinct work dirs) and then
    `start(thing)` when given. Everything made is closed at teardown, also after a failed test,
    and also when its start failed: it is recorded before it starts."""
    made = []

    def make(*args, **kwargs):
        thing = build(len(made), *args, **kwargs)
        made.append(thing)
        return start(thing) if start else thing

    yield make
    for thing in made:
        close(thing)


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
    yield from factory(lambda n: RedisServer(tmp_path / f"redis-{n}"), start=RedisServer.start)


@pytest.fixture
def api_factory(tmp_path, redis_server):
    def build(n, env: dict | None = None, args=None, wait_ready: bool = True,
              redis: RedisServer | None = None):
        return start_api(tmp_path, redis or redis_server, env=env, args=args,
                         wait_ready=wait_ready)

    yield from factory(build)


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
    for proc in list(LIVE_PROCESSES):
        if proc.alive() or (proc.stopped_at or 0) >= began or proc.started_at >= began:
            reports.append(proc.report())
    if reports:
        rep.sections.append((f"process logs ({rep.when})", "\n".join(reports)))


# --- october-worker / Celery fixtures (worker and task tests) --------------------------------
@pytest.fixture
def worker_factory(tmp_path):
    """`worker_factory(redis, env={...}, args=[...], wait_ready=True)` -> WorkerServer."""
    def build(n, redis: RedisServer, env: dict | None = None, args=None,
              wait_ready: bool = True) -> WorkerServer:
        return start_worker(tmp_path, redis, env=env, args=args, wait_ready=wait_ready)

    yield from factory(build)


@pytest.fixture
def aof_redis_factory(tmp_path):
    """Private redis-server instances with an append-only file (survive stop + start)."""
    yield from factory(lambda n: PersistentRedisServer(tmp_path / f"redis-aof-{n}"),
                       start=PersistentRedisServer.start)


def stop_peer(peer: CeleryPeerWorker) -> None:
    # Celery's warm shutdown waits for the tasks running: longer than the default grace.
    peer.stop(grace=10)
    peer.close()


@pytest.fixture
def celery_peer_factory(tmp_path):
    """`celery_peer_factory(redis, queues=..., pool=..., concurrency=..., visibility_timeout=...)`
    -> a started real Python Celery worker (tests/integration/celery_peer)."""
    def build(n, redis: RedisServer, **kwargs) -> CeleryPeerWorker:
        return CeleryPeerWorker(tmp_path / f"celery-peer-{n}", redis.url(0), redis.url(1),
                                **kwargs)

    yield from factory(build, start=CeleryPeerWorker.start, close=stop_peer)


@pytest.fixture
def celery_app_factory():
    """`celery_app_factory(redis, **conf)` -> a Python Celery client app, closed afterwards."""
    yield from factory(lambda n, redis, **conf: celery_client(redis, **conf),
                       close=close_celery_client)


class WorkerStack(NamedTuple):
    redis: RedisServer
    worker: WorkerServer
    app: object  # celery.Celery


@pytest.fixture(scope="module")
def worker_stack(run_dir, request):
    """A private Redis, one october-worker (2 threads, defaults otherwise), a Celery client."""
    workdir = run_dir / f"worker-stack-{request.module.__name__}"
    redis = RedisServer(workdir / "redis").start()
    worker = start_worker(workdir / "worker", redis, env={"CONCURRENCY": "2"})
    app = celery_client(redis)
    yield WorkerStack(redis, worker, app)
    close_celery_client(app)
    worker.close()
    redis.close()


@pytest.fixture
def app(worker_stack):
    return worker_stack.app


@pytest.fixture
def broker(worker_stack):
    return redis_client(worker_stack.redis, 0)


@pytest.fixture
def backend(worker_stack):
    return redis_client(worker_stack.redis, 1)


# --- a module whose tool is absent (Chromium for test_ui.py) ---------------------------------
# It skips itself at import with a reason starting MISSING_TOOL; when nothing else ran, the run
# exits 77, which ctest reports as skipped (SKIP_RETURN_CODE) rather than as a pass.
MISSING_TOOL = "missing tool"
_missing_tools: list[str] = []


def pytest_collectreport(report):
    if report.skipped and MISSING_TOOL in str(report.longrepr):
        _missing_tools.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _missing_tools and session.testscollected == 0:
        session.exitstatus = 77
