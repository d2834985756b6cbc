"""Celery's canvas across october-worker and a real Python Celery worker (Debian's celery 5.2):
chains (the result passed on, immutable links, failures propagated), link and link_error
callbacks, groups with GroupResult save/restore, and chords joined on the Redis result backend
(the body called once; a failed header part gives the body ChordError), with october alone and
with mixed fleets. october-worker consumes the queue "celery", the Python worker "py": a
signature's queue decides which one runs it."""

from __future__ import annotations

import base64
import json
import re

import pytest
from celery import chain, chord, group
from celery.exceptions import ChordError

from support.peers import task_meta
from support.processes import wait_for
from support.servers import finished_runs

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESULT_TIMEOUT = 20


@pytest.fixture(scope="module")
def fleet(worker_stack, run_dir):
    """The module's october-worker (queue celery) and a Python Celery worker on queue py."""
    from support.peers import CeleryPeerWorker
    peer = CeleryPeerWorker(run_dir / "canvas-peer", worker_stack.redis.url(0),
                            worker_stack.redis.url(1), queues="py", pool="solo", concurrency=1,
                            prefetch_multiplier=32).start()
    yield worker_stack
    peer.stop(grace=10)
    peer.close()


@pytest.fixture
def app(fleet):
    assert fleet.worker.alive(), "the module's october-worker died\n" + fleet.worker.report()
    return fleet.app


def sig(app, name, *args, queue=None, immutable=False, **options):
    if queue:
        options["queue"] = queue
    return app.signature(name, args=args, immutable=immutable, **options)


def chord_keys(backend, group_id: str) -> list:
    return [k for k in (f"celery-taskset-meta-{group_id}{s}" for s in (".j", ".t", ".s"))
            if backend.exists(k)]


# --- chain ------------------------------------------------------------------------------------
@pytest.mark.parametrize("queues", [
    pytest.param((None, None, None, None), id="october"),
    pytest.param(("py", None, "py", None), id="mixed"),
])
def test_chain_passes_each_result_on(app, backend, queues):
    q = iter(queues)
    res = chain(sig(app, "add", 1, 2, queue=next(q)), sig(app, "add", 10, queue=next(q)),
                sig(app, "add", 100, 200, immutable=True, queue=next(q)),
                sig(app, "add", 1, queue=next(q))).apply_async()
    assert res.get(timeout=RESULT_TIMEOUT) == 301
    links = [res.parent.parent.parent, res.parent.parent, res.parent, res]
    assert [r.get(timeout=RESULT_TIMEOUT) for r in links] == [3, 13, 300, 301]
    metas = [task_meta(backend, r.id) for r in links]
    root = links[0].id
    for previous, meta in zip(links, metas[1:]):
        assert meta["parent_id"] == previous.id, meta
    # Each link lists the next one among its children, as Celery's tracer records it.
    for meta, following in zip(metas, links[1:]):
        assert [following.id, None] in [child[0] for child in meta["children"]], meta
    assert all(r.id != root for r in links[1:])


def test_chain_messages_carry_root_and_the_rest_of_the_chain(app, broker):
    """What october publishes for the next link: parent_id, root_id and embed.chain as Celery
    does (looked at on a queue nobody consumes)."""
    res = chain(sig(app, "add", 1, 2), sig(app, "add", 10, queue="nobody"),
                sig(app, "add", 5, queue="nobody")).apply_async()
    first_id = res.parent.parent.id
    wait_for(lambda: broker.llen("nobody") == 1, RESULT_TIMEOUT, what="next link published")
    envelope = json.loads(broker.rpop("nobody"))
    args, kwargs, embed = json.loads(base64.b64decode(envelope["body"]))
    headers = envelope["headers"]
    assert headers["task"] == "add" and headers["id"] == res.parent.id
    assert headers["parent_id"] == first_id and headers["root_id"] == first_id
    assert args == [3, 10] and kwargs == {}
    assert [s["args"] for s in embed["chain"]] == [[5]]
    assert embed["chain"][0]["options"]["task_id"] == res.id
    assert envelope["properties"]["delivery_info"]["routing_key"] == "nobody"


