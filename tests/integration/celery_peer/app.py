"""Celery app for the peer worker: tasks named exactly like october's, plain Python bodies.

Configured from the environment the test harness sets:
  OCTOBER_PEER_BROKER, OCTOBER_PEER_BACKEND     Redis URLs (broker db 0, backend db 1)
  OCTOBER_PEER_VISIBILITY_TIMEOUT               kombu's visibility_timeout in seconds (optional)
  OCTOBER_PEER_PREFETCH_MULTIPLIER              worker_prefetch_multiplier (default 1)
"""

from __future__ import annotations

import hashlib
import os
import time

from celery import Celery
from celery.signals import task_prerun
from celery.utils.log import get_task_logger

app = Celery("celery_peer",
             broker=os.environ.get("OCTOBER_PEER_BROKER", "redis://127.0.0.1:6379/0"),
             backend=os.environ.get("OCTOBER_PEER_BACKEND", "redis://127.0.0.1:6379/1"))

_transport_options = {}
if os.environ.get("OCTOBER_PEER_VISIBILITY_TIMEOUT"):
    _transport_options["visibility_timeout"] = float(os.environ["OCTOBER_PEER_VISIBILITY_TIMEOUT"])

app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=int(os.environ.get("OCTOBER_PEER_PREFETCH_MULTIPLIER") or 1),
    broker_transport_options=_transport_options,
    result_expires=3600,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_hijack_root_logger=True,
    broker_connection_retry=True,
)


_log = get_task_logger(__name__)


@task_prerun.connect
def _log_traceparent(task_id=None, task=None, **_):
    """Logs the traceparent the task's message brought, read the way OpenTelemetry's Celery
    instrumentation reads it (an attribute of task.request, i.e. a message header), so a test
    can tell the trace reached a Python worker."""
    traceparent = getattr(task.request, "traceparent", None)
    if traceparent is not None:
        _log.info("task %s traceparent=%s", task_id, traceparent)


@app.task(name="ping")
def ping():
    return "pong"


@app.task(name="add")
def add(x, y):
    return x + y


@app.task(name="prime")
def prime(n):
    if not isinstance(n, int) or not 1 <= n <= 1_000_000_000:
        raise ValueError(f"prime() argument 'n' must be between 1 and 1000000000, got {n!r}")
    found, candidate = 0, 1
    while found < n:
        candidate += 1
        if all(candidate % d for d in range(2, int(candidate ** 0.5) + 1)):
            found += 1
    return candidate


@app.task(name="fibonacci")
def fibonacci(n):
    if not isinstance(n, int) or not 0 <= n <= 92:
        raise ValueError(f"fibonacci() argument 'n' must be between 0 and 92, got {n!r}")
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@app.task(name="hash")
def hash_chain(iterations=1000, data_size_kb=1):
    digest = hashlib.sha256(b"x" * (data_size_kb * 1024)).digest()
    for _ in range(iterations - 1):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


@app.task(name="sleep")
def sleep(seconds):
    time.sleep(seconds)
    return seconds


@app.task(name="fail", bind=True)
def fail(self, message="task failed on purpose", max_retries=0, countdown=1):
    if self.request.retries < max_retries:
        raise self.retry(exc=ValueError(message), max_retries=max_retries,
                         countdown=countdown * 2 ** self.request.retries)
    raise ValueError(message)


@app.task(name="tsum")
def tsum(numbers):
    return sum(numbers)


@app.task(name="record_errback")
def record_errback(task_id):
    """An errback of one argument: Celery 5.2 sends it as a task called with the failed task's
    id (a task taking (request, exc, traceback) is instead called inline by the failing worker)."""
    return task_id
