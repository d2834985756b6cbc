#!/bin/sh
# October smoke checks, run in the cluster by `helm test` (POSIX sh and curl: the api image has no
# shell). API_URL is the api Service's base URL. Each check prints "ok <name>"; the first failing
# one prints "FAIL <name>: <why>" and exits 1.
set -u
api=${API_URL:?API_URL is not set}
nl='
'

fail() {
  echo "FAIL $1: $2" >&2
  exit 1
}

# request METHOD PATH [JSON]: sets $status and $body. Connection errors and 5xx are retried a few
# times, so a pod that just became ready does not fail the test.
request() {
  if [ $# -ge 3 ]; then
    out=$(curl -sS --max-time 10 --retry 5 --retry-delay 2 --retry-connrefused -X "$1" \
      -H 'Content-Type: application/json' --data "$3" -w "$nl%{http_code}" "$api$2") || out="${nl}000"
  else
    out=$(curl -sS --max-time 10 --retry 5 --retry-delay 2 --retry-connrefused -X "$1" \
      -w "$nl%{http_code}" "$api$2") || out="${nl}000"
  fi
  status=${out##*"$nl"}
  body=${out%"$nl"*}
}

# expect NAME STATUS TEXT: the last request answered STATUS with TEXT in its body.
expect() {
  [ "$status" = "$2" ] || fail "$1" "status $status, want $2: $(printf '%s' "$body" | head -c 300)"
  case $body in
    *"$3"*) ;;
    *) fail "$1" "body lacks $3: $(printf '%s' "$body" | head -c 300)" ;;
  esac
  echo "ok   $1"
}

# number KEY: the number the last body holds under KEY (compact JSON, as the api writes it).
number() {
  printf '%s' "$body" | sed -n "s/.*\"$1\":\(-\{0,1\}[0-9][0-9.eE+-]*\).*/\1/p"
}

request GET /healthz
expect healthz 200 '"status":"ok"'

request GET /ready
expect ready 200 '"ready":true'

request GET /metrics
expect metrics 200 'http_requests_total{'

request GET '/compute/prime?n=100'
expect prime 200 '"prime_number":'
[ "$(number prime_number)" = 541 ] || fail prime "the 100th prime is 541, got: $body"

request POST /tasks '{"name":"add","args":[2,3]}'
expect task-submit 202 '"task_id":"'
id=$(printf '%s' "$body" | sed -n 's/.*"task_id":"\([A-Za-z0-9_-]*\)".*/\1/p')
[ -n "$id" ] || fail task-submit "no task_id in $body"
tries=0
while :; do
  request GET "/tasks/$id"
  case $body in
    *'"status":"SUCCESS"'*) break ;;
    *'"status":"FAILURE"'* | *'"status":"REVOKED"'*) fail task-result "task $id failed: $body" ;;
  esac
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || fail task-result "task $id not done after 30 s: $body"
  sleep 1
done
expect task-result 200 '"result":'
[ "$(number result)" = 5 ] || fail task-result "add(2, 3) should be 5, got: $body"

echo "all smoke checks passed against $api"