@pytest.mark.parametrize("queue", [None, "py"], ids=["october", "python"])
def test_failing_link_fails_the_rest_of_the_chain(app, queue):
    res = chain(sig(app, "fail", "broken link", queue=queue), sig(app, "add", 1),
                sig(app, "add", 2)).apply_async()
    with pytest.raises(ValueError, match="broken link"):
        res.get(timeout=RESULT_TIMEOUT)
    # A Python worker stores the failure of the links left after its own (not in one step).
    wait_for(lambda: res.state == "FAILURE" and res.parent.state == "FAILURE", RESULT_TIMEOUT,
             what="the failure stored for every link left")


# --- link / link_error ------------------------------------------------------------------------
@pytest.mark.parametrize("queues", [(None, None), (None, "py"), ("py", None)],
                         ids=["october", "october-then-python", "python-then-october"])
def test_link_calls_the_callback_with_the_result(app, backend, queues):
    callback = sig(app, "add", 7, queue=queues[1])
    called = callback.freeze()
    res = sig(app, "add", 2, 3, queue=queues[0]).apply_async(link=callback)
    assert res.get(timeout=RESULT_TIMEOUT) == 5
    assert called.get(timeout=RESULT_TIMEOUT) == 12
    assert task_meta(backend, called.id)["parent_id"] == res.id
    assert task_meta(backend, res.id)["children"] == [[[called.id, None], None]]


@pytest.mark.parametrize("queue", [None, "py"], ids=["october", "python"])
def test_link_error_sends_the_errback_the_failed_task_id(app, backend, queue):
    """Celery 5.2 sends an errback that takes one argument as a task called with the failed
    task's id; october-worker does that for every errback (see docs/celery-compatibility.md).
    The Python worker run of the same canvas shows the same call."""
    errback = sig(app, "record_errback", queue="py")
    called = errback.freeze()
    res = sig(app, "fail", "boom", queue=queue).apply_async(link_error=errback)
    with pytest.raises(ValueError, match="boom"):
        res.get(timeout=RESULT_TIMEOUT)
    assert called.get(timeout=RESULT_TIMEOUT) == res.id
    meta = task_meta(backend, called.id)
    assert meta["parent_id"] == res.id and meta.get("group_id")


def test_link_is_not_called_on_failure_nor_link_error_on_success(app):
    callback, errback = sig(app, "add", 1), sig(app, "record_errback", queue="py")
    not_called, not_called_either = callback.freeze(), errback.freeze()
    failed = sig(app, "fail", "x").apply_async(link=callback)
    ok = sig(app, "add", 1, 1).apply_async(link_error=errback)
    with pytest.raises(ValueError):
        failed.get(timeout=RESULT_TIMEOUT)
    assert ok.get(timeout=RESULT_TIMEOUT) == 2
    probe = sig(app, "add", 0, 0).apply_async()  # runs after the two above on one queue
    probe.get(timeout=RESULT_TIMEOUT)
    assert not_called.state == "PENDING" and not_called_either.state == "PENDING"


# --- group ------------------------------------------------------------------------------------
@pytest.mark.parametrize("mixed", [False, True], ids=["october", "mixed"])
def test_group_results_and_group_result_save_restore(app, backend, mixed):
    tasks = [sig(app, "add", i, i, queue="py" if mixed and i % 2 else None) for i in range(6)]
    res = group(tasks).apply_async()
    res.save()
    assert res.get(timeout=RESULT_TIMEOUT) == [2 * i for i in range(6)]
    restored = app.GroupResult.restore(res.id)
    assert restored is not None and [r.id for r in restored.results] == [r.id for r in res.results]
    assert restored.get(timeout=RESULT_TIMEOUT) == [2 * i for i in range(6)]
    for r in res.results:
        assert task_meta(backend, r.id)["group_id"] == res.id


