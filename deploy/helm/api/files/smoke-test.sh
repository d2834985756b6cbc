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

# request METHOD PATH [CURL ARGS...]: sets $status and $body. Connection errors and 5xx are
# retried a few times, so a pod that just became ready does not fail the test.
request() {
  method=$1
  path=$2
  shift 2
  out=$(curl -sS --max-time 10 --retry 5 --retry-delay 2 --retry-connrefused -X "$method" "$@" \
    -w "$nl%{http_code}" "$api$path") || out="${nl}000"
  status=${out##*"$nl"}
  body=${out%"$nl"*}
}

# post_json PATH JSON [CURL ARGS...]
post_json() {
  path=$1
  json=$2
  shift 2
  request POST "$path" -H 'Content-Type: application/json' --data "$json" "$@"
}

# enabled NAME FLAG: true when FLAG is "true"; otherwise says the check is skipped and why.
enabled() {
  [ "$2" = true ] && return 0
  echo "skip $1: turned off (tests.checks.$1, or api.jwt.enabled for token)"
  return 1
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

post_json /tasks '{"name":"add","args":[2,3]}'
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

# /cache on Redis: a value written is read back unchanged, then deleted.
if enabled cache "${CHECK_CACHE:-true}"; then
  key="helm-test-$(date +%s)-$$"
  value="october helm test $key"
  request PUT "/cache/$key" -H 'Content-Type: text/plain' --data-binary "$value"
  case $status in
    2??) echo "ok   cache-put" ;;
    *) fail cache-put "PUT /cache/$key answered $status, want 2xx: $(printf '%s' "$body" | head -c 300)" ;;
  esac
  request GET "/cache/$key"
  [ "$status" = 200 ] || fail cache-get "GET /cache/$key answered $status, want 200: $(printf '%s' "$body" | head -c 300)"
  [ "$body" = "$value" ] || fail cache-get "GET /cache/$key gave '$(printf '%s' "$body" | head -c 300)', want '$value'"
  echo "ok   cache-get"
  request DELETE "/cache/$key"
  case $status in
    2??) echo "ok   cache-delete" ;;
    *) fail cache-delete "DELETE /cache/$key answered $status, want 2xx: $(printf '%s' "$body" | head -c 300)" ;;
  esac
fi

# /token: a token issued for a subject validates; the same token with its signature changed does not.
if enabled token "${CHECK_TOKEN:-false}"; then
  post_json /token '{"sub":"helm-test"}'
  case $status in
    200 | 201) ;;
    *) fail token "POST /token answered $status, want 200: $(printf '%s' "$body" | head -c 300)" ;;
  esac
  token=$(printf '%s' "$body" | sed -n 's/.*"token":"\([A-Za-z0-9_.-]*\)".*/\1/p')
  case $token in
    *.*.*) echo "ok   token" ;;
    *) fail token "no JWT (header.payload.signature) under \"token\" in: $(printf '%s' "$body" | head -c 300)" ;;
  esac
  request POST /token/validate -H "Authorization: Bearer $token"
  [ "$status" = 200 ] || fail token-validate "POST /token/validate answered $status, want 200: $(printf '%s' "$body" | head -c 300)"
  echo "ok   token-validate"
  # Flip the signature's first character: a validator that does not check it would say 200.
  signature=${token##*.}
  case $signature in
    A*) forged="${token%.*}.B${signature#?}" ;;
    *) forged="${token%.*}.A${signature#?}" ;;
  esac
  request POST /token/validate -H "Authorization: Bearer $forged"
  case $status in
    4??) echo "ok   token-forged" ;;
    *) fail token-forged "POST /token/validate took a token with a changed signature: $status, want 401" ;;
  esac
fi

echo "all smoke checks passed against $api"
