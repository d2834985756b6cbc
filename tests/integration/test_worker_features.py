"""october-worker features seen from outside: ETA/countdown, expires, retries with backoff,
soft/hard time limits (per message and worker defaults), dead-lettering of malformed messages,
unknown tasks, its /metrics, its command line."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from celery.exceptions import (NotRegistered, SoftTimeLimitExceeded, TaskRevokedError,
                               TimeLimitExceeded)

from support.peers import queue_lengths, redis_client, task_meta
from support.processes import wait_for
from support.prometheus import promtool_check
from support.servers import WorkerServer, assert_rejected, run_worker_binary, worker_env

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESULT_TIMEOUT = 15


@pytest.fixture
def worker(worker_stack):
    """The shared october-worker; a test that killed it fails the next ones with its logs."""
    assert worker_stack.worker.alive(), \
        "the module's october-worker died\n" + worker_stack.worker.report()
    return worker_stack.worker


def parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def poll_meta(backend, task_id: str, timeout: float, until=("SUCCESS", "FAILURE", "REVOKED")):
    """Poll the result key; return [(monotonic time, meta)] for every status change."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = task_meta(backend, task_id)
        if meta is not None and (not seen or seen[-1][1]["status"] != meta["status"]):
            seen.append((time.monotonic(), meta))
            if meta["status"] in until:
                return seen
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} not in {until} within {timeout}s; seen {seen}")


# --- ETA / countdown -------------------------------------------------------------------------
def test_countdown_and_eta_are_honoured(app, backend):
    sent_at = time.monotonic()
    counted = []
    for i in range(12):
        # The client computes eta = now + countdown: now is at the latest this.
        counted.append((datetime.now(timezone.utc), app.send_task("add", args=[i, 1],
                                                                   countdown=2)))
    eta_at = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    absolute = app.send_task("add", args=[100, 1], eta=eta_at)
    # Held ETA messages must not occupy the worker: an immediate task runs at once. Timed from
    # its own send, so a slow client on a loaded machine does not count against the worker.
    ping_sent_at = time.monotonic()
    ping = app.send_task("ping")
    assert ping.get(timeout=RESULT_TIMEOUT) == "pong"
    assert time.monotonic() - ping_sent_at < 1.2, "an immediate task waited behind ETA tasks"

    seen = poll_meta(backend, absolute.id, timeout=10)
    assert seen[-1][0] - sent_at >= 1.5 - 0.05, "eta task ran early"
    assert parse_iso(seen[-1][1]["date_done"]) >= eta_at - timedelta(milliseconds=50)
    assert absolute.get(timeout=RESULT_TIMEOUT) == 101
    for i, (before_send, res) in enumerate(counted):
        assert res.get(timeout=RESULT_TIMEOUT) == i + 1
        done = parse_iso(task_meta(backend, res.id)["date_done"])
        assert done >= before_send + timedelta(seconds=2) - timedelta(milliseconds=50), \
            f"countdown=2 task sent after {before_send} done at {done}, before its eta"
    assert time.monotonic() - sent_at >= 2.0 - 0.05
    assert time.monotonic() - sent_at < 8, "countdown tasks finished far too late"


# --- expires -> REVOKED ----------------------------------------------------------------------
def test_expires_before_eta_is_revoked(app, backend):
    # `fail` would store FAILURE if it ran: REVOKED proves it was not run.
    res = app.send_task("fail", args=["must not run"], countdown=2, expires=1)
    with pytest.raises(TaskRevokedError):
        res.get(timeout=RESULT_TIMEOUT)
    assert res.state == "REVOKED"
    meta = task_meta(backend, res.id)
    assert meta["status"] == "REVOKED"
    assert meta["result"]["exc_type"] == "TaskRevokedError", meta


def test_already_expired_message_is_revoked(app, backend):
    past = datetime.now(timezone.utc) - timedelta(seconds=5)
    res = app.send_task("fail", args=["must not run"], expires=past)
    with pytest.raises(TaskRevokedError):
        res.get(timeout=RESULT_TIMEOUT)
    assert task_meta(backend, res.id)["status"] == "REVOKED"