# --- chord ------------------------------------------------------------------------------------
CHORDS = [
    pytest.param(lambda i: None, None, id="october"),
    pytest.param(lambda i: None, "py", id="body-on-python"),
    pytest.param(lambda i: "py" if i % 2 else None, None, id="mixed-header-body-on-october"),
    pytest.param(lambda i: "py" if i % 2 else None, "py", id="mixed-header-body-on-python"),
]


@pytest.mark.parametrize("header_queue,body_queue", CHORDS)
def test_chord_calls_the_body_once_with_the_header_results(app, backend, fleet, header_queue,
                                                           body_queue):
    header = [sig(app, "add", i, i, queue=header_queue(i)) for i in range(5)]
    res = chord(header)(sig(app, "tsum", queue=body_queue))
    assert res.get(timeout=RESULT_TIMEOUT) == sum(2 * i for i in range(5))
    group_id = res.parent.id
    assert chord_keys(backend, group_id) == [], "the join's keys are deleted once the body ran"
    meta = task_meta(backend, res.id)
    assert meta["parent_id"] in [r.id for r in res.parent.results]
    if body_queue is None:
        assert finished_runs([fleet.worker], res.id) == 1


def test_chord_body_receives_results_in_header_order(app):
    # Later header tasks finish first: the body still sees the header's order.
    header = [sig(app, "sleep", 0.6 - 0.1 * i) for i in range(4)]
    res = chord(header)(sig(app, "tsum"))
    assert res.get(timeout=RESULT_TIMEOUT) == pytest.approx(sum(0.6 - 0.1 * i for i in range(4)))


def test_chord_body_args_keep_header_order_in_the_join(app, broker):
    header = [sig(app, "add", i, 0) for i in (5, 1, 4)]
    res = chord(header)(sig(app, "add", 0, queue="nobody-chord"))
    wait_for(lambda: broker.llen("nobody-chord") == 1, RESULT_TIMEOUT, what="body published")
    envelope = json.loads(broker.rpop("nobody-chord"))
    args, _, _ = json.loads(base64.b64decode(envelope["body"]))
    assert args == [[5, 1, 4], 0]
    assert envelope["headers"]["id"] == res.id


@pytest.mark.parametrize("failing_queue", [None, "py"], ids=["october", "python"])
def test_failing_header_task_fails_the_chord_with_chord_error(app, backend, failing_queue):
    header = [sig(app, "add", 1, 1), sig(app, "fail", "hdr", queue=failing_queue),
              sig(app, "add", 2, 2)]
    res = chord(header)(sig(app, "tsum"))
    wait_for(lambda: (task_meta(backend, res.id) or {}).get("status") == "FAILURE",
             RESULT_TIMEOUT, what="ChordError stored on the body")
    failed = res.parent.results[1]
    meta = task_meta(backend, res.id)
    assert meta["result"]["exc_type"] == "ChordError"
    assert meta["result"]["exc_module"] == "celery.exceptions"
    assert meta["result"]["exc_message"] == [f"Dependency {failed.id} raised ValueError('hdr')"]
    assert isinstance(res.result, ChordError)
    assert re.search(r"ValueError\('hdr'\)", str(res.result))
    with pytest.raises((ChordError, ValueError)):
        res.get(timeout=RESULT_TIMEOUT)


