"""october-worker under failure: SIGKILL mid-batch (recovered by a new october-worker and by a
real Python Celery worker through kombu's visibility timeout), a Redis restart under load, and
SIGTERM with tasks running, and a chain and a chord in flight at a SIGKILL. Every task must end
with exactly one stored result."""

from __future__ import annotations

import json
import signal
import time

import pytest

from support.peers import queue_lengths, redis_client, task_meta
from support.processes import wait_for
from support.servers import finished_runs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

VISIBILITY = 3  # seconds, for every worker in these tests


def result_keys(backend) -> set[str]:
    return {k.decode() for k in backend.scan_iter(match="celery-task-meta-*", count=1000)}


def assert_all_succeeded(backend, expected: dict[str, object]) -> None:
    """Exactly one result key per task sent, no other key, each SUCCESS with its value."""
    keys = result_keys(backend)
    want = {f"celery-task-meta-{tid}" for tid in expected}
    assert keys == want, (f"result keys differ: missing {sorted(want - keys)[:5]}, "
                          f"unexpected {sorted(keys - want)[:5]}")
    for tid, value in expected.items():
        meta = task_meta(backend, tid)
        assert meta["status"] == "SUCCESS" and meta["result"] == value and \
            meta["task_id"] == tid, meta


def count_done(backend, ids) -> int:
    keys = [f"celery-task-meta-{tid}" for tid in ids]
    return sum(1 for raw in backend.mget(keys)
               if raw is not None and json.loads(raw)["status"] == "SUCCESS")


def wait_all_done(backend, ids, timeout: float, what: str) -> None:
    wait_for(lambda: count_done(backend, ids) == len(ids), timeout=timeout, interval=0.1,
             what=lambda: f"{what} ({count_done(backend, ids)}/{len(ids)} done)")


def assert_broker_drained(broker) -> None:
    wait_for(lambda: broker.hlen("unacked") == 0 and broker.zcard("unacked_index") == 0,
             timeout=5, interval=0.1,
             what=lambda: f"unacked empty (hlen={broker.hlen('unacked')}, "
                          f"zcard={broker.zcard('unacked_index')})")
    assert sum(queue_lengths(broker).values()) == 0, queue_lengths(broker)


def send_batch(app, n: int, seconds: float) -> dict[str, float]:
    return {app.send_task("sleep", args=[seconds]).id: seconds for _ in range(n)}


def unfinished_unacked(broker, backend) -> int:
    """How many messages registered in `unacked` belong to tasks with no result yet (taken by
    a worker, not yet done)."""
    ids = [json.loads(raw)[0]["headers"]["id"] for raw in broker.hvals("unacked")]
    return len(ids) - count_done(backend, ids) if ids else 0


def kill_mid_batch(worker, backend, broker, ids) -> int:
    """SIGKILL the worker once some of the batch finished and more is running; returns how many
    messages it left registered in `unacked`."""
    # The next tasks taken, not only the first ones done: a Python worker (prefetch 1 per
    # process) fetches its next messages only after acking the first, which can take longer
    # than a fixed pause on a loaded machine.
    wait_for(lambda: count_done(backend, ids) >= 4 and unfinished_unacked(broker, backend) > 0,
             timeout=15, interval=0.05,
             what=lambda: (f"the first tasks of the batch done and the next ones taken "
                           f"({count_done(backend, ids)}/{len(ids)} done, "
                           f"{unfinished_unacked(broker, backend)} taken, not done)"))
    time.sleep(0.3)  # the next ones are running
    worker.kill_group()
    assert worker.proc.returncode == -signal.SIGKILL
    left = broker.hlen("unacked")
    assert count_done(backend, ids) < len(ids), "the batch finished before the kill"
    assert left > 0, "nothing was in flight when the worker was killed"
    assert broker.zcard("unacked_index") == left
    return left