def test_unexpired_message_runs(app):
    assert app.send_task("add", args=[1, 2], countdown=0.5, expires=30).get(
        timeout=RESULT_TIMEOUT) == 3
    assert app.send_task("add", args=[2, 2], expires=30).get(timeout=RESULT_TIMEOUT) == 4


def test_eta_and_expires_in_other_time_zones(app, backend):
    """A client in another zone sends eta/expires with its own offset (Celery writes the aware
    datetime as given): the worker must compare instants, not wall-clock digits."""
    kolkata = timezone(timedelta(hours=5, minutes=30))
    los_angeles = timezone(timedelta(hours=-8))
    eta_at = datetime.now(kolkata) + timedelta(seconds=1.5)
    sent_at = time.monotonic()
    later = app.send_task("add", args=[20, 1], eta=eta_at,
                          expires=datetime.now(los_angeles) + timedelta(seconds=30))
    gone = app.send_task("fail", args=["must not run"],
                         expires=datetime.now(kolkata) - timedelta(seconds=5))
    with pytest.raises(TaskRevokedError):
        gone.get(timeout=RESULT_TIMEOUT)
    seen = poll_meta(backend, later.id, timeout=10)
    assert seen[-1][1]["status"] == "SUCCESS", seen
    assert seen[-1][0] - sent_at >= 1.5 - 0.05, "an eta with a +05:30 offset ran early"
    assert seen[-1][0] - sent_at < 8, "an expiry with a -08:00 offset held the task"
    assert later.get(timeout=RESULT_TIMEOUT) == 21


def test_unacked_entry_ignores_header_values_spelled_like_its_fields(app, broker, backend):
    """The fetch script reads delivery_tag, exchange and routing_key from the envelope's text:
    a header value spelled like one of those keys comes first in the text and must be skipped,
    so kombu (or a restore) finds the entry under the right tag with the right routing."""
    res = app.send_task("sleep", args=[1.0], headers={
        "decoy_tag": "delivery_tag", "decoy_exchange": "exchange", "decoy_key": "routing_key"})

    def ours():
        for tag, raw in broker.hgetall("unacked").items():
            envelope, exchange, routing_key = json.loads(raw)
            if envelope["headers"]["id"] == res.id:
                return tag.decode(), envelope, exchange, routing_key
        return None

    tag, envelope, exchange, routing_key = wait_for(ours, timeout=5, interval=0.01,
                                                    what="the sleep task registered as unacked")
    assert envelope["headers"]["decoy_tag"] == "delivery_tag"
    assert tag == envelope["properties"]["delivery_tag"]
    assert (exchange, routing_key) == ("", "celery")
    assert res.get(timeout=RESULT_TIMEOUT) == 1.0
    wait_for(lambda: not broker.hexists("unacked", tag), timeout=5, what="the entry acked")


# --- retries ---------------------------------------------------------------------------------
def watch_retries(broker, backend, task_id: str, timeout: float):
    """Poll the broker (queues and the unacked hash) and the backend until the task has a final
    state. Returns ({retries: envelope headers}, [(t, meta) per status change])."""
    envelopes: dict[int, dict] = {}
    states = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raws = list(broker.hvals("unacked"))
        raws = [json.loads(r)[0] for r in raws]
        for name in queue_lengths(broker):
            raws += [json.loads(r) for r in broker.lrange(name, 0, -1)]
        for env in raws:
            headers = env.get("headers", {})
            if headers.get("id") == task_id:
                envelopes.setdefault(headers.get("retries"), headers)
        meta = task_meta(backend, task_id)
        if meta is not None and (not states or states[-1][1]["status"] != meta["status"]):
            states.append((time.monotonic(), meta))
            if meta["status"] in ("SUCCESS", "FAILURE"):
                return envelopes, states
        time.sleep(0.01)
    raise AssertionError(f"no final state within {timeout}s: {states}")


