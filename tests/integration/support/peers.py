"""The Python Celery side of the worker and task tests.

A real Python Celery worker (Debian's celery) running tests/integration/celery_peer, a Python
Celery client app and its clean close, and raw Redis reads of what they exchange: task results
(celery-task-meta-<id>) and queue lengths.
"""

from __future__ import annotations

import gc
import json
import os
import re
import time
from pathlib import Path

from .processes import LOOPBACK, ManagedProcess, RedisServer, worker_clean_env

INTEGRATION_DIR = Path(__file__).resolve().parents[1]
CELERY_PYTHON = "/usr/bin/python3"  # Debian's python3 with python3-celery, never a pyenv one


class CeleryPeerWorker(ManagedProcess):
    """A real Python Celery worker (Debian's celery) running tests/integration/celery_peer."""

    name = "celery-worker"

    def __init__(self, workdir: Path, broker: str, backend: str, queues: str = "celery",
                 pool: str = "threads", concurrency: int = 2,
                 visibility_timeout: float | None = None, prefetch_multiplier: int = 1,
                 extra_env: dict | None = None, mingle: bool = False):
        super().__init__(workdir)
        self.mingle = mingle  # Celery's start-up sync with the other workers (its default: on)
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
                "--without-gossip", "--without-heartbeat",
                "--loglevel=INFO", "-n", f"peer{os.getpid()}-{id(self)}@localhost"]
        if not self.mingle:
            argv.append("--without-mingle")
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