def october_worker_killed_mid_batch(worker_factory, redis, app, broker,
                                    backend) -> tuple[dict[str, float], int]:
    """An october-worker (4 threads) SIGKILLed in the middle of a batch of 20 one-second tasks;
    returns the batch and how many messages it left in `unacked`."""
    worker = worker_factory(redis, env={"CONCURRENCY": "4",
                                        "VISIBILITY_TIMEOUT_SECONDS": VISIBILITY})
    batch = send_batch(app, 20, 1)
    return batch, kill_mid_batch(worker, backend, broker, list(batch))


def test_sigkill_mid_batch_recovered_by_new_october_worker(redis_factory, worker_factory,
                                                           celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    batch, left = october_worker_killed_mid_batch(worker_factory, redis, app, broker, backend)

    killed_at = time.monotonic()
    second = worker_factory(redis, env={"CONCURRENCY": "4", "PREFETCH_MULTIPLIER": "1",
                                        "VISIBILITY_TIMEOUT_SECONDS": VISIBILITY})
    wait_all_done(backend, list(batch), timeout=45, what="every task of the batch")
    # Restored only after the visibility timeout, not before.
    assert time.monotonic() - killed_at >= VISIBILITY - 0.5
    assert_all_succeeded(backend, batch)
    assert_broker_drained(broker)
    restored = second.metrics().value("celery_messages_restored_total")
    assert restored == left, f"{left} messages were unacked at the kill, {restored} restored"


def test_sigkill_mid_batch_recovered_by_python_celery_worker(redis_factory, worker_factory,
                                                             celery_peer_factory,
                                                             celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    batch, left = october_worker_killed_mid_batch(worker_factory, redis, app, broker, backend)
    # kombu restores at consumer start-up and then only every ~100 s (its 10 s timer, every
    # 10th call): let every entry age past the visibility timeout before the Python worker
    # starts. october-worker registers its fetches over about a second, so wait on the newest.
    registered = dict(broker.zrange("unacked_index", 0, -1, withscores=True))
    assert len(registered) == left
    newest = max(registered.values())
    until = newest + VISIBILITY + 0.5
    # Until then nothing may be restored: the queue stays empty, unacked keeps every entry.
    while True:
        queued = sum(queue_lengths(broker).values())
        index = dict(broker.zrange("unacked_index", 0, -1, withscores=True))
        assert queued == 0 and index == registered and broker.hlen("unacked") == left, \
            (f"{time.time() - newest:.2f}s after the newest unacked entry, with no worker "
             f"running: {queued} queued, unacked_index {len(index)} (changed: "
             f"{index != registered}), unacked {broker.hlen('unacked')}; {left} at the kill")
        if time.time() >= until:
            break
        time.sleep(min(0.1, max(0.0, until - time.time())))
    # prefork: Celery's default pool (its threads pool idles up to 10 s between prefetches).
    peer = celery_peer_factory(redis, pool="prefork", concurrency=4,
                               visibility_timeout=VISIBILITY)
    wait_all_done(backend, list(batch), timeout=45, what="every task of the batch")
    assert_all_succeeded(backend, batch)
    assert_broker_drained(broker)
    assert peer.alive()
    assert "Traceback" not in peer.log_text(), peer.report()


def test_sigkill_python_celery_worker_recovered_by_october_worker(
        redis_factory, worker_factory, celery_peer_factory, celery_app_factory):
    """The other direction of a mixed fleet: kombu registered the messages in `unacked`, the
    Python worker dies, october-worker restores them after the visibility timeout."""
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    peer = celery_peer_factory(redis, pool="prefork", concurrency=4,
                               visibility_timeout=VISIBILITY)
    batch = send_batch(app, 16, 1)
    left = kill_mid_batch(peer, backend, broker, list(batch))
    worker = worker_factory(redis, env={"CONCURRENCY": "4", "PREFETCH_MULTIPLIER": "1",
                                        "VISIBILITY_TIMEOUT_SECONDS": VISIBILITY})
    wait_all_done(backend, list(batch), timeout=45, what="every task of the batch")
    assert_all_succeeded(backend, batch)
    assert_broker_drained(broker)
    assert worker.metrics().value("celery_messages_restored_total") == left


def test_sigkill_with_chain_and_chord_in_flight(redis_factory, worker_factory,
                                                celery_app_factory):
    """A chain and a chord in flight when october-worker is SIGKILLed: after a new worker
    restores their messages, every task of both ran to a stored result exactly once, the
    chain's last link included, and the chord's body was called once."""
    from celery import chain, chord
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    first = worker_factory(redis, env={"CONCURRENCY": "4",
                                       "VISIBILITY_TIMEOUT_SECONDS": VISIBILITY})

    def sleep(*args):
        return app.signature("sleep", args=args)

    # Each link sleeps what the previous one returned: one second each.
    links = chain(sleep(1), sleep(), sleep(), sleep()).apply_async()
    body = chord([sleep(1) for _ in range(8)])(app.signature("tsum"))
    group_id = body.parent.id
    joined = f"celery-taskset-meta-{group_id}.j"
    wait_for(lambda: 3 <= backend.zcard(joined) < 8, timeout=15, interval=0.05,
             what=lambda: f"the chord part-way joined ({backend.zcard(joined)}/8)")
    first.kill_group()
    assert broker.hlen("unacked") > 0, "nothing was in flight when the worker was killed"
    assert task_meta(backend, links.id) is None and task_meta(backend, body.id) is None

    second = worker_factory(redis, env={"CONCURRENCY": "4",
                                        "VISIBILITY_TIMEOUT_SECONDS": VISIBILITY})
    assert links.get(timeout=45) == 1
    assert body.get(timeout=45) == 8
    chain_ids, node = [], links
    while node is not None:
        chain_ids.append(node.id)
        node = node.parent
    ids = chain_ids + [r.id for r in body.parent.results] + [body.id]
    runs = {tid: finished_runs([first, second], tid) for tid in ids}
    assert all(n == 1 for n in runs.values()), runs
    assert not any(backend.exists(f"celery-taskset-meta-{group_id}{s}") for s in (".j", ".t", ".s"))
    assert_broker_drained(broker)


def test_redis_restart_under_load(aof_redis_factory, worker_factory, celery_app_factory):
    redis = aof_redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    worker = worker_factory(redis, env={"CONCURRENCY": "2",
                                        "VISIBILITY_TIMEOUT_SECONDS": VISIBILITY})
    expected = send_batch(app, 30, 0.2)
    expected.update({app.send_task("add", args=[i, i]).id: 2 * i for i in range(30)})
    wait_for(lambda: count_done(backend, list(expected)) >= 3, timeout=10, interval=0.05,
             what="the load started")
    assert worker.ready_status() == 200

    redis.stop()
    wait_for(lambda: worker.ready_status() == 503, timeout=10, interval=0.1,
             what="worker /ready 503 with Redis down")
    assert worker.get("/healthz", timeout=3).status_code == 200, "liveness must not need Redis"
    assert_redis_down_reason(worker, redis.port)
    time.sleep(2)
    assert worker.alive(), "october-worker died while Redis was down\n" + worker.report()
    redis.start(port=redis.port)
    wait_for(lambda: worker.ready_status() == 200, timeout=20, interval=0.1,
             what="worker /ready 200 after Redis came back")

    expected.update({app.send_task("add", args=[i, 1000]).id: i + 1000 for i in range(10)})
    wait_all_done(backend, list(expected), timeout=60, what="every task, before and after")
    assert worker.alive()
    assert_all_succeeded(backend, expected)
    assert_broker_drained(broker)


def test_sigterm_finishes_running_requeues_rest(redis_factory, worker_factory,
                                                celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    grace = 2
    first = worker_factory(redis, env={"CONCURRENCY": "2", "SHUTDOWN_TIMEOUT_SECONDS": grace})
    short = app.send_task("sleep", args=[1])      # finishes within the grace period
    long = app.send_task("sleep", args=[4])       # cannot: must be requeued
    waiting = [app.send_task("add", args=[i, 1]) for i in range(4)]  # never started
    # All six taken (two running, four prefetched behind them), then a moment for the runs.
    wait_for(lambda: first.metrics().value("celery_tasks_in_flight") == 6
             and sum(queue_lengths(broker).values()) == 0, timeout=5, interval=0.05,
             what="all six messages taken by the worker")
    time.sleep(0.3)

    sent_term = time.monotonic()
    first.signal(signal.SIGTERM)
    rc = first.wait(timeout=grace + 5)
    took = time.monotonic() - sent_term
    assert rc == 0, f"exit code {rc} after SIGTERM\n{first.report()}"
    assert took < grace + 1.5, f"exited {took:.2f}s after SIGTERM, grace {grace}s"

    meta = task_meta(backend, short.id)
    assert meta is not None and meta["status"] == "SUCCESS" and meta["result"] == 1, \
        f"the task that could finish within the grace period has {meta}"
    assert task_meta(backend, long.id) is None, "the long task was not running to completion"
    for res in waiting:
        assert task_meta(backend, res.id) is None, "a task started after SIGTERM"
    # Requeued, not left in unacked for an hour.
    assert broker.hlen("unacked") == 0, "unfinished messages left unacked instead of requeued"
    queued = [json.loads(raw)["headers"]["id"] for name in queue_lengths(broker)
              for raw in broker.lrange(name, 0, -1)]
    assert sorted(queued) == sorted([long.id] + [r.id for r in waiting]), queued

    # The next worker (default 3600 s visibility timeout) completes them.
    worker_factory(redis, env={"CONCURRENCY": "2"})
    assert long.get(timeout=15) == 4
    assert [r.get(timeout=15) for r in waiting] == [1, 2, 3, 4]
    assert_all_succeeded(backend, {short.id: 1, long.id: 4,
                                   **{r.id: i + 1 for i, r in enumerate(waiting)}})
    assert_broker_drained(broker)


def test_sigterm_idle_worker_exits_zero_promptly(redis_factory, worker_factory):
    redis = redis_factory()
    worker = worker_factory(redis)
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=5) == 0
    assert time.monotonic() - started < 2.5


def test_sigterm_with_redis_down_exits_zero(redis_factory, worker_factory):
    redis = redis_factory()
    worker = worker_factory(redis)
    redis.stop()
    wait_for(lambda: worker.ready_status() == 503, timeout=10, interval=0.1,
             what="/ready 503 with Redis down")
    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=10) == 0
    assert time.monotonic() - started < 7


def assert_redis_down_reason(worker, port):
    """/ready names the outage and the Redis error, never an empty or stale reason."""
    r = worker.get("/ready", timeout=3)
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False and body["error"] == "not_ready", body
    assert body["detail"].startswith("redis unreachable: "), body
    cause = body["detail"].removeprefix("redis unreachable: ")
    assert f":{port}" in cause and ("refused" in cause.lower() or "closed" in cause.lower()
                                    or "reset" in cause.lower()), body


def test_worker_started_without_redis_becomes_ready(redis_factory, worker_factory,
                                                    celery_app_factory):
    redis = redis_factory()
    port = redis.port
    redis.stop()
    worker = worker_factory(redis, wait_ready=False)
    assert worker.get("/healthz").status_code == 200
    time.sleep(1.0)
    assert worker.ready_status() == 503
    assert_redis_down_reason(worker, port)
    assert worker.alive()
    redis.start(port=port)
    wait_for(lambda: worker.ready_status() == 200, timeout=20, interval=0.1,
             what="/ready 200 once Redis appears")
    app = celery_app_factory(redis)
    assert app.send_task("add", args=[20, 1]).get(timeout=15) == 21
