#!/usr/bin/env bash
# Image test: builds october-api and october-worker from the real Dockerfile with Podman, checks
# what the images hold (no shell, user 65532, ports, labels, health probe, size), runs them
# hardened (--read-only, --cap-drop=ALL, --user 65532) against a Redis container on loopback,
# runs scripts/smoke.sh against the api (its task round trip goes through the worker container),
# stops them gracefully, then brings up docker-compose.yml with podman-compose and smoke-tests
# that stack too. Containers, the compose stack and its volume are removed on exit or failure.
#
# Usage: tests/images/run.sh [--no-compose] [--tag TAG]
#   --no-compose  skip the docker-compose.yml phase
#   --tag TAG     tag of the images it builds and tests (default imagetest)
# Needs root (rootful Podman; without it, exits 77, which ctest reports as skipped) and Debian's
# mirror. scripts/bootstrap.sh installs Podman, runc, mmdebstrap and podman-compose;
# docker/standin-base-images.sh builds the base image stand-ins once (cached in Podman's storage
# and in .cache/images/).
# Traffic stays on loopback: the app containers use --network=host bound to 127.0.0.1 on free
# ports, the compose stack publishes on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."

compose=true
tag=imagetest
while (($#)); do
  case $1 in
    --no-compose) compose=false ;;
    --tag) tag=${2:?--tag needs a value}; shift ;;
    --tag=*) tag=${1#*=} ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "images: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

export CONTAINERS_CONF=$PWD/tests/images/containers.conf
# Without systemd, podman cannot arm or remove health-check timers and logs an error line each time
# a container with a HEALTHCHECK starts or stops: harmless here, filtered out so real errors show.
podman_quiet() {
  podman --runtime runc "$@" 2> >(grep -v 'systemd connection' >&2)
}
podman=(podman_quiet)
api_image=october-api:$tag
worker_image=october-worker:$tag
redis_image=docker.io/library/redis:7-bookworm
prefix=october-imagetest-$$
api_limit_mb=40
started=$SECONDS
compose_up=false
compose_project=${prefix//-/_}
redis_port='' worker_port='' api_port='' compose_api_port='' compose_worker_port=''

log() { echo "images: $*"; }
fail() {
  echo "images: FAIL: $*" >&2
  exit 1
}
phase() { echo "== images: $* (at $((SECONDS - started)) s)"; }

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0)); then
    for name in "$prefix-api" "$prefix-worker" "$prefix-redis"; do
      if "${podman[@]}" container exists "$name" 2>/dev/null; then
        echo "---- last log lines of $name" >&2
        "${podman[@]}" logs --tail 20 "$name" >&2 2>&1 || true
      fi
    done
  fi
  if $compose_up; then
    if ((rc != 0)); then
      for name in $("${podman[@]}" ps -a --filter "label=io.podman.compose.project=$compose_project" \
        --format '{{.Names}}' 2>/dev/null); do
        echo "---- last log lines of $name" >&2
        "${podman[@]}" logs --tail 20 "$name" >&2 2>&1 || true
      done
    fi
    compose_cmd down -v -t 5 >/dev/null 2>&1 || true
    "${podman[@]}" network rm -f "${compose_project}_default" >/dev/null 2>&1 || true
  fi
  "${podman[@]}" rm -f -v -t 5 "$prefix-api" "$prefix-worker" "$prefix-redis" >/dev/null 2>&1 || true
  if [[ -n ${probe_cid:-} ]]; then "${podman[@]}" rm -f "$probe_cid" >/dev/null 2>&1 || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port VAR: sets VAR to a TCP port nobody listens on at 127.0.0.1, distinct from those
