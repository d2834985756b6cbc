"""Remote control of october-worker through Celery's broadcast mailbox, driven by the real
Celery CLI (`celery inspect ...`, `celery control ...`, `celery status`) and the real
`app.control` API: inspect replies keyed by node name, revoke (before arrival, and terminate of
a running task, in a thread and in a child process), shutdown, destination, the error replies
of commands october does not offer, and a mixed fleet with a Python Celery worker."""

from __future__ import annotations

import socket
import time

import pytest

from support.celery_cli import celery_cli, celery_json
from support.peers import task_meta, redis_client
from support.processes import wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESULT_TIMEOUT = 15
NODE = "october-ctl@testhost"


@pytest.fixture
def stack(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    worker = worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    app = celery_app_factory(redis)
    return redis, worker, app


def replies_by_node(replies) -> dict:
    merged = {}
    for reply in replies or []:
        merged.update(reply)
    return merged


def test_cli_inspect_ping_lists_the_worker_by_hostname(stack):
    redis, _, _ = stack
    assert celery_json(redis, "inspect", "ping") == {NODE: {"ok": "pong"}}


def test_default_hostname_is_celery_at_host(redis_factory, worker_factory):
    redis = redis_factory()
    worker_factory(redis)
    assert celery_json(redis, "inspect", "ping") == {
        f"celery@{socket.gethostname()}": {"ok": "pong"}}


@pytest.mark.parametrize("flags", [["--hostname", "flagged@%h"], ["-n", "flagged@%h"]],
                         ids=["--hostname", "-n"])
def test_celery_hostname_flags_name_the_node(redis_factory, worker_factory, flags):
    """A Celery worker's command line (`--hostname`/`-n`, with %h expanded) carries over."""
    redis = redis_factory()
    worker_factory(redis, args=flags)
    assert celery_json(redis, "inspect", "ping") == {
        f"flagged@{socket.gethostname()}": {"ok": "pong"}}


def test_cli_status_lists_the_node(stack):
    redis, _, _ = stack
    done = celery_cli(redis, "status")
    assert done.returncode == 0, done.stderr
    assert f"{NODE}: OK" in done.stdout
    assert "1 node online." in done.stdout


def test_cli_inspect_registered_stats_and_active(stack):
    redis, worker, app = stack
    registered = celery_json(redis, "inspect", "registered")[NODE]
    assert {"add", "ping", "sleep", "fail", "prime"} <= set(registered)
    stats = celery_json(redis, "inspect", "stats")[NODE]
    assert stats["pid"] == worker.pid
    assert stats["pool"]["max-concurrency"] == 2
    assert stats["broker"]["transport"] == "redis"
    assert stats["broker"]["port"] == redis.port
    assert int(stats["clock"]) > 0
    app.send_task("add", args=[1, 2]).get(timeout=RESULT_TIMEOUT)
    # Long enough for a CLI call or two on a loaded machine; the reply that saw it is checked.
    running = app.send_task("sleep", args=[6])
    active = wait_for(lambda: celery_json(redis, "inspect", "active")[NODE], timeout=5,
                      what="the sleep task active")
    assert [t["id"] for t in active] == [running.id]
    assert active[0]["name"] == "sleep" and active[0]["args"] == [6]
    assert active[0]["hostname"] == NODE and active[0]["worker_pid"] == worker.pid
    assert active[0]["time_start"] > 0
    assert running.get(timeout=RESULT_TIMEOUT) == 6
    totals = celery_json(redis, "inspect", "stats")[NODE]["total"]
    assert totals.get("add") == 1 and totals.get("sleep") == 1


def test_api_reserved_scheduled_query_and_queues(stack):
    _, _, app = stack
    # Each inspect call waits out its one-second window: the blockers outlast all of them.
    blockers = [app.send_task("sleep", args=[8]) for _ in range(2)]
    waiting = app.send_task("add", args=[2, 2])
    later = app.send_task("add", args=[3, 3], countdown=30)
    inspect = app.control.inspect(timeout=1)
    wait_for(lambda: len(inspect.active().get(NODE, [])) == 2, timeout=5, what="two active")
    assert [t["id"] for t in inspect.reserved()[NODE]] == [waiting.id]
    scheduled = inspect.scheduled()[NODE]
    assert [s["request"]["id"] for s in scheduled] == [later.id]
    assert scheduled[0]["eta"].endswith("+00:00")
    query = inspect.query_task(blockers[0].id, waiting.id, "no-such-id")[NODE]
    assert query[blockers[0].id][0] == "active"
    assert query[waiting.id][0] == "reserved"
    assert "no-such-id" not in query
    queues = inspect.active_queues()[NODE]
    assert [q["name"] for q in queues] == ["celery"]
    app.control.revoke([b.id for b in blockers] + [later.id], terminate=True)
    assert waiting.get(timeout=RESULT_TIMEOUT) == 4


def test_revoked_before_arrival_is_stored_revoked_not_run(stack):
    redis, _, app = stack
    task_id = "revoked-before-arrival-1"
    reply = replies_by_node(celery_json(redis, "control", "revoke", task_id))
    assert reply == {NODE: {"ok": f"tasks {task_id} flagged as revoked"}}
    result = app.send_task("add", args=[1, 1], task_id=task_id)
    wait_for(lambda: result.state == "REVOKED", timeout=RESULT_TIMEOUT, what="REVOKED")
    meta = task_meta(redis_client(redis, 1), task_id)
    assert meta["result"]["exc_type"] == "TaskRevokedError"
    assert meta["result"]["exc_message"] == ["revoked"]
    assert task_id in app.control.inspect(timeout=1).revoked()[NODE]
    # The worker goes on with the others.
    assert app.send_task("add", args=[2, 3]).get(timeout=RESULT_TIMEOUT) == 5


def test_revoked_eta_task_is_revoked_when_due(stack):
    _, _, app = stack
    result = app.send_task("add", args=[1, 1], countdown=3)
    wait_for(lambda: app.control.inspect(timeout=1).scheduled().get(NODE), timeout=5,
             what="the ETA task held")
    app.control.revoke(result.id)
    # Held until due, as in Celery; then not run.
    wait_for(lambda: result.state == "REVOKED", timeout=15, what="REVOKED when due")
    assert app.control.inspect(timeout=1).scheduled()[NODE] == []


@pytest.mark.parametrize("limit", [None, 60], ids=["in-thread", "child-process"])
def test_terminate_stops_a_running_task(stack, limit):
    redis, _, app = stack
    options = {"time_limit": limit} if limit else {}
    running = app.send_task("sleep", args=[30], **options)
    wait_for(lambda: app.control.inspect(timeout=1).active().get(NODE), timeout=5,
             what="the sleep task active")
    started = time.monotonic()
    reply = replies_by_node(app.control.revoke(running.id, terminate=True, reply=True))
    assert reply == {NODE: {"ok": f"terminate: {running.id}"}}
    wait_for(lambda: running.state == "REVOKED", timeout=10, what="REVOKED after terminate")
    assert time.monotonic() - started < 5, "the body was not stopped"
    meta = task_meta(redis_client(redis, 1), running.id)
    assert meta["result"]["exc_message"] == ["terminated"]
    assert app.send_task("add", args=[1, 2]).get(timeout=RESULT_TIMEOUT) == 3


def test_unsupported_and_unknown_commands_reply_with_an_error(stack):
    _, _, app = stack
    grow = replies_by_node(app.control.pool_grow(1, reply=True))[NODE]
    assert "not supported" in grow["error"]
    shrink = replies_by_node(app.control.pool_shrink(1, reply=True))[NODE]
    assert "error" in shrink
    rate = replies_by_node(app.control.rate_limit("add", "1/s", reply=True))[NODE]
    assert "error" in rate
    unknown = replies_by_node(app.control.broadcast("no_such_command", reply=True))[NODE]
    assert unknown == {"error": "KeyError('no_such_command')"}


def test_destination_is_respected_and_shutdown_is_graceful(redis_factory, worker_factory,
                                                           celery_app_factory):
    redis = redis_factory()
    one = worker_factory(redis, env={"WORKER_HOSTNAME": "one@testhost"})
    two = worker_factory(redis, env={"WORKER_HOSTNAME": "two@testhost"})
    app = celery_app_factory(redis)
    assert replies_by_node(app.control.ping(timeout=1)).keys() == {"one@testhost", "two@testhost"}
    assert replies_by_node(app.control.ping(destination=["two@testhost"], timeout=1)) == {
        "two@testhost": {"ok": "pong"}}
    assert set(celery_json(redis, "inspect", "ping", "-d", "one@testhost")) == {"one@testhost"}
    running = app.send_task("sleep", args=[4])
    wait_for(lambda: any(replies_by_node([app.control.inspect(timeout=1).active() or {}])
                         .values()), timeout=10, what="the task running")
    app.control.shutdown(destination=["one@testhost"])
    assert one.wait(15) == 0, "shutdown is a graceful stop: exit 0"
    assert two.alive()
    # A running task was let finish (on one) or is still running (on two): either way stored.
    assert running.get(timeout=RESULT_TIMEOUT) == 4
    assert replies_by_node(app.control.ping(timeout=1)).keys() == {"two@testhost"}
    logs = [r for r in one.log_records() if r.get("msg") == "shutdown requested by remote control"]
    assert logs, "the worker logs why it stopped"


# --- mingle: revoked ids learnt at start-up -----------------------------------------------------
def revoke_then_start(redis, app, worker_factory, task_id: str, mingle: str):
    """Revoke `task_id` while the fleet runs, then start an october-worker (queue `late`) that
    was not there to hear it, and send the task to it."""
    app.control.revoke(task_id)
    late = worker_factory(redis, env={"WORKER_HOSTNAME": "late@testhost", "QUEUES": "late",
                                      "WORKER_MINGLE": mingle})
    return late, app.send_task("add", args=[20, 22], task_id=task_id, queue="late")


@pytest.mark.parametrize("peer", ["october", "python"])
def test_mingle_learns_revoked_ids_from_the_running_workers(
        redis_factory, worker_factory, celery_peer_factory, celery_app_factory, peer):
    """Celery's mingle: a worker starting asks the others (hello) for their revoked ids, so a
    task revoked before it started is REVOKED, not run; learnt from october-worker and from a
    real Python Celery worker alike."""
    redis = redis_factory()
    if peer == "october":
        worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    else:
        celery_peer_factory(redis, queues="py")
    app = celery_app_factory(redis)
    wait_for(lambda: app.control.ping(timeout=1), timeout=10, what="the running worker")
    late, result = revoke_then_start(redis, app, worker_factory, f"mingle-{peer}-1", "true")
    wait_for(lambda: result.state == "REVOKED", timeout=RESULT_TIMEOUT, what="REVOKED")
    revoked = app.control.inspect(destination=["late@testhost"], timeout=1).revoked()
    assert f"mingle-{peer}-1" in revoked["late@testhost"]
    [synced] = [r for r in late.log_records() if r.get("msg") == "mingle: synced with other nodes"]
    assert synced["nodes"] == 1, synced
    assert app.send_task("add", args=[1, 2], queue="late").get(timeout=RESULT_TIMEOUT) == 3


def test_without_mingle_a_worker_does_not_know_earlier_revocations(
        redis_factory, worker_factory, celery_app_factory):
    """The negative of the above: with WORKER_MINGLE=false (Celery's --without-mingle) the
    late worker never heard of the revocation and runs the task."""
    redis = redis_factory()
    worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    app = celery_app_factory(redis)
    late, result = revoke_then_start(redis, app, worker_factory, "no-mingle-1", "false")
    assert result.get(timeout=RESULT_TIMEOUT) == 42
    assert not [r for r in late.log_records() if "mingle" in r.get("msg", "")]


def test_a_python_worker_starting_learns_from_october(redis_factory, worker_factory,
                                                       celery_peer_factory, celery_app_factory):
    """The other direction: a Python Celery worker with mingle on (its default) learns the
    revocation october-worker holds from october's hello reply, and does not run the task."""
    redis = redis_factory()
    worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    app = celery_app_factory(redis)
    app.control.revoke("py-learns-1")
    celery_peer_factory(redis, queues="py", pool="solo", concurrency=1, mingle=True)
    result = app.send_task("add", args=[1, 1], task_id="py-learns-1", queue="py")
    wait_for(lambda: result.state == "REVOKED", timeout=RESULT_TIMEOUT, what="REVOKED")
    revoked = app.control.inspect(timeout=1).revoked()
    assert all("py-learns-1" in ids for ids in revoked.values()) and len(revoked) == 2


def test_mixed_fleet_answers_the_same_broadcast(redis_factory, worker_factory,
                                                celery_peer_factory, celery_app_factory):
    redis = redis_factory()
    worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    celery_peer_factory(redis)  # a Python Celery worker on the same broadcast mailbox
    app = celery_app_factory(redis)
    replies = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(
        replies_by_node(app.control.ping(timeout=1))), timeout=10, what="two replies")
    assert NODE in replies
    peer_nodes = [n for n in replies if n != NODE]
    assert len(peer_nodes) == 1 and peer_nodes[0].endswith("@localhost")
    done = celery_cli(redis, "status")
    assert "2 nodes online." in done.stdout
    registered = celery_json(redis, "inspect", "registered")
    assert set(registered) == {NODE, peer_nodes[0]}
    # Both revoke, each in its own set.
    app.control.revoke("mixed-revoke-1")
    revoked = app.control.inspect(timeout=1).revoked()
    assert all("mixed-revoke-1" in ids for ids in revoked.values()) and len(revoked) == 2
