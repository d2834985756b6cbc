"""The reference: a plain Python Celery app with the same `add` and `tsum` tasks, run by the real
Celery worker in the worker benchmark. Broker and backend come from the environment."""
import os

from celery import Celery

app = Celery(
    "october_bench",
    broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/1"),
)
app.conf.update(task_acks_late=True, worker_hijack_root_logger=False, result_expires=3600)


@app.task(name="add")
def add(x, y):
    return x + y


@app.task(name="tsum")
def tsum(numbers):
    return sum(numbers)
