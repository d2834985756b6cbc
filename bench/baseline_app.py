"""The Python reference: a FastAPI app behaving like the original service's /healthz and
/compute/prime, run with uvicorn for the comparison in http_bench.py."""
import time

from fastapi import FastAPI, Query

app = FastAPI()


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.get("/compute/prime")
def prime(n: int = Query(1000, ge=1, le=1_000_000)):
    start = time.perf_counter()
    count, candidate = 0, 1
    while count < n:
        candidate += 1
        if all(candidate % d for d in range(2, int(candidate ** 0.5) + 1)):
            count += 1
    return {"nth_prime": n, "prime_number": candidate,
            "duration_seconds": time.perf_counter() - start}
