"""Helpers for the integration tests, by concern:

- processes: child processes, redis-server, free ports, the children's environment, wait_for
- servers: october-api and october-worker (start, HTTP requests, binaries that must exit)
- rawhttp: a raw-socket HTTP/1.1 client
- http_checks: checks on the api's answers (content type, error bodies)
- prometheus: the Prometheus text format, a prometheus server, promtool
- peers: Python Celery (a real worker, a client app) and raw Redis reads of tasks

Every public name is re-exported here, so `from support import X` keeps working.
"""

from __future__ import annotations

from .processes import (CONFIG_VARS, DEFAULT_TIMEOUT, LIVE_PROCESSES, LOOPBACK, PROXY_VARS,
                        REPO_ROOT, WORKER_CONFIG_VARS, ManagedProcess, PersistentRedisServer,
                        RedisServer, built_binary, clean_env, free_port, make_tempdir, remove_tree,
                        tail, wait_for, worker_clean_env)
from .servers import (BASE_API_ENV, BASE_WORKER_ENV, ApiServer, WorkerServer, api_binary,
                      assert_rejected, run_api_binary, run_to_exit, run_worker_binary, server_env,
                      start_api, start_server, start_worker, worker_binary, worker_env)
from .rawhttp import RawClient, RawResponse, get_request
from .http_checks import assert_error, assert_json_content_type, names_param
from .prometheus import Metrics, PrometheusServer, promtool_check
from .peers import (CELERY_PYTHON, INTEGRATION_DIR, CeleryPeerWorker, celery_client,
                    close_celery_client, queue_lengths, redis_client, task_meta)

__all__ = ["ApiServer", "BASE_API_ENV", "BASE_WORKER_ENV", "CELERY_PYTHON", "CONFIG_VARS",
           "CeleryPeerWorker", "DEFAULT_TIMEOUT", "INTEGRATION_DIR", "LIVE_PROCESSES", "LOOPBACK",
           "ManagedProcess", "Metrics", "PROXY_VARS", "PersistentRedisServer", "PrometheusServer",
           "REPO_ROOT", "RawClient", "RawResponse", "RedisServer", "WORKER_CONFIG_VARS",
           "WorkerServer", "api_binary", "assert_error", "assert_json_content_type",
           "assert_rejected", "built_binary", "celery_client", "clean_env", "close_celery_client",
           "free_port", "get_request", "make_tempdir", "names_param", "promtool_check",
           "queue_lengths", "redis_client", "remove_tree", "run_api_binary", "run_to_exit",
           "run_worker_binary", "server_env", "start_api", "start_server", "start_worker", "tail",
           "task_meta", "wait_for", "worker_binary", "worker_clean_env", "worker_env"]
