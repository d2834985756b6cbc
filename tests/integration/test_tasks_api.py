"""october-api task endpoints: POST /tasks validation and the Celery message it publishes,
GET /tasks/{id} for every state, 503 without a broker, and tasks posted to the api running on
a real Python Celery worker and on october-worker."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from support.http_checks import assert_error, assert_json_content_type
from support.peers import queue_lengths, redis_client
from support.processes import RedisServer, wait_for
from support.servers import start_api

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TASK_NAMES = ["ping", "add", "prime", "fibonacci", "hash", "sleep", "fail"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def tasks_redis(run_dir):
    """A private Redis no worker consumes: messages the api publishes stay to be inspected."""
    server = RedisServer(run_dir / "redis-tasks-api").start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def tapi(run_dir, tasks_redis):
    server = start_api(run_dir / "api-tasks", tasks_redis)
    yield server
    server.close()


@pytest.fixture
def broker(tasks_redis):
    client = redis_client(tasks_redis, 0)
    client.flushdb()
    return client


@pytest.fixture
def backend(tasks_redis):
    return redis_client(tasks_redis, 1)


def post_task(api, body, **kwargs):
    if isinstance(body, (bytes, str)):
        return api.post("/tasks", data=body, headers={"Content-Type": "application/json"},
                        **kwargs)
    return api.post("/tasks", json=body, **kwargs)


def accepted(api, body) -> dict:
    r = post_task(api, body)
    assert r.status_code == 202, f"{body}: {r.status_code} {r.text}"
    assert_json_content_type(r)
    data = r.json()
    assert UUID_RE.match(data["task_id"]), data
    assert data["name"] == body["name"] and data["status"] == "PENDING", data
    assert data["status_url"] == f"/tasks/{data['task_id']}", data
    return data


def all_messages(broker, queue="celery") -> list[tuple[str, dict]]:
    out = []
    for name in queue_lengths(broker, queue):
        out += [(name, json.loads(raw)) for raw in broker.lrange(name, 0, -1)]
    return out


def only_message(broker, queue="celery") -> tuple[str, dict]:
    msgs = all_messages(broker, queue)
    assert len(msgs) == 1, f"expected exactly one message on {queue!r}: {msgs}"
    return msgs[0]


def parse_iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    assert dt.tzinfo is not None, f"{text!r} has no UTC offset"
    return dt


# --- POST /tasks: validation -----------------------------------------------------------------
BAD_BODIES = [
    ("not-json", b"{not json", None),
    ("truncated-json", b'{"name": "add", "args": [1, 2]', None),
    ("empty-body", b"", None),
    ("array-body", [1, 2], None),
    ("string-body", "add", None),
    ("number-body", 42, None),
    ("null-body", None, None),
    ("missing-name", {"args": [1, 2]}, "name"),
    ("name-not-string", {"name": 5}, "name"),
    ("name-empty", {"name": ""}, "name"),
    ("args-not-list", {"name": "add", "args": {"x": 1}}, "args"),
    ("args-string", {"name": "add", "args": "1,2"}, "args"),
    ("kwargs-not-object", {"name": "add", "args": [1, 2], "kwargs": [1]}, "kwargs"),
    ("kwargs-string", {"name": "add", "kwargs": "x=1"}, "kwargs"),
    ("countdown-negative", {"name": "add", "args": [1, 2], "countdown": -1}, "countdown"),
    ("countdown-too-large", {"name": "add", "args": [1, 2], "countdown": 86401}, "countdown"),
    ("countdown-string", {"name": "add", "args": [1, 2], "countdown": "5"}, "countdown"),
    ("priority-10", {"name": "add", "args": [1, 2], "priority": 10}, "priority"),
    ("priority-negative", {"name": "add", "args": [1, 2], "priority": -1}, "priority"),
    ("priority-fraction", {"name": "add", "args": [1, 2], "priority": 1.5}, "priority"),
    ("priority-string", {"name": "add", "args": [1, 2], "priority": "9"}, "priority"),
]


@pytest.mark.parametrize("case,body,param", BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_post_rejects_bad_request(tapi, broker, case, body, param):
    if body is None:
        r = post_task(tapi, b"null")
    elif isinstance(body, (bytes, str)) and case != "string-body":
        r = post_task(tapi, body)
    else:
        r = tapi.post("/tasks", json=body)
    assert_error(r, 400, param=param)
    assert all_messages(broker) == [], "a rejected request published a message"


def test_unknown_task_name_lists_known_ones(tapi, broker):
    body = assert_error(post_task(tapi, {"name": "nosuch", "args": []}), 400)
    assert "nosuch" in body["detail"], body
    for name in TASK_NAMES:
        assert re.search(rf"\b{name}\b", body["detail"]), f"detail does not list {name}: {body}"
    assert all_messages(broker) == []


ARG_ERRORS = [
    ({"name": "add", "args": [1]}, "add() missing 1 required positional argument: 'y'"),
    ({"name": "add", "args": []}, "add() missing 2 required positional arguments: 'x' and 'y'"),
    ({"name": "add", "args": [1, 2, 3]}, "add() takes 2 positional arguments but 3 were given"),
    ({"name": "add", "args": [1, 2], "kwargs": {"z": 1}},
     "add() got an unexpected keyword argument 'z'"),
    ({"name": "add", "args": [1], "kwargs": {"x": 2}},
     "add() got multiple values for argument 'x'"),
    ({"name": "ping", "args": [1]}, "ping() takes 0 positional arguments but 1 was given"),
    ({"name": "add", "args": ["a", 2]}, None),
    ({"name": "add", "args": [None, 2]}, None),
    ({"name": "prime", "args": [0]}, None),
    ({"name": "prime", "args": [1_000_000_001]}, None),
    ({"name": "prime", "args": [2.5]}, None),
    ({"name": "fibonacci", "args": [93]}, None),
    ({"name": "fibonacci", "args": [-1]}, None),
    ({"name": "hash", "kwargs": {"iterations": 0}}, None),
    ({"name": "hash", "kwargs": {"data_size_kb": 10001}}, None),
    ({"name": "sleep", "args": [-1]}, None),
]


@pytest.mark.parametrize("body,detail", ARG_ERRORS,
                         ids=[json.dumps(b, separators=(",", ":")) for b, _ in ARG_ERRORS])
def test_wrong_arguments_rejected_with_python_message(tapi, broker, body, detail):
    err = assert_error(post_task(tapi, body), 400)
    if detail is not None:
        assert err["detail"] == detail, err
    else:
        assert err["detail"].startswith(f"{body['name']}()"), \
            f"detail should be the task's TypeError/ValueError text: {err}"
    assert all_messages(broker) == []


@pytest.mark.parametrize("extra", [{"countdown": 0}, {"countdown": 86400}, {"countdown": 1.5},
                                   {"priority": 0}, {"priority": 9}, {"expires": 60},
                                   {"kwargs": {}}, {"args": [1], "kwargs": {"y": 2}}])
def test_boundary_values_accepted(tapi, broker, extra):
    body = {"name": "add", "args": [1, 2], **extra}
    data = accepted(tapi, body)
    _, msg = only_message(broker)
    assert msg["headers"]["id"] == data["task_id"]


# --- POST /tasks: the Celery protocol 2 message it publishes ----------------------------------
def test_published_message_is_celery_protocol_2(tapi, broker):
    data = accepted(tapi, {"name": "add", "args": [1, 2], "kwargs": {}})
    name, env = only_message(broker)
    assert name == "celery"
    assert env["content-type"] == "application/json"
    assert env["content-encoding"] == "utf-8"
    h, p = env["headers"], env["properties"]
    assert h["lang"] == "py" and h["task"] == "add" and h["id"] == data["task_id"]
    assert h["retries"] == 0 and h["timelimit"] == [None, None]
    assert h["root_id"] == data["task_id"] and h["parent_id"] is None
    assert h["eta"] is None and h["expires"] is None
    assert h["argsrepr"] == "(1, 2)" or h["argsrepr"] == "[1, 2]", h["argsrepr"]
    assert p["correlation_id"] == data["task_id"]
    assert p["body_encoding"] == "base64" and p["delivery_mode"] == 2
    assert p["delivery_info"]["routing_key"] == "celery"
    assert UUID_RE.match(p["delivery_tag"]), p
    body = json.loads(base64.b64decode(env["body"]))
    assert body[0] == [1, 2] and body[1] == {}
    assert set(body[2]) >= {"callbacks", "errbacks", "chain", "chord"}


def test_countdown_expires_priority_queue_in_message(tapi, broker):
    before = datetime.now(timezone.utc)
    data = accepted(tapi, {"name": "add", "args": [1, 2], "countdown": 30, "expires": 120})
    _, env = only_message(broker)
    eta, expires = parse_iso(env["headers"]["eta"]), parse_iso(env["headers"]["expires"])
    assert before + timedelta(seconds=29) <= eta <= before + timedelta(seconds=32), eta
    assert before + timedelta(seconds=119) <= expires <= before + timedelta(seconds=122), expires
    assert env["headers"]["id"] == data["task_id"]
    broker.flushdb()

    accepted(tapi, {"name": "ping", "priority": 9})
    name, env = only_message(broker)
    assert name == "celery\x06\x169", f"priority 9 goes to kombu's priority list, not {name!r}"
    assert env["properties"]["priority"] == 9
    broker.flushdb()

    data = accepted(tapi, {"name": "ping", "queue": "reports"})
    assert all_messages(broker) == []
    name, env = only_message(broker, "reports")
    assert name == "reports" and env["headers"]["id"] == data["task_id"]
    assert env["properties"]["delivery_info"]["routing_key"] == "reports"


def test_each_post_gets_a_new_task_id(tapi, broker):
    ids = {accepted(tapi, {"name": "ping"})["task_id"] for _ in range(20)}
    assert len(ids) == 20
    assert len(all_messages(broker)) == 20


# --- GET /tasks/{id} -------------------------------------------------------------------------
def store_meta(backend, task_id: str, status: str, result, traceback=None) -> None:
    meta = {"status": status, "result": result, "traceback": traceback, "children": [],
            "date_done": "2026-11-28T21:13:20.838275", "task_id": task_id}
    backend.set(f"celery-task-meta-{task_id}", json.dumps(meta), ex=600)


def get_task(api, task_id: str) -> dict:
    r = api.get(f"/tasks/{task_id}")
    assert r.status_code == 200, r.text
    assert_json_content_type(r)
    data = r.json()
    assert data["task_id"] == task_id, data
    return data


def test_get_unknown_id_is_pending(tapi):
    for task_id in (str(uuid.uuid4()), "a", "x" * 64, "Some_id-09"):
        data = get_task(tapi, task_id)
        assert data["status"] == "PENDING", data
        assert "result" not in data or data["result"] is None, data


@pytest.mark.parametrize("bad", ["x" * 65, "bad.id", "a%20b", "a%2Fb", "%C3%A9t%C3%A9", "a:b",
                                 "a+b"])
def test_get_invalid_id_is_400(tapi, bad):
    assert_error(tapi.get(f"/tasks/{bad}"), 400, param="id")


def test_get_success_state(tapi, backend):
    tid = str(uuid.uuid4())
    store_meta(backend, tid, "SUCCESS", {"nested": [1, 2.5, "x", None]})
    data = get_task(tapi, tid)
    assert data["status"] == "SUCCESS" and data["result"] == {"nested": [1, 2.5, "x", None]}
    assert data["date_done"] == "2026-11-28T21:13:20.838275"
    tid = str(uuid.uuid4())
    store_meta(backend, tid, "SUCCESS", 7540113804746346429)
    assert get_task(tapi, tid)["result"] == 7540113804746346429, "large ints must stay exact"
    tid = str(uuid.uuid4())
    store_meta(backend, tid, "SUCCESS", None)
    data = get_task(tapi, tid)
    assert data["status"] == "SUCCESS" and "result" in data and data["result"] is None, data


@pytest.mark.parametrize("status,exc", [
    ("FAILURE", {"exc_type": "ValueError", "exc_message": ["bad value"],
                 "exc_module": "builtins"}),
    ("RETRY", {"exc_type": "ValueError", "exc_message": ["try again"], "exc_module": "builtins"}),
    ("REVOKED", {"exc_type": "TaskRevokedError", "exc_message": ["expired"],
                 "exc_module": "celery.exceptions"}),
    ("FAILURE", {"exc_type": "NotRegistered", "exc_message": ["nosuch"],
                 "exc_module": "celery.exceptions"}),
])
def test_get_error_states(tapi, backend, status, exc):
    tid = str(uuid.uuid4())
    store_meta(backend, tid, status, exc, traceback="Traceback (most recent call last): ...")
    data = get_task(tapi, tid)
    assert data["status"] == status, data
    assert data["error"] == {"type": exc["exc_type"], "module": exc["exc_module"],
                             "message": exc["exc_message"][0]}, data
    assert data["date_done"] == "2026-11-28T21:13:20.838275"


def test_get_started_state(tapi, backend):
    tid = str(uuid.uuid4())
    meta = {"status": "STARTED", "result": {"pid": 1, "hostname": "w@h"}, "traceback": None,
            "children": [], "date_done": None, "task_id": tid}
    backend.set(f"celery-task-meta-{tid}", json.dumps(meta), ex=600)
    assert get_task(tapi, tid)["status"] == "STARTED"


# --- broker down -----------------------------------------------------------------------------
def test_post_503_when_broker_down(api_factory, redis_factory):
    redis = redis_factory()
    api = api_factory(redis=redis)
    port = redis.port
    redis.stop()
    started = time.monotonic()
    r = post_task(api, {"name": "add", "args": [1, 2]}, timeout=15)
    assert time.monotonic() - started < 10, "POST /tasks hung with the broker down"
    body = assert_error(r, 503)
    retry_after = r.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1, \
        f"Retry-After {retry_after!r}"
    assert body["error"]
    # Validation still answers 400 first; the api itself stays alive.
    assert post_task(api, {"name": "nosuch"}).status_code == 400
    assert api.get("/healthz").status_code == 200
    redis.start(port=port)

    def posted():
        r = post_task(api, {"name": "add", "args": [1, 2]})
        return r.status_code == 202 and r
    r = wait_for(posted, timeout=15, interval=0.2, what="POST /tasks 202 after Redis is back")
    tid = r.json()["task_id"]
    msgs = [json.loads(raw) for raw in redis_client(redis, 0).lrange("celery", 0, -1)]
    assert [m["headers"]["id"] for m in msgs] == [tid]


# --- end to end: api -> broker -> worker -> backend -> api -----------------------------------
def wait_status(api, task_id: str, statuses, timeout: float = 15) -> dict:
    return wait_for(lambda: (lambda d: d if d["status"] in statuses else None)(
        get_task(api, task_id)), timeout=timeout, interval=0.05,
        what=f"GET /tasks/{task_id} in {statuses}")


E2E_CASES = [
    ({"name": "add", "args": [2, 3]}, 5),
    ({"name": "add", "kwargs": {"x": 1.5, "y": 2}}, 3.5),
    ({"name": "ping"}, "pong"),
    ({"name": "prime", "args": [100]}, 541),
    ({"name": "fibonacci", "args": [92]}, 7540113804746346429),
    ({"name": "hash", "kwargs": {"iterations": 5, "data_size_kb": 2}}, None),
    ({"name": "sleep", "args": [0.1]}, 0.1),
    ({"name": "add", "args": [4, 4], "priority": 9}, 8),
    ({"name": "add", "args": [5, 5], "priority": 0}, 10),
]


def sha256_chain(iterations: int, data_size_kb: int) -> str:
    import hashlib
    digest = hashlib.sha256(b"x" * (data_size_kb * 1024)).digest()
    for _ in range(iterations - 1):
        digest = hashlib.sha256(digest).digest()
    return digest.hex()


def run_end_to_end(api, peer_kind: str) -> None:
    posted = [(accepted(api, body)["task_id"], body, expected) for body, expected in E2E_CASES]
    for tid, body, expected in posted:
        data = wait_status(api, tid, ("SUCCESS", "FAILURE"))
        if expected is None:
            expected = sha256_chain(5, 2)
        assert data["status"] == "SUCCESS" and data["result"] == expected, \
            f"{peer_kind}: {body} -> {data}"
        assert data["date_done"], data

    tid = accepted(api, {"name": "fail", "kwargs": {"message": "from the api"}})["task_id"]
    data = wait_status(api, tid, ("SUCCESS", "FAILURE"))
    assert data["status"] == "FAILURE", data
    assert data["error"] == {"type": "ValueError", "module": "builtins",
                             "message": "from the api"}, data

    # countdown honoured, expires -> REVOKED
    started = time.monotonic()
    tid = accepted(api, {"name": "add", "args": [1, 1], "countdown": 1.5})["task_id"]
    expired = accepted(api, {"name": "fail", "countdown": 2, "expires": 1})["task_id"]
    assert get_task(api, tid)["status"] == "PENDING"
    data = wait_status(api, tid, ("SUCCESS", "FAILURE"))
    assert data["status"] == "SUCCESS" and data["result"] == 2
    assert time.monotonic() - started >= 1.5 - 0.05, "countdown not honoured"
    data = wait_status(api, expired, ("SUCCESS", "FAILURE", "REVOKED"))
    assert data["status"] == "REVOKED", data


def test_posted_task_runs_on_python_celery_worker(api_factory, redis_factory,
                                                  celery_peer_factory):
    redis = redis_factory()
    api = api_factory(redis=redis)
    # A prefetch window the test never fills: without heartbeat/gossip timers, a full window
    # leaves Celery's event loop idle for up to 10 s before it fetches again.
    peer = celery_peer_factory(redis, pool="solo", concurrency=1, prefetch_multiplier=32)
    run_end_to_end(api, "python celery worker")
    log = peer.log_text()
    assert log.count("succeeded in") >= len(E2E_CASES) + 1, peer.report(80)
    for bad in ("InvalidTaskError", "Can't decode message body", "unknown message",
                "Received unregistered task", "CRITICAL"):
        assert bad not in log, f"the Celery worker logged {bad!r}\n" + peer.report(80)


def test_retry_state_visible_through_api_on_python_celery_worker(api_factory, redis_factory,
                                                                 celery_peer_factory):
    redis = redis_factory()
    api = api_factory(redis=redis)
    celery_peer_factory(redis, pool="solo", concurrency=1, prefetch_multiplier=32)
    # RETRY shows for the countdown only: 3 s, so a loaded machine's slow polls still see it.
    tid = accepted(api, {"name": "fail", "kwargs": {"message": "later", "max_retries": 1,
                                                    "countdown": 3}})["task_id"]
    data = wait_status(api, tid, ("RETRY", "FAILURE"))
    assert data["status"] == "RETRY", data
    assert data["error"]["type"] == "ValueError" and data["error"]["message"] == "later", data
    data = wait_status(api, tid, ("FAILURE",))
    assert data["error"] == {"type": "ValueError", "module": "builtins", "message": "later"}


def test_posted_task_runs_on_october_worker(api_factory, redis_factory, worker_factory):
    redis = redis_factory()
    api = api_factory(redis=redis)
    worker_factory(redis, env={"CONCURRENCY": "2"})
    run_end_to_end(api, "october-worker")
    # RETRY shows for the countdown only: 3 s, so a loaded machine's slow polls still see it.
    tid = accepted(api, {"name": "fail", "kwargs": {"message": "later", "max_retries": 1,
                                                    "countdown": 3}})["task_id"]
    data = wait_status(api, tid, ("RETRY", "FAILURE"))
    assert data["status"] == "RETRY", data
    data = wait_status(api, tid, ("FAILURE",))
    assert data["error"] == {"type": "ValueError", "module": "builtins", "message": "later"}
    tid = accepted(api, {"name": "add", "args": [1, 2], "queue": "other"})["task_id"]
    time.sleep(0.5)
    assert get_task(api, tid)["status"] == "PENDING", "a worker on `celery` took from `other`"
