#!/usr/bin/env bash
# october-api HTTP benchmark against nginx and the Python original, in one run (DESIGN section 11).
#
#   bash bench/run.sh            # or: make bench
#
# Environment:
#   OCTOBER_API_BIN     api binary (default build/release/bin/october-api under the repository)
#   BENCH_DURATION      seconds of each wrk throughput measurement (default 6)
#   BENCH_WARMUP        seconds of wrk warm-up before each measurement (default 2)
#   BENCH_ROUNDS        throughput rounds, servers interleaved; the best round counts (default 3)
#   BENCH_CONNECTIONS   wrk keep-alive connections for throughput (default 64)
#   BENCH_SERVER_CPUS   comma-separated CPUs for the servers under test (default 0)
#   BENCH_WRK_CPUS      comma-separated CPUs for wrk (default 1)
#   BENCH_STRICT=1      exit 1 when a target is missed (default: report only)
#
# Everything listens on 127.0.0.1 only, on free ports, and is stopped on exit, failure or Ctrl-C.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
API_BIN=${OCTOBER_API_BIN:-$ROOT/build/release/bin/october-api}
DURATION=${BENCH_DURATION:-6}
WARMUP=${BENCH_WARMUP:-2}
ROUNDS=${BENCH_ROUNDS:-3}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
STRICT=${BENCH_STRICT:-0}
PYTHON=/usr/bin/python3
NGINX=/usr/sbin/nginx

# Targets (DESIGN section 11).
TARGET_VS_NGINX=0.60
TARGET_VS_PYTHON=50
TARGET_P99_LOADED_MS=5
TARGET_PRIME_MS=5
TARGET_RSS_MIB=10
TARGET_READY_MS=100

# Under-load scenario.
SLOW_REQUESTS=100
SLOW_DELAY=5
BURN_SECONDS=3
LOADED_WRK_SECONDS=3
LOADED_WRK_CONNECTIONS=8
PROBE_RATE=200

say() { printf '%s\n' "$*"; }
note() { printf 'bench: %s\n' "$*" >&2; }
die() {
    note "error: $*"
    exit 1
}

for tool in wrk curl taskset redis-server "$NGINX"; do
    command -v "$tool" >/dev/null || die "$tool not found (Debian packages: wrk curl util-linux redis-server nginx-light)"
done
[[ -x $API_BIN ]] || die "api binary $API_BIN not found or not executable (build it first, or set OCTOBER_API_BIN)"
[[ -x $PYTHON ]] || die "$PYTHON not found"

NPROC=$(nproc)
if [[ -z ${BENCH_SERVER_CPUS:-} && -z ${BENCH_WRK_CPUS:-} && $NPROC -lt 2 ]]; then
    note "one CPU only: servers and wrk share it, ratios still compare like with like"
    SERVER_CPUS=0
    WRK_CPUS=0
else
    SERVER_CPUS=${BENCH_SERVER_CPUS:-0}
    WRK_CPUS=${BENCH_WRK_CPUS:-1}
