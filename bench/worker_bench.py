"""Worker throughput and latency: october-worker against the real Celery worker, same Redis,
same machine, one run.

Throughput: with the worker running and idle, N `add` messages (Celery protocol 2 envelopes) are
pushed in one pipeline; the clock stops when all N results are in the result backend.
Latency: sequential send_task(...).get() round trips from a Python Celery client.

Usage: worker_bench.py OCTOBER_WORKER_BIN [--tasks N] [--latency-samples M]
"""
import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import redis

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def envelope(task_id, x, y):
    body = json.dumps([[x, y], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return json.dumps({
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {"lang": "py", "task": "add", "id": task_id, "shadow": None, "eta": None,
                    "expires": None, "group": None, "group_index": None, "retries": 0,
                    "timelimit": [None, None], "root_id": task_id, "parent_id": None,
                    "argsrepr": f"({x}, {y})", "kwargsrepr": "{}", "origin": "bench",
                    "ignore_result": False},
        "properties": {"correlation_id": task_id, "reply_to": str(uuid.uuid4()), "delivery_mode": 2,
                       "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0,
                       "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())},
    })


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise SystemExit(f"worker_bench: timed out waiting for {what}")


def throughput(broker, backend, n):
    broker.flushdb()
    backend.flushdb()
    ids = [str(uuid.uuid4()) for _ in range(n)]
    messages = [envelope(task_id, i, i) for i, task_id in enumerate(ids)]
    start = time.monotonic()
    pipe = broker.pipeline(transaction=False)
    for message in messages:
        pipe.lpush("celery", message)
    pipe.execute()
    wait_until(lambda: backend.dbsize() >= n, 600, f"{n} results")
    elapsed = time.monotonic() - start
    sample = backend.get(f"celery-task-meta-{ids[-1]}")
    assert json.loads(sample)["result"] == 2 * (n - 1), sample
    return n / elapsed


def latency(broker_url, backend_url, samples):
    from celery import Celery
    client = Celery(broker=broker_url, backend=backend_url)
    times = []
    client.send_task("add", args=(1, 1)).get(timeout=30)  # warm connections
    for i in range(samples):
        t = time.monotonic()
        assert client.send_task("add", args=(i, 1)).get(timeout=30) == i + 1
        times.append(time.monotonic() - t)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("worker_bin")
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--latency-samples", type=int, default=200)
    args = parser.parse_args()
    args.worker_bin = os.path.abspath(args.worker_bin)

    workdir = tempfile.mkdtemp(prefix="october-worker-bench-")
    redis_port = free_port()
    redis_proc = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "",
         "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL, start_new_session=True)
    broker_url = f"redis://127.0.0.1:{redis_port}/0"
    backend_url = f"redis://127.0.0.1:{redis_port}/1"
    broker = redis.Redis(port=redis_port, db=0)
    backend = redis.Redis(port=redis_port, db=1)
    wait_until(lambda: _ping(broker), 10, "redis")
    cores = os.cpu_count() or 1
    env = dict(os.environ, CELERY_BROKER_URL=broker_url, CELERY_RESULT_BACKEND=backend_url)
    candidates = [
        ("october-worker", [args.worker_bin],
         dict(env, HOST="127.0.0.1", PORT=str(free_port()), LOG_LEVEL="warning",
              CONCURRENCY=str(cores))),
    ]
    for pool, concurrency in (("prefork", cores), ("threads", 4 * cores), ("solo", 1)):
        candidates.append((
            f"celery --pool={pool} -c {concurrency}",
            [PYTHON, "-m", "celery", "-A", "celery_app", "worker", f"--pool={pool}",
             f"--concurrency={concurrency}", "-Q", "celery", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "--loglevel=WARNING"],
            dict(env, PYTHONPATH=HERE)))
    results = []
    try:
        for name, command, cenv in candidates:
            proc = subprocess.Popen(command, env=cenv, cwd=HERE, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                broker.flushdb()
                backend.flushdb()
                # Ready when it has run one task.
                probe = str(uuid.uuid4())
                broker.lpush("celery", envelope(probe, 0, 0))
                wait_until(lambda: backend.exists(f"celery-task-meta-{probe}"), 60, f"{name} start")
                rate = throughput(broker, backend, args.tasks)
                p50, p99 = latency(broker_url, backend_url, args.latency_samples)
                results.append((name, rate, p50, p99))
                print(f"  {name:32s} {rate:10.0f} tasks/s   round trip p50 {p50*1000:7.2f} ms"
                      f"  p99 {p99*1000:7.2f} ms", flush=True)
            finally:
                stop(proc)
    finally:
        stop(redis_proc)
        shutil.rmtree(workdir, ignore_errors=True)
    october = results[0]
    best = max(results[1:], key=lambda r: r[1])
    ratio = october[1] / best[1]
    print(f"worker throughput: october {october[1]:.0f} tasks/s vs best Celery ({best[0]}) "
          f"{best[1]:.0f} tasks/s: {ratio:.1f}x (target >= 10x): {'PASS' if ratio >= 10 else 'FAIL'}")
    print(f"worker round trip p50: october {october[2]*1000:.2f} ms vs Celery {best[2]*1000:.2f} ms")
    return 0 if ratio >= 10 or os.environ.get("BENCH_STRICT") != "1" else 1


def _ping(client):
    try:
        return client.ping()
    except redis.exceptions.ConnectionError:
        return False


if __name__ == "__main__":
    sys.exit(main())
