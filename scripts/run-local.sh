#!/usr/bin/env bash
# The local stack of `make run`: redis-server with its data under .run/, october-worker and
# october-api, all on loopback. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=${OCTOBER_BIN_DIR:-build/release/bin}
api_port=${PORT:-8000}
worker_port=${WORKER_PORT:-8001}
redis_port=${REDIS_PORT:-6379}
run_dir=.run
mkdir -p "$run_dir/redis"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$api_port" "$worker_port" "$redis_port"; do
  if port_busy "$port"; then
    echo "run-local: port $port on 127.0.0.1 is already in use (set PORT=, WORKER_PORT= or REDIS_PORT=)" >&2
    exit 1
  fi
done

pids=()
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "run-local: stopped"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$PWD/$run_dir/redis" \
  --save 60 1 --appendonly no --logfile "$PWD/$run_dir/redis.log" &
pids+=($!)

export HOST=127.0.0.1
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:$redis_port/0}
export CELERY_RESULT_BACKEND=${CELERY_RESULT_BACKEND:-redis://127.0.0.1:$redis_port/1}
export SHUTDOWN_DRAIN_SECONDS=${SHUTDOWN_DRAIN_SECONDS:-0}
PORT="$worker_port" "$bin_dir/october-worker" &
pids+=($!)
PORT="$api_port" "$bin_dir/october-api" &
pids+=($!)

for _ in $(seq 50); do
  if curl -fs "http://127.0.0.1:$api_port/ready" >/dev/null 2>&1; then break; fi
  sleep 0.1
done
cat <<MSG
run-local: october-api     http://127.0.0.1:$api_port/  (try /healthz, /ready, /metrics, /openapi.json)
run-local: october-worker  http://127.0.0.1:$worker_port/metrics  (tasks: curl -X POST http://127.0.0.1:$api_port/tasks -d '{"name":"add","args":[1,2]}')
run-local: redis-server    redis://127.0.0.1:$redis_port  (data in $run_dir/redis, log in $run_dir/redis.log)
run-local: logs follow; Ctrl-C stops everything
MSG
wait -n "${pids[@]}"
echo "run-local: a process exited; stopping the rest" >&2
exit 1