fi
IFS=, read -r -a server_cpu_list <<<"$SERVER_CPUS"
IFS=, read -r -a wrk_cpu_list <<<"$WRK_CPUS"
SERVER_THREADS=${#server_cpu_list[@]}
WRK_THREADS=${#wrk_cpu_list[@]}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/october-bench.XXXXXX")
declare -A LIVE=() # pid -> name of every process this script started and has not stopped yet

# Stops one process we started: SIGTERM, then SIGKILL after 10 s; reaps it.
stop_pid() {
    local pid=$1 state i
    [[ -n ${LIVE[$pid]:-} ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        [[ -r /proc/$pid/stat ]] || break
        read -r _ _ state _ <"/proc/$pid/stat" 2>/dev/null || break
        [[ $state == Z ]] && break
        read -r -t 0.05 -u "$TICK" _ || true
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "LIVE[$pid]"
}

cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${!LIVE[@]}"; do
        stop_pid "$pid"
    done
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A FIFO held open read-write: `read -t` on it is a fork-free sleep.
mkfifo "$TMP/tick"
exec {TICK}<>"$TMP/tick"
pause() { read -r -t "$1" -u "$TICK" _ || true; }

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME CPUS COMMAND...: runs COMMAND in the background (pinned to CPUS unless "-"),
# output to $TMP/NAME.log; sets STARTED_PID.
start() {
    local name=$1 cpus=$2
    shift 2
    if [[ $cpus == - ]]; then
        "$@" >"$TMP/$name.log" 2>&1 &
    else
        taskset -c "$cpus" "$@" >"$TMP/$name.log" 2>&1 &
    fi
    STARTED_PID=$!
    LIVE[$STARTED_PID]=$name
}

# wait_http PID NAME URL: until URL answers 200 (20 s at most), or the process died.
wait_http() {
    local pid=$1 name=$2 url=$3 i
    for ((i = 0; i < 1000; i++)); do
        if curl -fs -o /dev/null --max-time 1 "$url"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$TMP/$name.log" >&2 || true
            die "$name exited before $url answered 200"
        fi
        pause 0.02
    done
    tail -n 20 "$TMP/$name.log" >&2 || true
    die "$url never answered 200"
}

api_env=(
    HOST=127.0.0.1
    SHUTDOWN_DRAIN_SECONDS=0
    SHUTDOWN_TIMEOUT_SECONDS=2
)

# start_api NAME CPUS PORT [VAR=VALUE...]
start_api() {
    local name=$1 cpus=$2 port=$3
    shift 3
    start "$name" "$cpus" env "${api_env[@]}" PORT="$port" LOG_LEVEL=warning "$@" "$API_BIN"
}

# Milliseconds from a wrk latency figure (850.00us, 1.23ms, 2.01s, 1.00m).
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
        if (f < 0) { print "nan"; exit }
        printf "%.3f", n * f
    }'
}

# run_wrk OUT CPUS THREADS CONNECTIONS SECONDS URL: wrk output in OUT; sets WRK_RATE (req/s),
# WRK_P50 and WRK_P99 (ms).
run_wrk() {
    local out=$1 cpus=$2 threads=$3 connections=$4 seconds=$5 url=$6 p50 p99
    local -a cmd=(wrk "-t$threads" "-c$connections" "-d${seconds}s" --latency "$url")
    if [[ $cpus != - ]]; then
        cmd=(taskset -c "$cpus" "${cmd[@]}")
    fi
    "${cmd[@]}" >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
    WRK_RATE=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2; exit }' "$out")
    p99=$(awk '$1 == "99%" { print $2; exit }' "$out")
    [[ -n $WRK_RATE && -n $p50 && -n $p99 ]] || die "cannot parse wrk output: $(cat "$out")"
    WRK_P50=$(to_ms "$p50")
    WRK_P99=$(to_ms "$p99")
    if grep -qE 'Non-2xx|Socket errors' "$out"; then
        note "wrk on $url reported errors: $(grep -E 'Non-2xx|Socket errors' "$out" | tr -s ' ' | paste -sd';')"
    fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = int((NR + 1) / 2); print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# One GET /ready over a fork-free bash socket: succeeds on a 200.
ready_200() {
    local line
    {
        printf 'GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3 &&
            IFS= read -r -t 1 line <&3
    } 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    [[ $line == "HTTP/1.1 200"* ]]
}

# json_field NAME: the scalar value of "NAME" in the JSON on stdin, one line.
json_field() {
    local body pattern="\"$1\":([^,}]*)"
    body=$(cat)
    if [[ $body =~ $pattern ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
    fi
}

# CPU time stolen by the hypervisor during the run: a sign of a shared, noisy machine.
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9 }' /proc/stat; }
started_at=$EPOCHREALTIME
load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
read -r total_at_start steal_at_start < <(cpu_jiffies)
note "api binary: $API_BIN"
note "temp dir: $TMP"

# ---------------------------------------------------------------------------------------------
# Redis for the api's readiness (no persistence).
redis_port=$(free_port)
start redis - redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --dir "$TMP" --daemonize no
redis_pid=$STARTED_PID
for ((i = 0; i < 500; i++)); do
    redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1 && break
    kill -0 "$redis_pid" 2>/dev/null || die "redis-server exited: $(tail -n 5 "$TMP/redis.log")"
    pause 0.02
done
api_env+=(
    "CELERY_BROKER_URL=redis://127.0.0.1:$redis_port/0"
    "CELERY_RESULT_BACKEND=redis://127.0.0.1:$redis_port/1"
)

# ---------------------------------------------------------------------------------------------
# Throughput: the same cores for every server, wrk on its own cores.
names=()
declare -A url=() server_pid=()

port=$(free_port)
start_api api "$SERVER_CPUS" "$port" IO_THREADS="$SERVER_THREADS" COMPUTE_THREADS="$SERVER_THREADS"
server_pid[api]=$STARTED_PID
wait_http "$STARTED_PID" api "http://127.0.0.1:$port/ready"
names+=(api)
url[api]="http://127.0.0.1:$port/healthz"

port=$(free_port)
start_api api_info "$SERVER_CPUS" "$port" IO_THREADS="$SERVER_THREADS" COMPUTE_THREADS="$SERVER_THREADS" LOG_LEVEL=info
server_pid[api_info]=$STARTED_PID
wait_http "$STARTED_PID" api_info "http://127.0.0.1:$port/ready"
names+=(api_info)
url[api_info]="http://127.0.0.1:$port/healthz"

port=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes $SERVER_THREADS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    server {
        listen 127.0.0.1:$port;
        location = /healthz {
            default_type application/json;
            return 200 '{"status":"ok"}';
        }
    }
}
EOF
start nginx "$SERVER_CPUS" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log"
server_pid[nginx]=$STARTED_PID
wait_http "$STARTED_PID" nginx "http://127.0.0.1:$port/healthz"
names+=(nginx)
url[nginx]="http://127.0.0.1:$port/healthz"

has_python=0
if "$PYTHON" -c 'import fastapi, uvicorn' 2>/dev/null; then
    has_python=1
    python_port=$(free_port)
    uvicorn_workers=()
    if ((SERVER_THREADS > 1)); then
        uvicorn_workers=(--workers "$SERVER_THREADS")
    fi
    start python "$SERVER_CPUS" "$PYTHON" -m uvicorn --app-dir "$ROOT/bench" baseline_app:app \
        --host 127.0.0.1 --port "$python_port" --log-level warning --no-access-log \
        "${uvicorn_workers[@]}"
    server_pid[python]=$STARTED_PID
    wait_http "$STARTED_PID" python "http://127.0.0.1:$python_port/healthz"
    names+=(python)
    url[python]="http://127.0.0.1:$python_port/healthz"
else
    note "python3-fastapi / python3-uvicorn not installed: no Python baseline"
fi

declare -A label=(
    [api]="october-api (LOG_LEVEL=warning)"
    [api_info]="october-api (LOG_LEVEL=info)"
    [nginx]="nginx, fixed 200"
    [python]="FastAPI + uvicorn (Python)"
)
declare -A best_rate=() best_p50=() best_p99=() all_rates=()
for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${names[@]}"; do
        note "round $round/$ROUNDS: ${label[$name]}"
        if ((WARMUP > 0)); then
            run_wrk "$TMP/wrk-warmup.txt" "$WRK_CPUS" "$WRK_THREADS" "$CONNECTIONS" "$WARMUP" "${url[$name]}"
        fi
        run_wrk "$TMP/wrk-$name-$round.txt" "$WRK_CPUS" "$WRK_THREADS" "$CONNECTIONS" "$DURATION" "${url[$name]}"
        rate=$WRK_RATE p50=$WRK_P50 p99=$WRK_P99
        all_rates[$name]="${all_rates[$name]:-}${all_rates[$name]:+ }$(calc %.0f "$rate")"
        if [[ -z ${best_rate[$name]:-} ]] || awk -v a="$rate" -v b="${best_rate[$name]}" 'BEGIN { exit !(a > b) }'; then
            best_rate[$name]=$rate
            best_p50[$name]=$p50
            best_p99[$name]=$p99
        fi
    done
done

api_rate=${best_rate[api]}
ratio_nginx=$(calc %.3f "$api_rate / ${best_rate[nginx]}")
ratio_python=nan
if ((has_python)); then
    ratio_python=$(calc %.1f "$api_rate / ${best_rate[python]}")
fi

# Python reference for /compute/prime, on the same core (n=1000000 would take minutes there).
python_prime_ms=nan
python_prime_n=10000
if ((has_python)); then
    for ((i = 0; i < 3; i++)); do
        curl -fs "http://127.0.0.1:$python_port/compute/prime?n=$python_prime_n" | json_field duration_seconds
    done | median >"$TMP/python-prime"
    python_prime_ms=$(calc %.2f "$(cat "$TMP/python-prime") * 1000")
fi
for name in "${names[@]}"; do
    stop_pid "${server_pid[$name]}"
done

# ---------------------------------------------------------------------------------------------
# Default configuration (all cores, nothing pinned): idle RSS, prime, /healthz p99 under load.
port=$(free_port)
base="http://127.0.0.1:$port"
start_api api_default - "$port"
api_pid=$STARTED_PID
wait_http "$api_pid" api_default "$base/ready"
pause 1
rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$api_pid/status")
idle_rss_mib=$(calc %.1f "$rss_kib / 1024")
info=$(curl -fs "$base/")
compute_threads=$(json_field compute_threads <<<"$info")
io_threads_default=$NPROC

curl -fs -o /dev/null "$base/compute/prime?n=1000000" # first call: page faults, caches
: >"$TMP/prime-server"
: >"$TMP/prime-client"
for ((i = 0; i < 20; i++)); do
    out=$(curl -fs -w '\n%{time_total}\n' "$base/compute/prime?n=1000000")
    json_field duration_seconds <<<"$out" >>"$TMP/prime-server"
    tail -n 1 <<<"$out" >>"$TMP/prime-client"
done
prime_server_ms=$(calc %.3f "$(median <"$TMP/prime-server") * 1000")
prime_client_ms=$(calc %.3f "$(median <"$TMP/prime-client") * 1000")
prime_number=$(curl -fs "$base/compute/prime?n=1000000" | json_field prime_number)
api_prime_small_ms=$(for ((i = 0; i < 5; i++)); do
    curl -fs "$base/compute/prime?n=$python_prime_n" | json_field duration_seconds
done | median)
api_prime_small_ms=$(calc %.3f "$api_prime_small_ms * 1000")

# /healthz latency, idle and under load, seen by two clients: wrk (closed loop, saturating: it
# measures the whole 2-core box, wrk included) and a paced prober (one keep-alive connection,
# PROBE_RATE requests/s, like a load balancer's or kubelet's probe, only denser).
cat >"$TMP/load.py" <<'PY'
import sys
import threading
import urllib.error
import urllib.request

base, slow, delay, burns, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
results = []


def get(path):
    name = path.split("?")[0]
    try:
        with urllib.request.urlopen(base + path, timeout=60) as response:
            results.append((name, response.status))
    except urllib.error.HTTPError as error:
        results.append((name, error.code))
    except OSError as error:
        results.append((name, type(error).__name__))


threads = [threading.Thread(target=get, args=(f"/slow?delay={delay}",)) for _ in range(slow)]
threads += [threading.Thread(target=get, args=(f"/burn?seconds={seconds}",)) for _ in range(burns)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
for path in ("/slow", "/burn"):
    codes = {}
    for name, code in results:
        if name == path:
            codes[code] = codes.get(code, 0) + 1
    print(path, " ".join(f"{code}x{count}" for code, count in sorted(codes.items(), key=str)))
PY
cat >"$TMP/probe.py" <<'PY'
import socket
import sys
import time

port, seconds, rate = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
latencies = []
with socket.create_connection(("127.0.0.1", port)) as sock:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    due = time.perf_counter()
    end = due + seconds
    while due < end:
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        started = time.perf_counter()
        sock.sendall(request)
        answer = b""
        while not (b"\r\n\r\n" in answer and answer.endswith(b"}")):
            chunk = sock.recv(4096)
            if not chunk:
                sys.exit("probe: connection closed")
            answer += chunk
        if not answer.startswith(b"HTTP/1.1 200"):
            sys.exit("probe: " + answer.split(b"\r\n")[0].decode())
        latencies.append((time.perf_counter() - started) * 1000)
        due += 1 / rate
latencies.sort()
n = len(latencies)
print(f"{latencies[(n - 1) // 2]:.3f} {latencies[max(0, -(-99 * n // 100) - 1)]:.3f} {latencies[-1]:.3f} {n}")
PY

# probe_healthz wrk|probe: sets LAT_P50, LAT_P99 (ms) and LAT_EXTRA.
probe_healthz() {
    if [[ $1 == wrk ]]; then
        run_wrk "$TMP/wrk-$2.txt" - 1 "$LOADED_WRK_CONNECTIONS" "$LOADED_WRK_SECONDS" "$base/healthz"
        LAT_P50=$WRK_P50 LAT_P99=$WRK_P99 LAT_EXTRA="$(calc %.0f "$WRK_RATE") req/s"
    else
        local out max n
        out=$("$PYTHON" "$TMP/probe.py" "$port" "$LOADED_WRK_SECONDS" "$PROBE_RATE") || die "probe failed"
        read -r LAT_P50 LAT_P99 max n <<<"$out"
        LAT_EXTRA="max $max ms, $n requests"
    fi
}

burns=$((2 * compute_threads))
declare -A lat_idle=() lat_loaded=() load_seen=() loaded_p99=()
for client in wrk probe; do
    probe_healthz "$client" idle
    lat_idle[$client]="p50 $LAT_P50 ms, p99 $LAT_P99 ms ($LAT_EXTRA)"

    start load - "$PYTHON" "$TMP/load.py" "$base" "$SLOW_REQUESTS" "$SLOW_DELAY" "$burns" "$BURN_SECONDS"
    load_pid=$STARTED_PID
    for ((i = 0; i < 200; i++)); do
        in_flight=$(curl -fs "$base/" | json_field requests_in_flight)
        ((${in_flight:-0} > SLOW_REQUESTS + compute_threads)) && break
        pause 0.01
    done
    before=$(curl -fs "$base/")
    probe_healthz "$client" loaded
    after=$(curl -fs "$base/")
    lat_loaded[$client]="p50 $LAT_P50 ms, p99 $LAT_P99 ms ($LAT_EXTRA)"
    loaded_p99[$client]=$LAT_P99
    wait "$load_pid" || true
    unset "LIVE[$load_pid]"
    load_seen[$client]="in flight before/after: $(json_field requests_in_flight <<<"$before")/$(json_field requests_in_flight <<<"$after") requests, compute queue depth $(json_field compute_queue_depth <<<"$before")/$(json_field compute_queue_depth <<<"$after"); results: $(paste -sd';' "$TMP/load.log")"
done
rss_after_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$api_pid/status")
stop_pid "$api_pid"

# ---------------------------------------------------------------------------------------------
# Start to ready: exec to the first 200 on /ready, polled every 2 ms over a bash socket.
ready_ms=()
for ((run = 0; run < 5; run++)); do
    port=$(free_port)
    t0=$EPOCHREALTIME
    env "${api_env[@]}" PORT="$port" LOG_LEVEL=warning "$API_BIN" >"$TMP/api_start.log" 2>&1 &
    pid=$!
    LIVE[$pid]=api_start
    ok=0
    for ((i = 0; i < 10000; i++)); do
        if ready_200 "$port"; then
            ok=1
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        pause 0.002
    done
    t1=$EPOCHREALTIME
    ((ok)) || die "api never became ready: $(tail -n 5 "$TMP/api_start.log")"
    ready_ms+=("$(calc %.1f "($t1 - $t0) * 1000")")
    stop_pid "$pid"
done
ready_median=$(printf '%s\n' "${ready_ms[@]}" | median)

# ---------------------------------------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
elapsed=$(calc %.0f "$EPOCHREALTIME - $started_at")
read -r total_at_end steal_at_end < <(cpu_jiffies)
steal=$(calc %.1f "100 * ($steal_at_end - $steal_at_start) / ($total_at_end - $total_at_start + 1)")
say ""
say "october-api benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $NPROC CPUs ($cpu_model), load average $load_at_start at start, ${steal}% CPU steal during the run"
say ""
say "/healthz keep-alive throughput: wrk -t$WRK_THREADS -c$CONNECTIONS -d${DURATION}s --latency (after ${WARMUP}s warm-up)"
say "servers on CPU $SERVER_CPUS (api IO_THREADS=$SERVER_THREADS, nginx worker_processes $SERVER_THREADS, uvicorn $SERVER_THREADS process), wrk on CPU $WRK_CPUS; best of $ROUNDS interleaved rounds"
printf '  %-34s %10s %9s %9s %10s   %s\n' server req/s "p50 ms" "p99 ms" "api/this" "req/s per round"
for name in "${names[@]}"; do
    printf '  %-34s %10.0f %9.3f %9.3f %10s   %s\n' "${label[$name]}" "${best_rate[$name]}" \
        "${best_p50[$name]}" "${best_p99[$name]}" "$(calc %.3f "$api_rate / ${best_rate[$name]}")" "${all_rates[$name]}"
done
read -r -a api_rounds <<<"${all_rates[api]}"
read -r -a nginx_rounds <<<"${all_rates[nginx]}"
per_round=""
for ((i = 0; i < ${#api_rounds[@]}; i++)); do
    per_round+=" $(calc %.2f "${api_rounds[i]} / ${nginx_rounds[i]}")"
done
say "  api/nginx within each round:${per_round}"
say ""
say "default configuration (IO_THREADS=0 -> $io_threads_default, COMPUTE_THREADS=0 -> $compute_threads, nothing pinned):"
say "  idle RSS after start:               $idle_rss_mib MiB ($(calc %.1f "$rss_after_kib / 1024") MiB after the load below)"
say "  /compute/prime?n=1000000 = $prime_number: server duration_seconds median $prime_server_ms ms, client round trip median $prime_client_ms ms (20 calls, curl)"
if ((has_python)); then
    say "  /compute/prime?n=$python_prime_n: api $api_prime_small_ms ms, Python baseline $python_prime_ms ms (server duration, median)"
fi
say "  /healthz latency, load = $SLOW_REQUESTS x /slow?delay=$SLOW_DELAY + $burns x /burn?seconds=$BURN_SECONDS ($compute_threads compute threads), client unpinned:"
say "    wrk -t1 -c$LOADED_WRK_CONNECTIONS -d${LOADED_WRK_SECONDS}s, idle:     ${lat_idle[wrk]}"
say "    wrk -t1 -c$LOADED_WRK_CONNECTIONS -d${LOADED_WRK_SECONDS}s, under load: ${lat_loaded[wrk]}"
say "      ${load_seen[wrk]}"
say "    paced probe $PROBE_RATE/s ${LOADED_WRK_SECONDS}s, idle:     ${lat_idle[probe]}"
say "    paced probe $PROBE_RATE/s ${LOADED_WRK_SECONDS}s, under load: ${lat_loaded[probe]}"
say "      ${load_seen[probe]}"
say "  start to ready (exec to first 200 on /ready, 2 ms polling): median $ready_median ms of ${ready_ms[*]}"
say ""

failed=0
# target NAME VALUE OP LIMIT UNIT
target() {
    local name=$1 value=$2 op=$3 limit=$4 unit=$5 result
    if [[ $value == nan ]]; then
        printf '  %-44s %12s   %-10s %s\n' "$name" "-" "$op $limit$unit" "NOT MEASURED"
        return
    fi
    if awk -v v="$value" -v l="$limit" -v op="$op" 'BEGIN { exit !((op == ">=") ? v >= l : v < l) }'; then
        result=PASS
    else
        result=FAIL
        failed=$((failed + 1))
    fi
    printf '  %-44s %12s   %-10s %s\n' "$name" "$value$unit" "$op $limit$unit" "$result"
}
say "targets (DESIGN section 11):"
target "/healthz throughput api/nginx, same cores" "$ratio_nginx" ">=" "$TARGET_VS_NGINX" ""
target "/healthz throughput api/python, same cores" "$ratio_python" ">=" "$TARGET_VS_PYTHON" "x"
target "/healthz p99 under load, wrk -c$LOADED_WRK_CONNECTIONS" "${loaded_p99[wrk]}" "<" "$TARGET_P99_LOADED_MS" " ms"
target "/healthz p99 under load, paced probe" "${loaded_p99[probe]}" "<" "$TARGET_P99_LOADED_MS" " ms"
target "/compute/prime?n=1000000 client median" "$prime_client_ms" "<" "$TARGET_PRIME_MS" " ms"
target "idle RSS" "$idle_rss_mib" "<" "$TARGET_RSS_MIB" " MiB"
target "start to ready, median of 5" "$ready_median" "<" "$TARGET_READY_MS" " ms"
say ""
say "bench: done in ${elapsed}s; $failed target(s) missed"
if ((failed > 0)) && [[ $STRICT == 1 ]]; then
    exit 1
fi