def test_chord_join_keys_follow_the_redis_backend(app, backend, broker):
    """While a part is missing: .j holds [1, id, state, result] scored by group index, .s the
    header size, and the worker renewed their expiry (to its RESULT_EXPIRES_SECONDS)."""
    header = [sig(app, "add", 1, 1), sig(app, "add", 2, 2, queue="nobody-part")]
    res = chord(header)(sig(app, "tsum"))
    group_id = res.parent.id
    jkey = f"celery-taskset-meta-{group_id}.j"
    wait_for(lambda: backend.zcard(jkey) == 1, RESULT_TIMEOUT, what="first part joined")
    [(member, score)] = backend.zrange(jkey, 0, -1, withscores=True)
    assert json.loads(member) == [1, res.parent.results[0].id, "SUCCESS", 2] and score == 0
    assert backend.get(f"celery-taskset-meta-{group_id}.s") == b"2"
    assert 3600 < backend.ttl(jkey) <= 86400, "the client set 3600, the worker renews to 86400"
    # Hand the missing part to october-worker: the chord completes.
    raw = broker.rpop("nobody-part")
    broker.lpush("celery", raw)
    assert res.get(timeout=RESULT_TIMEOUT) == 6
    assert chord_keys(backend, group_id) == []


def test_chord_of_chains_and_chain_into_chord(app):
    # Header parts that are chains: their last task carries the chord.
    header = [chain(sig(app, "add", 1, 1), sig(app, "add", 10)),
              chain(sig(app, "add", 2, 2, queue="py"), sig(app, "add", 20))]
    res = chord(header)(sig(app, "tsum"))
    assert res.get(timeout=RESULT_TIMEOUT) == 12 + 24


def test_chord_whose_header_chain_fails_early_fails_with_chord_error(app, backend):
    # The chain's first link fails: its last link, the chord's part, never runs, so the
    # failure itself joins the chord in its place, as Celery's backend does.
    failing = chain(sig(app, "fail", "early"), sig(app, "add", 10))
    res = chord([failing, sig(app, "add", 1, 1)])(sig(app, "tsum"))
    wait_for(lambda: (task_meta(backend, res.id) or {}).get("status") == "FAILURE",
             RESULT_TIMEOUT, what="ChordError stored on the body")
    meta = task_meta(backend, res.id)
    assert meta["result"]["exc_type"] == "ChordError"
    assert meta["result"]["exc_message"][0].endswith("raised ValueError('early')")


# --- canvases inside canvases -----------------------------------------------------------------
# What the worker that ran a task applies after it: a group, chain or chord signature as the
# next step of a chain, as a link, or as an errback. Each runs with the first task on
# october-worker and, as the reference, on the Python worker; the results and the record's
# children must agree.
FIRST = [pytest.param(None, id="october"), pytest.param("py", id="python-reference")]


def finished_meta(backend, task_id: str) -> dict:
    """A task's record once it has one with a final state (read from the backend, so it does
    not matter whether the result was published before anybody listened)."""
    wait_for(lambda: (task_meta(backend, task_id) or {}).get("status") in ("SUCCESS", "FAILURE"),
             RESULT_TIMEOUT, what=f"task {task_id} finished")
    return task_meta(backend, task_id)


def child_shapes(meta: dict) -> list:
    """A record's children with ids replaced by their kind: a task tuple or a group tuple."""
    def shape(child):
        (head, members) = child
        return "task" if members is None else ["group", [shape(m) for m in members]]
    return [shape(c) for c in meta["children"]]


@pytest.mark.parametrize("first", FIRST)
def test_chain_through_a_group_becomes_a_chord(app, backend, first):
    """`a | group(b, c) | d`: Celery makes the group and d a chord; the worker that ran a
    starts it (a new group id, its size in .s) with a's result prepended to each part."""
    res = (sig(app, "add", 1, 1, queue=first)
           | group(sig(app, "add", 10), sig(app, "add", 20, queue="py"))
           | sig(app, "tsum")).apply_async()
    assert res.get(timeout=RESULT_TIMEOUT) == 12 + 22
    body = task_meta(backend, res.id)
    first_meta = task_meta(backend, body["parent_id"])
    assert first_meta["result"] == 2, "the body's parent is the task that started the chord"
    assert child_shapes(first_meta) == [["group", ["task", "task"]]]
    (group_id, _), members = first_meta["children"][0]
    parts = [task_meta(backend, m[0][0]) for m in members]
    assert [p["result"] for p in parts] == [12, 22]
    assert {p["group_id"] for p in parts} == {group_id}
    assert {p["parent_id"] for p in parts} == {body["parent_id"]}
    assert chord_keys(backend, group_id) == []