def test_retry_with_exponential_backoff(app, broker, backend):
    started = time.monotonic()
    res = app.send_task("fail", kwargs={"message": "flaky", "max_retries": 2, "countdown": 0.5})
    envelopes, states = watch_retries(broker, backend, res.id, timeout=15)
    statuses = [m["status"] for _, m in states]
    assert statuses[0] == "RETRY" and statuses[-1] == "FAILURE", statuses
    assert set(statuses) == {"RETRY", "FAILURE"}, statuses
    with pytest.raises(ValueError) as info:
        res.get(timeout=RESULT_TIMEOUT)
    assert str(info.value) == "flaky"
    # Backoff 0.5 s then 1.0 s: at least 1.5 s from the first run to the final failure.
    elapsed = states[-1][0] - started
    assert elapsed >= 1.5 - 0.05, f"final failure after {elapsed:.2f}s, backoff not honoured"
    assert elapsed < 8
    # The re-published messages: same id, retries 1 then 2, each with an eta.
    assert {1, 2} <= set(envelopes), f"retried messages seen: {sorted(envelopes)}"
    eta1, eta2 = parse_iso(envelopes[1]["eta"]), parse_iso(envelopes[2]["eta"])
    gap = (eta2 - eta1).total_seconds()
    assert 0.9 <= gap <= 2.0, f"second backoff should be ~1.0s after the first eta: {gap:.3f}s"
    assert 3 not in envelopes, "retried more than max_retries times"


def test_retry_state_stores_the_exception_like_celery(app, broker, backend):
    """Celery's worker stores RETRY with the exception given to retry() (here ValueError), as
    a real Celery worker running the same task does; GET /tasks/{id} shows it as the error."""
    res = app.send_task("fail", kwargs={"message": "again", "max_retries": 1, "countdown": 1})
    seen = poll_meta(backend, res.id, timeout=10, until=("RETRY", "FAILURE"))
    meta = seen[-1][1]
    assert meta["status"] == "RETRY", meta
    assert meta["result"] == {"exc_type": "ValueError", "exc_message": ["again"],
                              "exc_module": "builtins"}, meta
    with pytest.raises(ValueError):
        res.get(timeout=RESULT_TIMEOUT)


# --- time limits -----------------------------------------------------------------------------
@pytest.mark.parametrize("limit,exc", [("soft_time_limit", SoftTimeLimitExceeded),
                                       ("time_limit", TimeLimitExceeded)], ids=["soft", "hard"])
def test_time_limit_per_message(app, backend, limit, exc):
    started = time.monotonic()
    res = app.send_task("sleep", args=[5], **{limit: 0.5})
    with pytest.raises(exc):
        res.get(timeout=RESULT_TIMEOUT)
    took = time.monotonic() - started
    assert 0.45 <= took < 2.5, f"{limit} 0.5s hit after {took:.2f}s"
    meta = task_meta(backend, res.id)
    assert meta["status"] == "FAILURE"
    assert meta["result"]["exc_type"] == exc.__name__, meta


def wait_cpu_idle(worker, timeout: float = 20) -> float:
    """Wait until the worker uses (almost) no CPU for 0.5 s; return its CPU seconds then."""
    def idle():
        cpu0 = worker.metrics().value("process_cpu_seconds_total")
        time.sleep(0.5)
        cpu1 = worker.metrics().value("process_cpu_seconds_total")
        return cpu1 - cpu0 < 0.1 and cpu1
    return wait_for(idle, timeout=timeout, interval=0, what="the worker's CPU to go idle")


def test_hard_time_limit_stops_cpu_bound_task(app, worker):
    """A hard limit stops the work itself, not only the wait for it: the CPU a limited
    prime(10**9) burns is well below what the whole computation takes."""
    cpu0 = wait_cpu_idle(worker)
    assert app.send_task("prime", args=[1_000_000_000]).get(timeout=120) == 22801763489
    cpu1 = wait_cpu_idle(worker)
    full = cpu1 - cpu0
    limit = max(0.2, full / 4)
    started = time.monotonic()
    res = app.send_task("prime", args=[1_000_000_000], time_limit=limit)
    with pytest.raises(TimeLimitExceeded):
        res.get(timeout=RESULT_TIMEOUT)
    assert time.monotonic() - started < limit + 2
    used = wait_cpu_idle(worker) - cpu1
    assert used < 0.7 * full, (f"prime(10**9) takes {full:.2f} CPU s; with a hard limit of "
                               f"{limit:.2f}s it still used {used:.2f} CPU s: not stopped")
    assert app.send_task("add", args=[1, 1]).get(timeout=RESULT_TIMEOUT) == 2


