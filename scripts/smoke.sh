#!/usr/bin/env bash
# Smoke checks of a running october-api (and, through its task round trip, october-worker).
#
# Usage: scripts/smoke.sh [--retries N] [--delay S] [--timeout S] [--task-timeout S] HOST_OR_URL
#   HOST_OR_URL     api.example.com, localhost:8080, http://127.0.0.1:8000 or https://host/prefix;
#                   without a scheme it means http://HOST
#   --retries N     after a failed pass, run the whole check list again up to N times (default 0),
#                   for a deployment that is still rolling out
#   --delay S       seconds between passes (default 5)
#   --timeout S     per-request limit, curl --max-time (default 10)
#   --task-timeout S  how long the task round trip may take to reach SUCCESS (default 30)
#
# Checks, each printed as a PASS or FAIL line:
#   healthz  GET /healthz is 200 {"status":"ok"}
#   ready    GET /ready is 200
#   metrics  GET /metrics contains http_requests_total
#   prime    GET /compute/prime?n=100 has prime_number 541
#   task     POST /tasks {"name":"add","args":[2,3]} is 202 with a task_id, and GET /tasks/{id}
#            reaches SUCCESS with result 5
# Exit 0 when all pass; 1 naming the first failing check; 2 on bad usage.
# Needs only bash, curl and grep.
set -euo pipefail

retries=0
delay=5
timeout=10
task_timeout=30
target=

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
}
die_usage() {
  echo "smoke: $1" >&2
  usage >&2
  exit 2
}
is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }

while (($#)); do
  case $1 in
    --retries | --delay | --timeout | --task-timeout)
      (($# >= 2)) || die_usage "$1 needs a value"
      opt=$1 value=$2
      shift
      ;;
    --retries=* | --delay=* | --timeout=* | --task-timeout=*)
      opt=${1%%=*} value=${1#*=}
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die_usage "unknown option '$1'" ;;
    *)
      [[ -z $target ]] || die_usage "only one HOST_OR_URL, got '$target' and '$1'"
      target=$1
      shift
      continue
      ;;
  esac
  is_number "$value" || die_usage "$opt needs a number, got '$value'"
  case $opt in
    --retries)
      [[ $value =~ ^[0-9]+$ ]] || die_usage "--retries needs a whole number, got '$value'"
      retries=$value
      ;;
    --delay) delay=$value ;;
    --timeout) timeout=$value ;;
    --task-timeout) task_timeout=$value ;;
  esac
  shift
done
[[ -n $target ]] || die_usage "missing HOST_OR_URL"

base=$target
[[ $base == *://* ]] || base="http://$base"
base=${base%/}

request_id="smoke-$$-$RANDOM"
status=
body=

# http METHOD PATH [JSON_BODY]: sets $status (000 when no answer) and $body.
http() {
  local out args=(-sS --max-time "$timeout" -X "$1" -H "X-Request-ID: $request_id"
    -H "User-Agent: october-smoke" -w '\n%{http_code}')
  if (($# > 2)); then
    args+=(-H "Content-Type: application/json" --data-binary "$3")
  fi
  if ! out=$(curl "${args[@]}" "$base$2" 2>&1); then
    status=000
    body="no answer ($(grep -m1 '^curl:' <<<"$out" || echo "curl failed"))"
    return 0
  fi
  status=${out##*$'\n'}
  body=${out%$'\n'*}
}

pass() { echo "PASS $1: $2"; }
fail() {
  echo "FAIL $1: $2"
  failed=$1
}
# First 200 characters of the body on one line, for FAIL messages.
excerpt() {
  local text=${body//$'\n'/ }
  echo "${text:0:200}"
}

check_healthz() {
  http GET /healthz
  if [[ $status == 200 && $body =~ \"status\"[[:space:]]*:[[:space:]]*\"ok\" ]]; then
    pass healthz "GET /healthz 200 $(excerpt)"
  else
    fail healthz "GET /healthz: expected 200 {\"status\":\"ok\"}, got $status $(excerpt)"
  fi
}

check_ready() {
  http GET /ready
  if [[ $status == 200 ]]; then
    pass ready "GET /ready 200 $(excerpt)"
  else
    fail ready "GET /ready: expected 200, got $status $(excerpt)"
  fi
}

check_metrics() {
  http GET /metrics
  if [[ $status == 200 ]] && grep -q '^http_requests_total' <<<"$body"; then
    pass metrics "GET /metrics 200 with http_requests_total"
  else
    fail metrics "GET /metrics: expected 200 containing http_requests_total, got $status $(excerpt)"
  fi
}

check_prime() {
  http GET '/compute/prime?n=100'
  if [[ $status == 200 && $body =~ \"prime_number\"[[:space:]]*:[[:space:]]*541([^0-9]|$) ]]; then
    pass prime "GET /compute/prime?n=100 200 prime_number 541"
  else
    fail prime "GET /compute/prime?n=100: expected 200 with prime_number 541, got $status $(excerpt)"
  fi
}

check_task() {
  http POST /tasks '{"name":"add","args":[2,3]}'
  if [[ $status != 202 || ! $body =~ \"task_id\"[[:space:]]*:[[:space:]]*\"([A-Za-z0-9_-]+)\" ]]; then
    fail task "POST /tasks add(2,3): expected 202 with a task_id, got $status $(excerpt)"
    return
  fi
  local id=${BASH_REMATCH[1]} state=none start=$SECONDS
  while true; do
    http GET "/tasks/$id"
    if [[ $status == 200 && $body =~ \"status\"[[:space:]]*:[[:space:]]*\"([A-Z_]+)\" ]]; then
      state=${BASH_REMATCH[1]}
    fi
    case $state in
      SUCCESS)
        if [[ $body =~ \"result\"[[:space:]]*:[[:space:]]*5(\.0+)?([^0-9.]|$) ]]; then
          pass task "add(2,3) = 5 via task $id in $((SECONDS - start)) s"
        else
          fail task "task $id: SUCCESS but result is not 5: $(excerpt)"
        fi
        return
        ;;
      FAILURE | REVOKED)
        fail task "task $id ended $state: $(excerpt)"
        return
        ;;
    esac
    # Bash has no float arithmetic: compare whole seconds.
    if ((SECONDS - start >= ${task_timeout%.*})); then
      fail task "task $id not SUCCESS within ${task_timeout} s (last: $status, state $state) $(excerpt)"
      return
    fi
    sleep 0.5
  done
}

checks=(healthz ready metrics prime task)
attempt=0
while true; do
  attempt=$((attempt + 1))
  failed=
  echo "smoke: $base (pass $attempt of $((retries + 1)))"
  for check in "${checks[@]}"; do
    "check_$check"
    [[ -z $failed ]] || break
  done
  if [[ -z $failed ]]; then
    echo "smoke: all ${#checks[@]} checks passed against $base"
    exit 0
  fi
  if ((attempt > retries)); then
    echo "smoke: FAILED at check '$failed' against $base" >&2
    exit 1
  fi
  echo "smoke: check '$failed' failed; next pass in ${delay} s"
  sleep "$delay"
done