@pytest.mark.parametrize("first", FIRST)
def test_chain_ending_in_a_group(app, backend, first):
    res = (sig(app, "add", 2, 3, queue=first)
           | group(sig(app, "add", 1), sig(app, "add", 2, queue="py"),
                   sig(app, "add", 3))).apply_async()
    assert res.get(timeout=RESULT_TIMEOUT) == [6, 7, 8]
    parts = [task_meta(backend, r.id) for r in res.results]
    assert {p["group_id"] for p in parts} == {res.id}
    first_meta = task_meta(backend, parts[0]["parent_id"])
    assert child_shapes(first_meta) == [["group", ["task", "task", "task"]]]


@pytest.mark.parametrize("first", FIRST)
def test_chain_continues_after_a_chord_body(app, first):
    """`a | chord([b, c], d) | e`: the rest of the chain travels in the body's options and
    runs after it."""
    res = (sig(app, "add", 1, 1, queue=first)
           | chord([sig(app, "add", 1), sig(app, "add", 2, queue="py")], sig(app, "tsum"))
           | sig(app, "add", 1000)).apply_async()
    assert res.get(timeout=RESULT_TIMEOUT) == 3 + 4 + 1000


@pytest.mark.parametrize("first", FIRST)
def test_link_to_a_group(app, backend, first):
    res = sig(app, "add", 1, 1, queue=first).apply_async(
        link=group(sig(app, "add", 10), sig(app, "add", 20, queue="py")))
    assert res.get(timeout=RESULT_TIMEOUT) == 2
    wait_for(lambda: task_meta(backend, res.id) is not None, RESULT_TIMEOUT, what="a's record")
    meta = task_meta(backend, res.id)
    assert child_shapes(meta) == [["group", ["task", "task"]]]
    (group_id, _), members = meta["children"][0]
    parts = [finished_meta(backend, m[0][0]) for m in members]
    assert [p["result"] for p in parts] == [12, 22]
    assert {p["group_id"] for p in parts} == {group_id}


@pytest.mark.parametrize("first", FIRST)
def test_link_to_a_chain(app, backend, first):
    last = sig(app, "add", 100)
    res = sig(app, "add", 1, 1, queue=first).apply_async(
        link=chain(sig(app, "add", 10, queue="py"), last))
    assert res.get(timeout=RESULT_TIMEOUT) == 2
    wait_for(lambda: task_meta(backend, res.id) is not None, RESULT_TIMEOUT, what="a's record")
    meta = task_meta(backend, res.id)
    assert child_shapes(meta) == ["task"], "the record lists the chain's first task"
    second = finished_meta(backend, meta["children"][0][0][0])
    assert second["result"] == 12 and second["parent_id"] == res.id
    third = finished_meta(backend, second["children"][0][0][0])
    assert third["result"] == 112


@pytest.mark.parametrize("first", FIRST)
def test_link_to_a_chord(app, first):
    body = sig(app, "tsum")
    called = body.freeze()
    res = sig(app, "add", 1, 1, queue=first).apply_async(
        link=chord([sig(app, "add", 1), sig(app, "add", 2, queue="py")], body))
    assert res.get(timeout=RESULT_TIMEOUT) == 2
    assert called.get(timeout=RESULT_TIMEOUT) == 3 + 4


@pytest.mark.parametrize("first", FIRST)
def test_link_error_to_a_group(app, first):
    errbacks = group(sig(app, "record_errback", queue="py"),
                     sig(app, "record_errback", queue="py"))
    called = errbacks.freeze()
    res = sig(app, "fail", "nested", queue=first).apply_async(link_error=errbacks)
    with pytest.raises(ValueError, match="nested"):
        res.get(timeout=RESULT_TIMEOUT)
    assert [r.get(timeout=RESULT_TIMEOUT) for r in called.results] == [res.id, res.id]
