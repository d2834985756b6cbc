"""october-worker's monitoring events as Celery's own receiver sees them: a real
celery.events.EventReceiver (and `celery events --dump`) on the celeryev exchange gets
worker-online / worker-heartbeat (every 2 s) / worker-offline always, and the task events
(received, started, succeeded, failed, retried, revoked) with Celery's fields when
WORKER_SEND_EVENTS is on or after the enable_events control command."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

from support.celery_cli import celery_cli
from support.peers import CELERY_PYTHON, INTEGRATION_DIR, redis_client
from support.processes import wait_for, worker_clean_env

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESULT_TIMEOUT = 15
NODE = "october-ev@testhost"
BASE_FIELDS = {"hostname", "utcoffset", "pid", "clock", "timestamp", "type"}


class Capture:
    """A celery.events.EventReceiver consuming on its own thread; `events` grows as they come."""

    def __init__(self, app, broker):
        self.app, self.broker = app, broker
        self.events: list[dict] = []
        self.lock = threading.Lock()
        self.receiver = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with self.app.connection() as conn:
            self.receiver = self.app.events.Receiver(conn, handlers={"*": self._on_event})
            self.receiver.capture(limit=None, timeout=None, wakeup=False)

    def _on_event(self, event):
        with self.lock:
            self.events.append(dict(event))

    def start(self):
        before = self.broker.execute_command("PUBSUB", "NUMPAT")
        self.thread.start()
        wait_for(lambda: self.broker.execute_command("PUBSUB", "NUMPAT") > before, timeout=10,
                 what="the receiver subscribed")
        return self

    def stop(self):
        if self.receiver is not None:
            self.receiver.should_stop = True
        self.thread.join(timeout=5)

    def of(self, type_, **match):
        with self.lock:
            return [e for e in self.events if e["type"] == type_
                    and all(e.get(k) == v for k, v in match.items())]

    def wait(self, type_, timeout=10, count=1, **match):
        return wait_for(lambda: (lambda found: found if len(found) >= count else None)(
            self.of(type_, **match)), timeout=timeout, what=f"{count} {type_} {match}")


@pytest.fixture
def capture(redis_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    cap = Capture(app, redis_client(redis, 0)).start()
    yield redis, app, cap
    cap.stop()


def test_worker_online_heartbeat_offline(capture, worker_factory):
    redis, _, cap = capture
    worker = worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    online = cap.wait("worker-online", hostname=NODE)[0]
    assert BASE_FIELDS <= set(online)
    assert online["pid"] == worker.pid
    assert online["sw_ident"] == "october-worker" and online["sw_sys"] == "Linux"
    assert online["freq"] == 2.0 and len(online["loadavg"]) == 3
    beats = cap.wait("worker-heartbeat", timeout=10, count=3, hostname=NODE)
    gaps = [b["timestamp"] - a["timestamp"] for a, b in zip(beats, beats[1:])]
    assert all(1.5 < gap < 2.5 for gap in gaps), f"heartbeats every 2 s, got gaps {gaps}"
    clocks = [b["clock"] for b in beats]
    assert clocks == sorted(clocks) and len(set(clocks)) == len(clocks)
    assert {"active", "processed"} <= set(beats[0])
    # Worker events only: no task events unless they are turned on.
    assert not [e for e in cap.events if e["type"].startswith("task-")]
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0
    cap.wait("worker-offline", hostname=NODE)


def test_task_events_carry_celerys_fields(capture, worker_factory):
    redis, app, cap = capture
    worker_factory(redis, env={"WORKER_HOSTNAME": NODE, "WORKER_SEND_EVENTS": "true"})
    cap.wait("worker-online", hostname=NODE)
    ok = app.send_task("add", args=[2, 3], kwargs={})
    assert ok.get(timeout=RESULT_TIMEOUT) == 5
    received = cap.wait("task-received", uuid=ok.id)[0]
    assert received["name"] == "add" and received["args"] == "[2, 3]"
    assert received["kwargs"] == "{}" and received["retries"] == 0
    assert received["root_id"] == ok.id and received["parent_id"] is None
    assert received["eta"] is None and received["expires"] is None
    assert BASE_FIELDS <= set(received) and received["hostname"] == NODE
    cap.wait("task-started", uuid=ok.id)
    succeeded = cap.wait("task-succeeded", uuid=ok.id)[0]
    assert succeeded["result"] == "5" and 0 <= succeeded["runtime"] < 5
    assert received["clock"] < succeeded["clock"]

    bad = app.send_task("fail", kwargs={"message": "boom"})
    with pytest.raises(ValueError):
        bad.get(timeout=RESULT_TIMEOUT)
    failed = cap.wait("task-failed", uuid=bad.id)[0]
    assert failed["exception"] == "ValueError('boom')"
    assert "ValueError: boom" in failed["traceback"]

    retried = app.send_task("fail", kwargs={"message": "again", "max_retries": 1,
                                            "countdown": 0.2})
    cap.wait("task-retried", uuid=retried.id)
    cap.wait("task-failed", uuid=retried.id, timeout=RESULT_TIMEOUT)
    assert [e["retries"] for e in cap.of("task-received", uuid=retried.id)] == [0, 1]

    app.control.revoke("ev-revoked-1")
    gone = app.send_task("add", args=[1, 1], task_id="ev-revoked-1")
    wait_for(lambda: gone.state == "REVOKED", timeout=RESULT_TIMEOUT, what="REVOKED")
    revoked = cap.wait("task-revoked", uuid="ev-revoked-1")[0]
    assert revoked["terminated"] is False and revoked["expired"] is False


def test_enable_and_disable_events_by_remote_control(capture, worker_factory):
    redis, app, cap = capture
    worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    cap.wait("worker-online", hostname=NODE)
    first = app.send_task("add", args=[1, 1])
    assert first.get(timeout=RESULT_TIMEOUT) == 2
    reply = app.control.enable_events(reply=True)
    assert reply == [{NODE: {"ok": "task events enabled"}}]
    second = app.send_task("add", args=[2, 2])
    assert second.get(timeout=RESULT_TIMEOUT) == 4
    cap.wait("task-succeeded", uuid=second.id)
    assert not cap.of("task-received", uuid=first.id)
    assert app.control.disable_events(reply=True) == [{NODE: {"ok": "task events disabled"}}]
    third = app.send_task("add", args=[3, 3])
    assert third.get(timeout=RESULT_TIMEOUT) == 6
    time.sleep(0.5)
    assert not cap.of("task-received", uuid=third.id)


def test_celery_events_dump_shows_the_worker(redis_factory, worker_factory, celery_app_factory):
    redis = redis_factory()
    app = celery_app_factory(redis)
    env = worker_clean_env({"PYTHONPATH": str(INTEGRATION_DIR), "PYTHONDONTWRITEBYTECODE": "1",
                            "OCTOBER_PEER_BROKER": redis.url(0),
                            "OCTOBER_PEER_BACKEND": redis.url(1)})
    broker = redis_client(redis, 0)
    before = broker.execute_command("PUBSUB", "NUMPAT")
    dump = subprocess.Popen([CELERY_PYTHON, "-m", "celery", "-A", "celery_peer.app", "events",
                             "--dump"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_for(lambda: broker.execute_command("PUBSUB", "NUMPAT") > before, timeout=15,
                 what="celery events subscribed")
        worker_factory(redis, env={"WORKER_HOSTNAME": NODE, "WORKER_SEND_EVENTS": "1"})
        assert app.send_task("add", args=[4, 5]).get(timeout=RESULT_TIMEOUT) == 9
        time.sleep(2.5)  # one heartbeat at least
    finally:
        os.killpg(dump.pid, signal.SIGTERM)
        out, _ = dump.communicate(timeout=10)
    assert f"{NODE} [" in out
    # The dumper's words: worker-online is "started", then "heartbeat", "task received", ...
    for kind in ("] started: ", "] heartbeat: ", "] task received: add(", "] task succeeded: add("):
        assert kind in out, f"{kind!r} not in the dump:\n{out[-3000:]}"
    assert "sw_ident=october-worker" in out and "result=9" in out


def test_status_and_events_agree_on_the_node(redis_factory, worker_factory):
    redis = redis_factory()
    worker_factory(redis, env={"WORKER_HOSTNAME": NODE})
    assert f"{NODE}: OK" in celery_cli(redis, "status").stdout