def test_time_limits_from_worker_environment(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    worker_factory(redis, env={"QUEUES": "soft", "TASK_SOFT_TIME_LIMIT_SECONDS": "1"})
    worker_factory(redis, env={"QUEUES": "hard", "TASK_TIME_LIMIT_SECONDS": "1"})
    started = time.monotonic()
    soft = app.send_task("sleep", args=[4], queue="soft")
    hard = app.send_task("sleep", args=[4], queue="hard")
    # A limit in the message wins over the worker default.
    soft_override = app.send_task("sleep", args=[1.5], queue="soft", soft_time_limit=3)
    hard_override = app.send_task("sleep", args=[1.5], queue="hard", time_limit=3)
    quick = app.send_task("prime", args=[10], queue="hard")
    with pytest.raises(SoftTimeLimitExceeded):
        soft.get(timeout=RESULT_TIMEOUT)
    with pytest.raises(TimeLimitExceeded):
        hard.get(timeout=RESULT_TIMEOUT)
    assert time.monotonic() - started < 3.5, "worker default limits of 1s not applied in time"
    assert soft_override.get(timeout=RESULT_TIMEOUT) == 1.5
    assert hard_override.get(timeout=RESULT_TIMEOUT) == 1.5
    assert quick.get(timeout=RESULT_TIMEOUT) == 29


# --- malformed messages ----------------------------------------------------------------------
def proto1_envelope() -> str:
    """A Celery protocol 1 message (task and args in the body, none in headers)."""
    task_id = str(uuid.uuid4())
    body = {"task": "add", "id": task_id, "args": [1, 2], "kwargs": {}, "retries": 0,
            "eta": None, "expires": None}
    return json.dumps({
        "body": base64.b64encode(json.dumps(body).encode()).decode(),
        "content-encoding": "utf-8", "content-type": "application/json", "headers": {},
        "properties": {"correlation_id": task_id, "delivery_mode": 2, "priority": 0,
                       "delivery_info": {"exchange": "", "routing_key": "celery"},
                       "body_encoding": "base64", "delivery_tag": str(uuid.uuid4())}})


MALFORMED = {
    "not-json": b"garbage{{ not json",
    "binary": b"\xff\xfe\x00\x80 binary",
    "json-non-envelope": json.dumps({"hello": "world", "n": [1, 2, 3]}).encode(),
    "json-scalar": b"42",
    "protocol-1": proto1_envelope().encode(),
}


def dead_record(raw: bytes) -> dict:
    """A `<queue>.dead` entry: a JSON object (so valid UTF-8) with reason, queue, message."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        pytest.fail(f"dead-letter record is not valid UTF-8, so not JSON ({exc}): {raw[:200]!r}")
    record = json.loads(text)
    assert isinstance(record, dict), record
    return record


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_message_is_dead_lettered(kind, worker, app, broker, backend):
    raw = MALFORMED[kind]
    before = worker.metrics().value("celery_messages_dead_lettered_total") or 0
    dead_before = broker.llen("celery.dead")
    broker.lpush("celery", raw)
    # The worker keeps going: the next task is processed.
    assert app.send_task("add", args=[5, 6]).get(timeout=RESULT_TIMEOUT) == 11
    wait_for(lambda: broker.llen("celery.dead") == dead_before + 1, timeout=5,
             what="a record in celery.dead")
    record = dead_record(broker.lindex("celery.dead", 0))
    assert record.get("queue") == "celery", record
    assert isinstance(record.get("reason"), str) and record["reason"], record
    if kind == "binary":
        # Not UTF-8, so not JSON text: kept byte for byte as base64.
        assert "message" not in record, record
        assert base64.b64decode(record["message_base64"]) == raw, record
    else:
        stored = record["message"]
        assert stored == raw.decode() or stored == json.loads(raw), record
    wait_for(lambda: (worker.metrics().value("celery_messages_dead_lettered_total") or 0)
             == before + 1, timeout=5, what="celery_messages_dead_lettered_total +1")
    assert broker.hlen("unacked") == 0, "a dead-lettered message stayed in unacked"
    assert broker.llen("celery") == 0
    assert worker.alive()


def test_malformed_message_on_second_queue(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    broker = redis_client(redis, 0)
    w = worker_factory(redis, env={"QUEUES": "celery,reports"})
    broker.lpush("reports", b"{not json")
    assert app.send_task("add", args=[1, 1], queue="reports").get(timeout=RESULT_TIMEOUT) == 2
    wait_for(lambda: broker.llen("reports.dead") == 1, timeout=5, what="reports.dead record")
    record = dead_record(broker.lindex("reports.dead", 0))
    assert record["queue"] == "reports" and record["reason"], record
    assert broker.llen("celery.dead") == 0
    assert w.metrics().value("celery_messages_dead_lettered_total") == 1


# --- unknown tasks ---------------------------------------------------------------------------
def test_unknown_task_fails_not_registered_and_worker_continues(app, backend, worker):
    res = app.send_task("definitely_not_a_task", args=[1, 2], kwargs={"a": 1})
    with pytest.raises(NotRegistered):
        res.get(timeout=RESULT_TIMEOUT)
    meta = task_meta(backend, res.id)
    assert meta["result"] == {"exc_type": "NotRegistered",
                              "exc_message": ["definitely_not_a_task"],
                              "exc_module": "celery.exceptions"}
    assert app.send_task("ping").get(timeout=RESULT_TIMEOUT) == "pong"
    assert worker.alive()


# --- metrics ---------------------------------------------------------------------------------
def test_metrics_count_tasks_and_pass_promtool(app, worker, broker):
    m0 = worker.metrics()

    def total(m, task, state):
        return m.value("celery_tasks_total", task=task, state=state) or 0

    def duration_count(m, task):
        return m.value("celery_task_duration_seconds_count", task=task) or 0

    for i in range(7):
        assert app.send_task("hash", args=[10, 1]).get(timeout=RESULT_TIMEOUT)
    for _ in range(3):
        assert app.send_task("fibonacci", args=[10]).get(timeout=RESULT_TIMEOUT) == 55
    with pytest.raises(ValueError):
        app.send_task("fibonacci", args=[1000]).get(timeout=RESULT_TIMEOUT)
    assert app.send_task("sleep", args=[0.2]).get(timeout=RESULT_TIMEOUT) == 0.2

    def counted():
        m = worker.metrics()
        return (total(m, "hash", "SUCCESS") - total(m0, "hash", "SUCCESS") == 7
                and total(m, "fibonacci", "SUCCESS") - total(m0, "fibonacci", "SUCCESS") == 3
                and total(m, "fibonacci", "FAILURE") - total(m0, "fibonacci", "FAILURE") == 1
                and total(m, "sleep", "SUCCESS") - total(m0, "sleep", "SUCCESS") == 1) and m
    m = wait_for(counted, timeout=5, what="celery_tasks_total deltas")
    assert m.types.get("celery_tasks_total") == "counter"
    assert m.types.get("celery_task_duration_seconds") == "histogram"
    assert duration_count(m, "hash") - duration_count(m0, "hash") == 7
    buckets = [(float(lab["le"]), v) for lab, v in
               m.find("celery_task_duration_seconds_bucket", task="sleep")]
    assert buckets, "no celery_task_duration_seconds buckets for sleep"
    values = [v for _, v in sorted(buckets)]
    assert values == sorted(values), "histogram buckets must be cumulative"
    assert sorted(buckets)[-1][0] == float("inf")
    assert (m.value("celery_task_duration_seconds_sum", task="sleep") or 0) >= 0.2
    assert m.value("celery_queue_length", queue="celery") is not None
    for name in ("celery_tasks_in_flight", "celery_messages_restored_total",
                 "celery_messages_dead_lettered_total"):
        assert m.value(name) is not None, f"no {name}"
    rc, out = promtool_check(m.text)
    assert rc == 0, f"promtool check metrics failed:\n{out}"


def test_queue_length_and_in_flight_gauges(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    w = worker_factory(redis, env={"CONCURRENCY": "1", "PREFETCH_MULTIPLIER": "1"})
    slow = app.send_task("sleep", args=[2.5])
    wait_for(lambda: w.metrics().value("celery_tasks_in_flight") == 1, timeout=5, interval=0.1,
             what="celery_tasks_in_flight 1")
    waiting = [app.send_task("add", args=[i, i]) for i in range(3)]
    wait_for(lambda: w.metrics().value("celery_queue_length", queue="celery") == 3, timeout=5,
             interval=0.1, what="celery_queue_length{queue=celery} 3")
    assert slow.get(timeout=RESULT_TIMEOUT) == 2.5
    assert [r.get(timeout=RESULT_TIMEOUT) for r in waiting] == [0, 2, 4]
    wait_for(lambda: (lambda m: m.value("celery_queue_length", queue="celery") == 0
                      and m.value("celery_tasks_in_flight") == 0)(w.metrics()),
             timeout=5, interval=0.1, what="gauges back to 0")


def test_result_expires_seconds(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    worker_factory(redis, env={"RESULT_EXPIRES_SECONDS": "120"})
    res = app.send_task("add", args=[1, 2])
    assert res.get(timeout=RESULT_TIMEOUT) == 3
    ttl = redis_client(redis, 1).ttl(f"celery-task-meta-{res.id}")
    assert 100 < ttl <= 120, f"result key TTL {ttl}, RESULT_EXPIRES_SECONDS=120"


# --- command line ----------------------------------------------------------------------------
WORKER_VARS = ["HOST", "PORT", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "LOG_LEVEL",
               "CONCURRENCY", "QUEUES", "VISIBILITY_TIMEOUT_SECONDS", "RESULT_EXPIRES_SECONDS",
               "TASK_TIME_LIMIT_SECONDS", "TASK_SOFT_TIME_LIMIT_SECONDS",
               "SHUTDOWN_TIMEOUT_SECONDS", "WORKER_HOSTNAME", "WORKER_SEND_EVENTS"]


def test_help_exits_zero_and_lists_settings():
    rc, out, err = run_worker_binary(args=["--help"])
    assert rc == 0, f"exit code {rc}; stderr {err!r}"
    for var in WORKER_VARS:
        assert var in out, f"--help does not list {var}"
    assert "--concurrency" in out and "--queues" in out


BAD_WORKER_ENV = [
    ("CONCURRENCY", "-1"), ("CONCURRENCY", "abc"), ("CONCURRENCY", "1025"),
    ("QUEUES", ","), ("QUEUES", " , "),
    ("VISIBILITY_TIMEOUT_SECONDS", "0"), ("VISIBILITY_TIMEOUT_SECONDS", "abc"),
    ("VISIBILITY_TIMEOUT_SECONDS", "-5"),
    ("RESULT_EXPIRES_SECONDS", "0"), ("TASK_TIME_LIMIT_SECONDS", "-1"),
    ("TASK_SOFT_TIME_LIMIT_SECONDS", "-1"), ("TASK_TIME_LIMIT_SECONDS", "abc"),
    ("PREFETCH_MULTIPLIER", "0"), ("PORT", "70000"), ("LOG_LEVEL", "loud"),
    ("CELERY_BROKER_URL", "http://127.0.0.1:6379/0"),
    ("SHUTDOWN_TIMEOUT_SECONDS", "-1"), ("WORKER_HOSTNAME", "a b"),
    ("WORKER_SEND_EVENTS", "maybe"),
]


@pytest.mark.parametrize("var,value", BAD_WORKER_ENV, ids=[f"{k}={v}" for k, v in BAD_WORKER_ENV])
def test_bad_config_exits_2_with_one_line(var, value):
    assert_rejected(run_worker_binary(env={var: value}), var,
                    f"--{var.lower().replace('_', '-')}")


@pytest.mark.parametrize("flag", ["--concurrency=-1", "--queues=,",
                                  "--visibility-timeout-seconds=0", "--no-such-flag"])
def test_bad_flag_exits_2_with_one_line(flag):
    assert_rejected(run_worker_binary(args=[flag]))


def test_flags_configure_like_env(redis_factory, celery_app_factory, tmp_path):
    """--queues/--concurrency flags win over the environment."""
    redis = redis_factory()
    app = celery_app_factory(redis)
    env = worker_env(redis, QUEUES="celery")
    w = WorkerServer(tmp_path / "flags", env, args=["--queues=flagged", "--concurrency=1"])
    try:
        w.start()
        assert app.send_task("add", args=[2, 3], queue="flagged").get(
            timeout=RESULT_TIMEOUT) == 5
    finally:
        w.close()
