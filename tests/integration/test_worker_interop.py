"""october-worker speaks Celery: a real Python Celery client (Debian's celery 5.2) sends tasks
with `send_task` and with a stub task's `.delay`, and `AsyncResult.get()` returns the results
october-worker stored; failures re-raise the right Python exception types."""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import datetime

import pytest
from celery.exceptions import NotRegistered
from celery.result import ResultSet

from support.peers import queue_lengths, redis_client, task_meta
from support.processes import wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESULT_TIMEOUT = 15


def sha256_chain(iterations: int, data_size_kb: int) -> str:
    digest = hashlib.sha256(b"x" * (data_size_kb * 1024)).digest()
    for _ in range(iterations - 1):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


SUCCESS_CASES = [
    ("ping", [], {}, "pong"),
    ("add", [1, 2], {}, 3),
    ("add", [], {"x": 40, "y": 2}, 42),
    ("add", [1.5, 2.25], {}, 3.75),
    ("add", [2 ** 40, -7], {}, 2 ** 40 - 7),
    ("prime", [1], {}, 2),
    ("prime", [10], {}, 29),
    ("prime", [1000], {}, 7919),
    ("fibonacci", [0], {}, 0),
    ("fibonacci", [10], {}, 55),
    ("fibonacci", [92], {}, fib(92)),  # 7540113804746346429 > 2**53: must stay exact
    ("hash", [], {}, sha256_chain(1000, 1)),
    ("hash", [3, 2], {}, sha256_chain(3, 2)),
    ("hash", [], {"iterations": 1, "data_size_kb": 1}, sha256_chain(1, 1)),
    ("sleep", [0.3], {}, 0.3),
]


@pytest.mark.parametrize("name,args,kwargs,expected", SUCCESS_CASES,
                         ids=[f"{c[0]}{c[1]}{c[2]}" for c in SUCCESS_CASES])
def test_send_task_returns_result(app, name, args, kwargs, expected):
    started = time.monotonic()
    res = app.send_task(name, args=args, kwargs=kwargs)
    value = res.get(timeout=RESULT_TIMEOUT)
    assert value == expected and type(value) is type(expected), \
        f"{name}{args}{kwargs}: got {value!r}, expected {expected!r}"
    assert res.state == "SUCCESS"
    if name == "sleep":
        assert time.monotonic() - started >= args[0], "sleep() returned before its time"


def test_every_task_via_stub_delay(app):
    """`@app.task(name=...)` stubs whose bodies must never run here: `.delay`/`.apply_async`
    publish, october-worker runs them."""

    def stub(name):
        def body(*args, **kwargs):
            raise AssertionError(f"{name} ran in the client instead of on october-worker")
        body.__name__ = name
        return app.task(name=name)(body)

    add, ping, prime, fibonacci = stub("add"), stub("ping"), stub("prime"), stub("fibonacci")
    hash_, sleep, fail = stub("hash"), stub("sleep"), stub("fail")
    pending = [
        (add.delay(2, 3), 5),
        (add.apply_async((4, 5)), 9),
        (add.apply_async(kwargs={"x": 1, "y": 1}), 2),
        (ping.delay(), "pong"),
        (prime.delay(100), 541),
        (fibonacci.delay(50), fib(50)),
        (hash_.delay(iterations=10, data_size_kb=3), sha256_chain(10, 3)),
        (sleep.delay(0.1), 0.1),
    ]
    for res, expected in pending:
        assert res.get(timeout=RESULT_TIMEOUT) == expected
    with pytest.raises(ValueError) as info:
        fail.delay("stub failure").get(timeout=RESULT_TIMEOUT)
    assert str(info.value) == "stub failure"


