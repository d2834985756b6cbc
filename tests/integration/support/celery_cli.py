"""The real `celery` command line (Debian's celery 5.2) against a test Redis: `python3 -m celery
-A celery_peer.app ...`, with the peer app's broker and backend taken from the environment."""

from __future__ import annotations

import json
import subprocess

from .peers import CELERY_PYTHON, INTEGRATION_DIR
from .processes import RedisServer, worker_clean_env


def celery_cli(redis: RedisServer, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = worker_clean_env({"PYTHONPATH": str(INTEGRATION_DIR), "PYTHONDONTWRITEBYTECODE": "1",
                            "OCTOBER_PEER_BROKER": redis.url(0),
                            "OCTOBER_PEER_BACKEND": redis.url(1)})
    env.pop("PYTHONHOME", None)
    return subprocess.run([CELERY_PYTHON, "-m", "celery", "-A", "celery_peer.app", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


def celery_json(redis: RedisServer, *args: str, timeout: float = 30):
    """The parsed `--json` output of an inspect/control command (its last line)."""
    done = celery_cli(redis, *args, "--json", timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines, f"celery {' '.join(args)}: no output; rc={done.returncode}; {done.stderr[-2000:]}"
    return json.loads(lines[-1])
