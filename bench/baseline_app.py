"""Python reference for bench/run.sh: the original FastAPI service's /healthz and /compute/prime.

Run with Debian's packages only:
    /usr/bin/python3 -m uvicorn --app-dir bench baseline_app:app --host 127.0.0.1 --port 8000
"""
import math
import time

from fastapi import FastAPI, Query

app = FastAPI(title="october python baseline")


@app.get("/healthz")
async def healthz():
    return {"status": "ok"}


def nth_prime(n: int) -> int:
    """The n-th prime by plain trial division, as a pure-Python service would compute it."""
    if n == 1:
        return 2
    found, candidate = 1, 1
    while found < n:
        candidate += 2
        limit = math.isqrt(candidate)
        divisor = 3
        while divisor <= limit and candidate % divisor:
            divisor += 2
        if divisor > limit:
            found += 1
    return candidate


@app.get("/compute/prime")
def compute_prime(n: int = Query(1000, ge=1, le=1_000_000_000)):
    started = time.perf_counter()
    prime = nth_prime(n)
    return {"nth_prime": n, "prime_number": prime,
            "duration_seconds": time.perf_counter() - started}
