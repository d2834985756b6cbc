"""october-api against references on the same machine, in one run.

- /healthz keep-alive throughput with wrk: october-api, nginx returning a fixed 200, and the
  Python FastAPI baseline when Debian's python3-fastapi/uvicorn are installed. Each server gets
  core 0 (one I/O thread / worker process), wrk gets core 1, so the ratio compares equal cores.
- /healthz p99 while 100 /slow requests and a saturated compute pool are in flight.
- /compute/prime?n=1000000 time, idle RSS, start-to-ready time.

Usage: http_bench.py OCTOBER_API_BIN [--duration SECONDS]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
TARGETS = {"healthz_vs_nginx": 0.60, "healthz_vs_python": 50.0, "p99_under_load_ms": 5.0,
           "prime_1e6_ms": 5.0, "idle_rss_mib": 10.0, "start_to_ready_ms": 100.0}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def wait_http(url, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url, timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"http_bench: {url} never answered 200")


def start(command, env=None, cpu=None):
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu)] + command
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(process):
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def to_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, seconds, connections=64):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "1"] + command
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    return rate, p50, p99


def api_env(redis_port, **extra):
    env = dict(os.environ, HOST="127.0.0.1", LOG_LEVEL="warning", SHUTDOWN_DRAIN_SECONDS="0",
               CELERY_BROKER_URL=f"redis://127.0.0.1:{redis_port}/0",
               CELERY_RESULT_BACKEND=f"redis://127.0.0.1:{redis_port}/1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("api_bin")
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    api_bin = os.path.abspath(args.api_bin)
    workdir = tempfile.mkdtemp(prefix="october-http-bench-")
    processes = []
    figures = {}
    try:
        redis_port = free_port()
        processes.append(start(["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port),
                                "--save", "", "--appendonly", "no", "--dir", workdir]))

        # Throughput, one core each.
        rows = []
        api_port = free_port()
        api = start([api_bin], api_env(redis_port, PORT=api_port, IO_THREADS=1), cpu=0)
        processes.append(api)
        wait_http(f"http://127.0.0.1:{api_port}/ready")
        rows.append(("october-api",) + wrk(f"http://127.0.0.1:{api_port}/healthz", args.duration))
        stop(api)

        nginx_port = free_port()
        conf = os.path.join(workdir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/body; proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fastcgi; uwsgi_temp_path {workdir}/uwsgi; scgi_temp_path {workdir}/scgi;
  server {{
    listen 127.0.0.1:{nginx_port};
    location /healthz {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}
  }}
}}
""")
        nginx = start(["/usr/sbin/nginx", "-c", conf, "-p", workdir], cpu=0)
        processes.append(nginx)
        wait_http(f"http://127.0.0.1:{nginx_port}/healthz")
        rows.append(("nginx (fixed 200)",) + wrk(f"http://127.0.0.1:{nginx_port}/healthz", args.duration))
        stop(nginx)

        has_python = subprocess.run([PYTHON, "-c", "import fastapi, uvicorn"],
                                    capture_output=True).returncode == 0
        if has_python:
            py_port = free_port()
            py = start([PYTHON, "-m", "uvicorn", "--app-dir", HERE, "baseline_app:app",
                        "--host", "127.0.0.1", "--port", str(py_port), "--log-level", "warning"],
                       cpu=0)
            processes.append(py)
            wait_http(f"http://127.0.0.1:{py_port}/healthz")
            rows.append(("python FastAPI+uvicorn",) + wrk(f"http://127.0.0.1:{py_port}/healthz", args.duration))
            stop(py)

        print(f"\n/healthz keep-alive, wrk -t1 -c64 -d{args.duration}s, server on core 0, wrk on core 1")
        print(f"  {'server':26s} {'req/s':>10s} {'p50 ms':>8s} {'p99 ms':>8s}")
        for name, rate, p50, p99 in rows:
            print(f"  {name:26s} {rate:10.0f} {p50:8.3f} {p99:8.3f}")
        figures["healthz_vs_nginx"] = rows[0][1] / rows[1][1]
        if has_python:
            figures["healthz_vs_python"] = rows[0][1] / rows[2][1]

        # Everything else on the default configuration (all cores).
        api_port = free_port()
        api = start([api_bin], api_env(redis_port, PORT=api_port))
        processes.append(api)
        base = f"http://127.0.0.1:{api_port}"
        wait_http(f"{base}/ready")
        time.sleep(1)
        with open(f"/proc/{api.pid}/status") as f:
            rss_kib = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
        figures["idle_rss_mib"] = rss_kib / 1024

        server_ms, client_ms = [], []
        for _ in range(20):
            t = time.monotonic()
            status, body = get(f"{base}/compute/prime?n=1000000")
            client_ms.append((time.monotonic() - t) * 1000)
            server_ms.append(float(re.search(rb'"duration_seconds":([\d.e-]+)', body).group(1)) * 1000)
        figures["prime_1e6_ms"] = statistics.median(client_ms)

        load = []
        def hold(path):
            try:
                get(base + path, timeout=30)
            except OSError:
                pass
        for _ in range(100):
            load.append(threading.Thread(target=hold, args=("/slow?delay=6",)))
        for _ in range(6):
            load.append(threading.Thread(target=hold, args=("/burn?seconds=5",)))
        for thread in load:
            thread.start()
        time.sleep(0.5)
        _, loaded_p50, loaded_p99 = wrk(f"{base}/healthz", 3, connections=8)
        figures["p99_under_load_ms"] = loaded_p99
        for thread in load:
            thread.join()
        stop(api)

        starts = []
        for _ in range(5):
            port = free_port()
            t = time.monotonic()
            proc = start([api_bin], api_env(redis_port, PORT=port))
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                        s.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
                        if s.recv(64).startswith(b"HTTP/1.1 200"):
                            break
                except OSError:
                    pass
                time.sleep(0.002)
            starts.append((time.monotonic() - t) * 1000)
            stop(proc)
        figures["start_to_ready_ms"] = statistics.median(starts)

        print(f"\n/healthz under load (100 /slow in flight, compute pool saturated): "
              f"p50 {loaded_p50:.3f} ms, p99 {loaded_p99:.3f} ms")
        print(f"/compute/prime?n=1000000: server {statistics.median(server_ms):.2f} ms, "
              f"client round trip {statistics.median(client_ms):.2f} ms (median of 20)")
        print(f"idle RSS {figures['idle_rss_mib']:.1f} MiB; start to ready "
              f"{figures['start_to_ready_ms']:.1f} ms (median of 5)")
        print("\ntargets:")
        failed = 0
        for key, target in TARGETS.items():
            if key not in figures:
                print(f"  {key:22s} not measured (baseline missing)")
                continue
            higher_is_better = key.startswith("healthz_vs")
            ok = figures[key] >= target if higher_is_better else figures[key] < target
            failed += not ok
            sign = ">=" if higher_is_better else "<"
            print(f"  {key:22s} {figures[key]:10.2f} (target {sign} {target}): {'PASS' if ok else 'FAIL'}")
        return 1 if failed and os.environ.get("BENCH_STRICT") == "1" else 0
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