FAILURE_CASES = [
    ("fail", [], {}, ValueError, "task failed on purpose"),
    ("fail", ["bad value"], {}, ValueError, "bad value"),
    ("fail", [], {"message": "kw message"}, ValueError, "kw message"),
    ("add", [1], {}, TypeError, "add() missing 1 required positional argument: 'y'"),
    ("add", [1, 2, 3], {}, TypeError, None),
    ("add", [1, 2], {"z": 3}, TypeError, None),
    ("add", ["a", 1], {}, TypeError, None),
    ("ping", [1], {}, TypeError, None),
    ("prime", [0], {}, ValueError, None),
    ("prime", [1_000_000_001], {}, ValueError, None),
    ("fibonacci", [93], {}, ValueError, None),
    ("fibonacci", [-1], {}, ValueError, None),
    ("hash", [0, 1], {}, ValueError, None),
]


@pytest.mark.parametrize("name,args,kwargs,exc_type,message", FAILURE_CASES,
                         ids=[f"{c[0]}{c[1]}{c[2]}" for c in FAILURE_CASES])
def test_failure_reraises_python_exception(app, backend, name, args, kwargs, exc_type, message):
    res = app.send_task(name, args=args, kwargs=kwargs)
    with pytest.raises(Exception) as info:
        res.get(timeout=RESULT_TIMEOUT)
    assert type(info.value) is exc_type, f"{name}{args}{kwargs}: raised {info.value!r}"
    if message is not None:
        assert str(info.value) == message
    else:
        assert str(info.value), "the exception must carry a message"
    assert res.state == "FAILURE"
    meta = task_meta(backend, res.id)
    assert meta["result"]["exc_type"] == exc_type.__name__
    assert meta["result"]["exc_module"] == "builtins"
    assert isinstance(meta["result"]["exc_message"], list)


def test_add_type_error_messages_are_pythonic(app):
    cases = [
        (("add", [1, 2, 3], {}), r"add\(\) takes 2 positional arguments but 3 were given"),
        (("add", [1, 2], {"z": 3}), r"add\(\) got an unexpected keyword argument 'z'"),
        (("add", [], {}), r"add\(\) missing 2 required positional arguments: 'x' and 'y'"),
    ]
    for (name, args, kwargs), pattern in cases:
        with pytest.raises(TypeError) as info:
            app.send_task(name, args=args, kwargs=kwargs).get(timeout=RESULT_TIMEOUT)
        assert re.fullmatch(pattern, str(info.value)), f"{name}{args}{kwargs}: {info.value!s}"


def test_unknown_task_raises_not_registered(app, backend):
    res = app.send_task("no.such.task", args=[1])
    with pytest.raises(NotRegistered) as info:
        res.get(timeout=RESULT_TIMEOUT)
    assert "no.such.task" in str(info.value)
    meta = task_meta(backend, res.id)
    assert meta["status"] == "FAILURE"
    assert meta["result"] == {"exc_type": "NotRegistered", "exc_message": ["no.such.task"],
                              "exc_module": "celery.exceptions"}
    # The worker keeps going.
    assert app.send_task("add", args=[20, 22]).get(timeout=RESULT_TIMEOUT) == 42


def test_result_meta_matches_celery_format(app, backend, broker):
    res = app.send_task("add", args=[3, 4])
    assert res.get(timeout=RESULT_TIMEOUT) == 7
    meta = task_meta(backend, res.id)
    assert set(meta) >= {"status", "result", "traceback", "children", "date_done", "task_id"}
    assert meta["status"] == "SUCCESS" and meta["result"] == 7
    assert meta["traceback"] is None and meta["children"] == [] and meta["task_id"] == res.id
    # date_done: naive ISO-8601 UTC with microseconds, close to now.
    done = datetime.strptime(meta["date_done"], "%Y-%m-%dT%H:%M:%S.%f")
    assert abs((datetime.utcnow() - done).total_seconds()) < 30, meta["date_done"]
    ttl = backend.ttl(f"celery-task-meta-{res.id}")
    assert 86000 < ttl <= 86400, f"default RESULT_EXPIRES_SECONDS is 86400; key TTL {ttl}"

    res = app.send_task("fail", args=["why"])
    with pytest.raises(ValueError):
        res.get(timeout=RESULT_TIMEOUT)
    meta = task_meta(backend, res.id)
    assert meta["status"] == "FAILURE" and meta["task_id"] == res.id
    assert meta["result"] == {"exc_type": "ValueError", "exc_message": ["why"],
                              "exc_module": "builtins"}
    assert isinstance(meta["traceback"], str) and meta["traceback"], meta
    # Late ack: nothing left registered once results are stored.
    wait_for(lambda: broker.hlen("unacked") == 0 and broker.zcard("unacked_index") == 0,
             timeout=5, what="unacked hash and index empty")