# already handed out.
taken=" "
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 40000))
    [[ $taken == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      taken+="$port "
      printf -v "$1" '%s' "$port"
      return
    fi
  done
  fail "no free port found on 127.0.0.1"
}

wait_http() { # URL SECONDS: until it answers 200
  local deadline=$((SECONDS + $2))
  until curl -fsS --max-time 2 "$1" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000000 }'; }

# ---- tools and base images ---------------------------------------------------------------------
phase "tools"
if [[ $(id -u) -ne 0 ]]; then
  # ctest reports exit code 77 as "skipped" (SKIP_RETURN_CODE in tests/images/CMakeLists.txt).
  echo "images: SKIP: needs root (rootful Podman)" >&2
  exit 77
fi
for tool in podman runc mmdebstrap podman-compose curl; do
  command -v "$tool" >/dev/null || fail "$tool missing (scripts/bootstrap.sh installs it)"
done

phase "base image stand-ins"
t=$SECONDS
bash docker/standin-base-images.sh --with-redis
standin_seconds=$((SECONDS - t))

# ---- build -------------------------------------------------------------------------------------
phase "build $worker_image and $api_image from Dockerfile"
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
version=$(bash tests/images/build-test-images.sh --print-version)
t=$SECONDS
bash tests/images/build-test-images.sh "$tag"
build_seconds=$((SECONDS - t))

# ---- what the images hold ----------------------------------------------------------------------
phase "image contents and metadata"
declare -A size_bytes=() gzip_bytes=()
for pair in "api:$api_image:8000" "worker:$worker_image:8001"; do
  IFS=: read -r what image_name image_tag port <<<"$pair"
  image="$image_name:$image_tag"
  inspect() { "${podman[@]}" image inspect --format "$1" "$image"; }

  [[ $(inspect '{{.Config.User}}') == 65532:65532 ]] || fail "$image: user is '$(inspect '{{.Config.User}}')', not 65532:65532"
  [[ $(inspect '{{json .Config.ExposedPorts}}') == *"\"$port/tcp\""* ]] || fail "$image: does not EXPOSE $port"
  [[ $(inspect '{{json .Config.Entrypoint}}') == "[\"/usr/local/bin/october-$what\"]" ]] || fail "$image: entrypoint is $(inspect '{{json .Config.Entrypoint}}')"
  [[ $(inspect '{{json .Config.Healthcheck}}') == *october-healthcheck* ]] || fail "$image: no HEALTHCHECK running october-healthcheck"
  for label in source revision version created; do
    value=$(inspect "{{index .Config.Labels \"org.opencontainers.image.$label\"}}")
    [[ -n $value && $value != "<no value>" ]] || fail "$image: OCI label org.opencontainers.image.$label missing"
  done
  [[ $(inspect '{{index .Config.Labels "org.opencontainers.image.revision"}}') == "$revision" ]] || fail "$image: revision label is not $revision"
  [[ $(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}') == "$version" ]] || fail "$image: version label is not $version"

  # Every file in the image: no shell, no package manager, only october's binaries as programs.
  probe_cid=$("${podman[@]}" create --health-interval=disable "$image")
  files=$("${podman[@]}" export "$probe_cid" | tar -tvf -)
  "${podman[@]}" rm -f "$probe_cid" >/dev/null
  probe_cid=
  basenames=$(awk '{ n = split($6, part, "/"); print part[n] }' <<<"$files")
  if grep -Eqx 'sh|bash|dash|ash|busybox|apt|apt-get|dpkg|perl|python3?' <<<"$basenames"; then
    fail "$image: holds a shell, a package manager or an interpreter"
  fi
  programs=$(awk '$1 ~ /^-..x/ && $6 !~ /\.so/ { print $6 }' <<<"$files" | sort | tr '\n' ' ')
  expected=$(printf '%s\n' "usr/local/bin/october-$what" usr/local/bin/october-healthcheck | sort | tr '\n' ' ')
  [[ $programs == "$expected" ]] ||
    fail "$image: unexpected programs: $programs"
  if "${podman[@]}" run --rm --health-interval=disable --entrypoint /bin/sh "$image" -c true >/dev/null 2>&1; then
    fail "$image: /bin/sh ran"
  fi
  log "$image: no shell (/bin/sh does not start), programs: $programs"

  size_bytes[$what]=$(inspect '{{.Size}}')
  gzip_bytes[$what]=$("${podman[@]}" save --format docker-archive "$image" 2>/dev/null | gzip -6 | wc -c)
  log "$image: $(mb "${size_bytes[$what]}") MB, $(mb "${gzip_bytes[$what]}") MB gzipped," \
    "$(grep -c '\.so' <<<"$files") shared objects, labels ok, user 65532, EXPOSE $port"
done
((size_bytes[api] < api_limit_mb * 1000000)) ||
  fail "$api_image is $(mb "${size_bytes[api]}") MB, over the ${api_limit_mb} MB target"

# ---- run hardened on loopback ------------------------------------------------------------------
phase "run redis, worker and api containers on loopback"
free_port redis_port
free_port worker_port
free_port api_port
# No periodic health timer (it needs systemd, absent here); `podman healthcheck run` below runs the
# image's HEALTHCHECK on demand.
hardening=(--health-interval=disable --network=host --read-only --read-only-tmpfs=false --cap-drop=ALL --user 65532:65532
  --security-opt no-new-privileges)
app_env=(-e HOST=127.0.0.1 -e "CELERY_BROKER_URL=redis://127.0.0.1:$redis_port/0"
  -e "CELERY_RESULT_BACKEND=redis://127.0.0.1:$redis_port/1" -e LOG_LEVEL=info
  -e SHUTDOWN_DRAIN_SECONDS=0 -e SHUTDOWN_TIMEOUT_SECONDS=10)

"${podman[@]}" run -d --name "$prefix-redis" --network=host "$redis_image" \
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >/dev/null
for _ in $(seq 50); do
  [[ $("${podman[@]}" exec "$prefix-redis" redis-cli -p "$redis_port" ping 2>/dev/null) == PONG ]] && break
  sleep 0.2
done
[[ $("${podman[@]}" exec "$prefix-redis" redis-cli -p "$redis_port" ping) == PONG ]] || fail "redis container not answering"

t=$SECONDS
"${podman[@]}" run -d --name "$prefix-worker" "${hardening[@]}" "${app_env[@]}" \
  -e "PORT=$worker_port" "$worker_image" >/dev/null
"${podman[@]}" run -d --name "$prefix-api" "${hardening[@]}" "${app_env[@]}" \
  -e "PORT=$api_port" "$api_image" >/dev/null
wait_http "http://127.0.0.1:$worker_port/ready" 30 || fail "worker container not ready on 127.0.0.1:$worker_port"
wait_http "http://127.0.0.1:$api_port/ready" 30 || fail "api container not ready on 127.0.0.1:$api_port"
log "worker on 127.0.0.1:$worker_port and api on 127.0.0.1:$api_port ready in $((SECONDS - t)) s"

phase "hardening as running"
for what in api worker; do
  name=$prefix-$what
  pid=$("${podman[@]}" inspect --format '{{.State.Pid}}' "$name")
  [[ $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status") == 65532 ]] || fail "$name: not running as uid 65532"
  [[ $(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status") == 0000000000000000 ]] || fail "$name: has effective capabilities"
  [[ $(awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status") == 0000000000000000 ]] || fail "$name: capability bounding set not empty"
  [[ $(awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | cut -d, -f1) == ro ]] || fail "$name: root filesystem not read-only"
  [[ $(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$pid/status") == 1 ]] || fail "$name: no_new_privs not set"
  # The image's own HEALTHCHECK command, and the compose file's, run inside the container.
  "${podman[@]}" healthcheck run "$name" >/dev/null || fail "$name: image HEALTHCHECK reports unhealthy"
  "${podman[@]}" exec "$name" /usr/local/bin/october-healthcheck /ready || fail "$name: october-healthcheck /ready failed"
  log "$name: uid 65532, no capabilities, no_new_privs, read-only /, HEALTHCHECK healthy"
done

phase "smoke against the api container"
bash scripts/smoke.sh --retries 2 --delay 2 "127.0.0.1:$api_port"

phase "task round trip through the worker container"
body=$(curl -fsS --max-time 5 -X POST -H 'Content-Type: application/json' \
  --data '{"name":"fibonacci","args":[50]}' "http://127.0.0.1:$api_port/tasks")
[[ $body =~ \"task_id\":\"([A-Za-z0-9_-]+)\" ]] || fail "POST /tasks: $body"
task_id=${BASH_REMATCH[1]}
for _ in $(seq 50); do
  body=$(curl -fsS --max-time 5 "http://127.0.0.1:$api_port/tasks/$task_id")
  [[ $body == *'"SUCCESS"'* ]] && break
  sleep 0.2
done
[[ $body == *'"result":12586269025'* ]] || fail "fibonacci(50) task: $body"
metrics=$(curl -fsS --max-time 5 "http://127.0.0.1:$worker_port/metrics")
grep -Eq '^celery_tasks_total\{[^}]*task="fibonacci"[^}]*state="SUCCESS"[^}]*\} [1-9]' <<<"$metrics" ||
  grep -Eq '^celery_tasks_total\{[^}]*state="SUCCESS"[^}]*task="fibonacci"[^}]*\} [1-9]' <<<"$metrics" ||
  fail "the worker container's /metrics does not count the fibonacci task"
version_body=$(curl -fsS --max-time 5 "http://127.0.0.1:$api_port/version")
[[ $version_body == *"\"revision\":\"$revision\""* ]] || fail "/version does not report revision $revision: $version_body"
[[ $version_body == *"\"version\":\"$version\""* ]] || fail "/version does not report version $version (the label's): $version_body"
log "fibonacci(50) = 12586269025 ran in the worker container; /version reports $version, $revision"

phase "graceful stop (SIGTERM to PID 1)"
for what in api worker; do
  name=$prefix-$what
  t=$SECONDS
  "${podman[@]}" stop -t 25 "$name" >/dev/null
  code=$("${podman[@]}" inspect --format '{{.State.ExitCode}}' "$name")
  ((SECONDS - t < 20)) || fail "$name took $((SECONDS - t)) s to stop"
  [[ $code == 0 ]] || fail "$name exited $code after SIGTERM"
  log "$name stopped on SIGTERM in $((SECONDS - t)) s, exit 0"
done
"${podman[@]}" rm -f -v -t 5 "$prefix-api" "$prefix-worker" "$prefix-redis" >/dev/null

# ---- docker-compose.yml -------------------------------------------------------------------------
compose_cmd() {
  OCTOBER_TAG=$tag OCTOBER_API_PORT=$compose_api_port OCTOBER_WORKER_PORT=$compose_worker_port \
    SHUTDOWN_DRAIN_SECONDS=0 podman-compose -p "$compose_project" -f docker-compose.yml "$@"
}
if $compose; then
  phase "docker-compose.yml with podman-compose"
  free_port compose_api_port
  free_port compose_worker_port
  compose_up=true
  t=$SECONDS
  # Without systemd podman cannot arm health timers and says so on every container: hide that.
  compose_cmd up -d --no-build >/dev/null 2> >(grep -Ev 'systemd connection|no such volume' >&2)
  wait_http "http://127.0.0.1:$compose_api_port/ready" 60 || fail "compose api not ready on 127.0.0.1:$compose_api_port"
  log "compose stack ready in $((SECONDS - t)) s; api on 127.0.0.1:$compose_api_port"
  # podman-compose 1.0.3 wraps every healthcheck in /bin/sh -c, which these images do not have:
  # run the compose file's own test commands (exec form, as Docker runs them) ourselves.
  while read -r service cmd; do
    container=$("${podman[@]}" ps --filter "label=io.podman.compose.project=$compose_project" \
      --filter "label=com.docker.compose.service=$service" --format '{{.Names}}' | head -n1)
    [[ -n $container ]] || fail "compose service $service has no running container"
    read -r -a argv <<<"$cmd"
    "${podman[@]}" exec "$container" "${argv[@]}" >/dev/null || fail "compose healthcheck of $service failed: $cmd"
    log "compose healthcheck of $service passes: $cmd"
  done < <(/usr/bin/python3 - <<'PY'
import yaml
with open("docker-compose.yml") as f:
    services = yaml.safe_load(f)["services"]
for name, svc in services.items():
    test = svc["healthcheck"]["test"]
    assert test[0] == "CMD", (name, test)
    print(name, " ".join(test[1:]))
PY
  )
  bash scripts/smoke.sh --retries 3 --delay 2 "127.0.0.1:$compose_api_port"
  volume=$("${podman[@]}" volume ls --format '{{.Name}}' | grep -E "^${compose_project}_redis-data$" || true)
  [[ -n $volume ]] || fail "compose Redis volume ${compose_project}_redis-data not created"
  compose_cmd down -v -t 10 >/dev/null 2>&1
  "${podman[@]}" network rm -f "${compose_project}_default" >/dev/null
  compose_up=false
  if "${podman[@]}" volume exists "$volume"; then fail "compose down -v left $volume"; fi
  log "compose stack smoke-tested, taken down with its volume"
fi

phase "done"
cat <<SUMMARY
images: PASS
images: $api_image    $(mb "${size_bytes[api]}") MB ($(mb "${gzip_bytes[api]}") MB gzipped)
images: $worker_image $(mb "${size_bytes[worker]}") MB ($(mb "${gzip_bytes[worker]}") MB gzipped)
images: base image stand-ins ${standin_seconds} s, image build ${build_seconds} s, total $((SECONDS - started)) s
SUMMARY
