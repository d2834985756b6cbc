"""W3C Trace Context through october-api and into the task queue: a valid incoming `traceparent`
continued (same trace id, a new span id for the api's span), an invalid one ignored and a new
trace started, the trace id on the api's access line, and the traceparent carried in the Celery
message headers of POST /tasks, so october-worker logs the same trace id for the task and a real
Python Celery worker reads the header where OpenTelemetry's Celery instrumentation reads it."""

from __future__ import annotations

import json
import re

import pytest

from support.processes import wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
VALID = f"00-{TRACE_ID}-{PARENT_ID}-01"
TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def answered_trace(resp) -> tuple[str, str, str]:
    """(trace id, span id, flags) of the traceparent an answer carries, checked for its form."""
    value = resp.headers.get("traceparent", "")
    m = TRACEPARENT_RE.match(value)
    assert m, f"answer's traceparent {value!r} is not a version-00 traceparent"
    trace_id, span_id, flags = m.groups()
    assert trace_id != "0" * 32 and span_id != "0" * 16, value
    return trace_id, span_id, flags


def json_lines(process) -> list[dict]:
    out = []
    for line in process.stdout_lines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def access_line(api, request_id: str) -> dict:
    """The api's access log line of the request sent with X-Request-ID `request_id`."""
    def find():
        for record in json_lines(api):
            if record.get("msg") == "request" and record.get("request_id") == request_id:
                return record
        return None
    return wait_for(find, timeout=10, what=f"the access line of request {request_id}")


def worker_task_lines(worker, task_id: str) -> list[dict]:
    return [r for r in json_lines(worker) if r.get("id") == task_id and "task" in r]


def test_no_traceparent_starts_a_sampled_trace(api):
    r = api.get("/version", headers={"X-Request-ID": "trace-none"})
    assert r.status_code == 200
    trace_id, _, flags = answered_trace(r)
    assert flags == "01"
    assert access_line(api, "trace-none")["trace_id"] == trace_id
    # Two requests without one are two traces.
    assert answered_trace(api.get("/version"))[0] != trace_id


def test_valid_traceparent_is_continued_with_a_new_span(api):
    r = api.get("/version", headers={"traceparent": VALID, "X-Request-ID": "trace-valid"})
    trace_id, span_id, flags = answered_trace(r)
    assert trace_id == TRACE_ID
    assert span_id != PARENT_ID, "the answer names the api's own span, not the caller's"
    assert flags == "01"
    assert access_line(api, "trace-valid")["trace_id"] == TRACE_ID
    # The sampled flag is the caller's decision: an unsampled trace stays unsampled.
    r = api.get("/version", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-00"})
    assert answered_trace(r)[::2] == (TRACE_ID, "00")


@pytest.mark.parametrize("value", [
    f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",              # uppercase hex
    f"00-{'0' * 32}-{PARENT_ID}-01",                      # all-zero trace id
    f"00-{TRACE_ID}-{'0' * 16}-01",                       # all-zero parent id
    f"ff-{TRACE_ID}-{PARENT_ID}-01",                      # version ff is never valid
    f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01",                 # trace id one short
    f"00-{TRACE_ID}-{PARENT_ID}0-01",                     # parent id one long
    f"{VALID}-extra",                                     # version 00 has no more fields
    f"cc-{TRACE_ID}-{PARENT_ID}-01x",                     # a later version's extra must follow '-'
    "not a traceparent",
], ids=["uppercase", "zero-trace", "zero-parent", "version-ff", "short-trace", "long-parent",
        "v00-extra", "future-no-dash", "garbage"])
def test_invalid_traceparent_is_ignored_and_a_new_trace_started(api, value):
    rid = f"trace-invalid-{abs(hash(value))}"
    r = api.get("/version", headers={"traceparent": value, "X-Request-ID": rid})
    assert r.status_code == 200, r.text
    trace_id, _, flags = answered_trace(r)
    assert trace_id != TRACE_ID.lower(), f"{value!r} must not be continued"
    assert flags == "01"
    assert access_line(api, rid)["trace_id"] == trace_id


def test_future_version_continued_by_its_first_four_fields(api):
    r = api.get("/version", headers={"traceparent": f"cc-{TRACE_ID}-{PARENT_ID}-01-what-next"})
    trace_id, _, _ = answered_trace(r)
    assert trace_id == TRACE_ID
    # Answered and passed on in the version this server speaks.
    assert r.headers["traceparent"].startswith("00-")


def test_errors_answered_by_the_server_itself_carry_a_traceparent(api):
    # A 404 from the router and the request's own trace.
    r = api.get("/no-such-route", headers={"traceparent": VALID})
    assert r.status_code == 404
    assert answered_trace(r)[0] == TRACE_ID


def test_one_task_has_one_trace_id_in_the_api_and_october_worker(api_factory, redis_factory,
                                                                 worker_factory):
    redis = redis_factory()
    api = api_factory(redis=redis)
    worker = worker_factory(redis)
    r = api.post("/tasks", json={"name": "add", "args": [2, 3]},
                 headers={"traceparent": VALID, "X-Request-ID": "trace-task"})
    assert r.status_code == 202, r.text
    task_id = r.json()["task_id"]
    assert answered_trace(r)[0] == TRACE_ID
    assert access_line(api, "trace-task")["trace_id"] == TRACE_ID
    lines = wait_for(lambda: [x for x in worker_task_lines(worker, task_id)
                              if x.get("msg") == "task finished"],
                     timeout=20, what=f"october-worker's task finished line for {task_id}")
    assert all(line.get("trace_id") == TRACE_ID for line in lines), lines
    # The check above can fail: a task posted without a traceparent has another trace id.
    r = api.post("/tasks", json={"name": "add", "args": [1, 1]})
    other_id, other_trace = r.json()["task_id"], answered_trace(r)[0]
    lines = wait_for(lambda: worker_task_lines(worker, other_id), timeout=20,
                     what=f"october-worker's lines for {other_id}")
    assert [line.get("trace_id") for line in lines] == [other_trace] * len(lines)
    assert other_trace != TRACE_ID


def test_python_celery_worker_sees_the_traceparent_header(api_factory, redis_factory,
                                                          celery_peer_factory):
    redis = redis_factory()
    api = api_factory(redis=redis)
    peer = celery_peer_factory(redis, pool="solo", concurrency=1, prefetch_multiplier=32)
    r = api.post("/tasks", json={"name": "ping"}, headers={"traceparent": VALID})
    assert r.status_code == 202, r.text
    task_id = r.json()["task_id"]
    # The worker's parent is the api's span, the one the api answered with.
    expected = r.headers["traceparent"]
    assert expected.startswith(f"00-{TRACE_ID}-")
    wait_for(lambda: f"task {task_id} traceparent=" in peer.log_text(), timeout=30,
             what=lambda: "the peer's traceparent line\n" + peer.report(40))
    seen = re.search(rf"task {task_id} traceparent=(\S+)", peer.log_text()).group(1)
    assert seen == expected, f"the Python worker read {seen!r}, the api answered {expected!r}"