def test_burst_of_1000_adds(app, broker, backend):
    started = time.monotonic()
    results = [app.send_task("add", args=[i, 2 * i]) for i in range(1000)]
    values = ResultSet(results).get(timeout=120)
    assert values == [3 * i for i in range(1000)], \
        [(i, v) for i, v in enumerate(values) if v != 3 * i][:10]
    for res in results[:: 97]:
        assert task_meta(backend, res.id)["status"] == "SUCCESS"
    wait_for(lambda: broker.hlen("unacked") == 0, timeout=10, what="unacked hash empty")
    assert sum(queue_lengths(broker).values()) == 0
    assert time.monotonic() - started < 100


def test_priorities_are_consumed(app, broker):
    sent = []
    for i in range(10):
        sent.append((app.send_task("add", args=[i, 100], priority=9), i + 100))
        sent.append((app.send_task("add", args=[i, 200], priority=0), i + 200))
        sent.append((app.send_task("add", args=[i, 300], priority=5), i + 300))
    for res, expected in sent:
        assert res.get(timeout=RESULT_TIMEOUT) == expected
    assert sum(queue_lengths(broker).values()) == 0, queue_lengths(broker)


def test_priority_lists_drained_in_kombu_order(redis_factory, worker_factory, celery_app_factory):
    """Queued before the worker starts: kombu's Redis transport consumes priority 0 (the bare
    list) before `celery\\x06\\x169`."""
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker, backend = redis_client(redis, 0), redis_client(redis, 1)
    low = [app.send_task("add", args=[i, 0], priority=9) for i in range(5)]
    high = [app.send_task("add", args=[i, 1000], priority=0) for i in range(5)]
    lengths = queue_lengths(broker)
    assert lengths["celery\x06\x169"] == 5 and lengths["celery"] == 5, lengths
    worker_factory(redis, env={"CONCURRENCY": "1", "PREFETCH_MULTIPLIER": "1"})
    for res in low + high:
        res.get(timeout=RESULT_TIMEOUT)
    done = {res.id: task_meta(backend, res.id)["date_done"] for res in low + high}
    last_high = max(done[r.id] for r in high)
    first_low = min(done[r.id] for r in low)
    assert last_high <= first_low, \
        f"priority-9 tasks ran before priority-0 ones: {done}"


def test_second_queue_via_QUEUES(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker = redis_client(redis, 0)
    worker_factory(redis, env={"QUEUES": "alpha,beta"})
    on_alpha = app.send_task("add", args=[1, 1], queue="alpha")
    on_beta = app.send_task("fibonacci", args=[20], queue="beta")
    on_default = app.send_task("add", args=[2, 2])  # queue `celery`: not consumed here
    assert on_alpha.get(timeout=RESULT_TIMEOUT) == 2
    assert on_beta.get(timeout=RESULT_TIMEOUT) == fib(20)
    prio = app.send_task("ping", queue="beta", priority=9)
    assert prio.get(timeout=RESULT_TIMEOUT) == "pong"
    time.sleep(1.0)
    assert broker.llen("celery") == 1, "a worker with QUEUES=alpha,beta took from `celery`"
    assert on_default.state == "PENDING"
    raw = json.loads(broker.lindex("celery", 0))
    assert raw["headers"]["id"] == on_default.id
