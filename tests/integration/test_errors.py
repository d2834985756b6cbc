"""Every bad input answers the right status with a JSON body of exactly {error, detail}."""

from __future__ import annotations

import pytest

from support.http_checks import assert_error, names_param
from support.rawhttp import RawClient, get_request

BAD_QUERY = [
    # path, query params, the parameter the detail must name
    ("/compute/prime", {"n": "abc"}, "n"),
    ("/compute/prime", {"n": ""}, "n"),
    ("/compute/prime", {"n": "0"}, "n"),
    ("/compute/prime", {"n": "-1"}, "n"),
    ("/compute/prime", {"n": "1000000001"}, "n"),
    ("/compute/prime", {"n": "99999999999999999999999"}, "n"),
    ("/compute/prime", {"n": "1.5"}, "n"),
    ("/compute/prime", {"n": "10abc"}, "n"),
    ("/compute/fibonacci", {"n": "abc"}, "n"),
    ("/compute/fibonacci", {"n": "-1"}, "n"),
    ("/compute/fibonacci", {"n": "93"}, "n"),
    ("/compute/fibonacci", {"n": ""}, "n"),
    ("/compute/fibonacci", {"n": "10", "method": "magic"}, "method"),
    ("/compute/fibonacci", {"n": "43", "method": "recursive"}, "n"),
    ("/compute/fibonacci", {"n": "92", "method": "recursive"}, "n"),
    ("/compute/hash", {"iterations": "abc"}, "iterations"),
    ("/compute/hash", {"iterations": "0"}, "iterations"),
    ("/compute/hash", {"iterations": "1000001"}, "iterations"),
    ("/compute/hash", {"iterations": ""}, "iterations"),
    ("/compute/hash", {"data_size_kb": "abc"}, "data_size_kb"),
    ("/compute/hash", {"data_size_kb": "0"}, "data_size_kb"),
    ("/compute/hash", {"data_size_kb": "10001"}, "data_size_kb"),
    ("/burn", {"seconds": "abc"}, "seconds"),
    ("/burn", {"seconds": "0"}, "seconds"),
    ("/burn", {"seconds": "0.05"}, "seconds"),
    ("/burn", {"seconds": "60.5"}, "seconds"),
    ("/burn", {"seconds": "-1"}, "seconds"),
    ("/burn", {"seconds": ""}, "seconds"),
    ("/slow", {"delay": "abc"}, "delay"),
    ("/slow", {"delay": "0.05"}, "delay"),
    ("/slow", {"delay": "30.5"}, "delay"),
    ("/slow", {"delay": "-3"}, "delay"),
    ("/slow", {"delay": ""}, "delay"),
    ("/memory/allocate", {"size_mb": "abc"}, "size_mb"),
    ("/memory/allocate", {"size_mb": "0"}, "size_mb"),
    ("/memory/allocate", {"size_mb": "2001"}, "size_mb"),
    ("/memory/allocate", {"size_mb": "1025"}, "size_mb"),  # above MEMORY_MAX_MB (1024)
    ("/memory/allocate", {"size_mb": ""}, "size_mb"),
    ("/memory/allocate", {"size_mb": "1", "duration_seconds": "abc"}, "duration_seconds"),
    ("/memory/allocate", {"size_mb": "1", "duration_seconds": "-1"}, "duration_seconds"),
    ("/memory/allocate", {"size_mb": "1", "duration_seconds": "301"}, "duration_seconds"),
]


@pytest.mark.parametrize("path,params,param", BAD_QUERY,
                         ids=[f"{p}?{'&'.join(f'{k}={v}' for k, v in q.items())}"
                              for p, q, _ in BAD_QUERY])
def test_bad_query_parameter(api, path, params, param):
    assert_error(api.get(path, params=params), 400, param=param)


BAD_PATH = [
    ("/status/abc", "code"), ("/status/199", "code"), ("/status/600", "code"),
    ("/status/0", "code"), ("/status/-200", "code"), ("/status/99999999999999999999", "code"),
    ("/status/20x", "code"), ("/delay/abc", "seconds"), ("/delay/-1", "seconds"),
    ("/delay/31", "seconds"),
]


@pytest.mark.parametrize("path,param", BAD_PATH, ids=[p for p, _ in BAD_PATH])
def test_bad_path_parameter(api, path, param):
    assert_error(api.get(path), 400, param=param)


# Non-finite numbers parse as doubles but must not pass a range check (a NaN compares false
# with everything). A dedicated api, so that a bug spinning forever cannot stall other tests.
NON_FINITE = [("/burn", "seconds"), ("/slow", "delay"), ("/memory/allocate", "duration_seconds")]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_non_finite_numbers_rejected(api_factory, value):
    srv = api_factory()
    for path, param in NON_FINITE:
        params = {param: value}
        if path == "/memory/allocate":
            params["size_mb"] = "1"
        assert_error(srv.get(path, params=params, timeout=5), 400, param=param)
    assert_error(srv.get(f"/delay/{value}", timeout=5), 400, param="seconds")


@pytest.mark.parametrize("path", ["/status/", "/delay/"])
def test_missing_path_parameter(api, path):
    r = api.get(path)
    assert r.status_code in (400, 404), r.text
    assert_error(r, r.status_code)


@pytest.mark.parametrize("path", ["/nope", "/compute", "/compute/prime/extra", "/healthz/x",
                                  "/status/200/x", "/HEALTHZ", "/metrics.txt"])
def test_unknown_path_404(api, path):
    assert_error(api.get(path), 404)


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", "/healthz", "GET"), ("DELETE", "/compute/prime", "GET"), ("PUT", "/burn", "GET"),
    ("POST", "/metrics", "GET"), ("GET", "/fault/enable", "POST"),
    ("GET", "/fault/disable", "POST"), ("GET", "/ready/disable", "POST"),
    ("DELETE", "/ready/enable", "POST"), ("POST", "/status/200", "GET"),
    ("PATCH", "/version", "GET"),
])
def test_wrong_method_405(api, method, path, allowed):
    r = api.request(method, path)
    assert_error(r, 405)
    allow = r.headers.get("Allow")
    assert allow, f"405 without Allow: {r.headers}"
    methods = {m.strip().upper() for m in allow.split(",")}
    assert allowed in methods and method not in methods, allow


def test_fault_switch_not_triggered_by_get(api):
    # GET /fault/enable is a 405, and must not have switched fault injection on.
    api.get("/fault/enable")
    assert api.get("/status/200").status_code == 200


def test_oversized_headers_431(api_factory):
    srv = api_factory(env={"MAX_HEADER_BYTES": "2048"})
    # Within the limit is fine.
    assert srv.get("/healthz", headers={"X-Pad": "a" * 1000}).status_code == 200
    with RawClient(srv.port) as c:
        c.try_send(get_request("/healthz", headers={"X-Pad": "a" * 6000}))
        r = c.read_response()
    assert r.status == 431, r
    body = r.json()
    assert set(body) == {"error", "detail"} and all(isinstance(v, str) for v in body.values()), body
    # The server is still healthy afterwards.
    assert srv.get("/healthz").status_code == 200


def test_oversized_headers_431_default_limit(api):
    # Default MAX_HEADER_BYTES is 16384.
    assert api.get("/healthz", headers={"X-Pad": "a" * 8000}).status_code == 200
    with RawClient(api.port) as c:
        c.try_send(get_request("/healthz", headers={"X-Pad": "a" * 20000}))
        r = c.read_response()
    assert r.status == 431, r
    assert set(r.json()) == {"error", "detail"}


def _post_raw(port: int, path: str, body: bytes, chunked: bool = False):
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/octet-stream"]
    if chunked:
        head.append("Transfer-Encoding: chunked")
        payload = b""
        for i in range(0, len(body), 1000):
            piece = body[i:i + 1000]
            payload += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        payload += b"0\r\n\r\n"
    else:
        head.append(f"Content-Length: {len(body)}")
        payload = body
    with RawClient(port) as c:
        c.try_send(("\r\n".join(head) + "\r\n\r\n").encode())
        c.try_send(payload)
        return c.read_response()


def test_body_within_limit_accepted(api_factory):
    srv = api_factory(env={"MAX_BODY_BYTES": "1024"})
    r = _post_raw(srv.port, "/ready/enable", b"y" * 1000)
    assert r.status == 200 and r.json() == {"ready_enabled": True}, r


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_body_413(api_factory, chunked):
    srv = api_factory(env={"MAX_BODY_BYTES": "1024"})
    r = _post_raw(srv.port, "/ready/enable", b"y" * 8000, chunked=chunked)
    assert r.status == 413, r
    body = r.json()
    assert set(body) == {"error", "detail"} and all(isinstance(v, str) for v in body.values()), body
    assert r.header("Content-Type").split(";")[0] == "application/json"
    assert srv.get("/healthz").status_code == 200


def test_oversized_body_413_default_limit(api):
    # Default MAX_BODY_BYTES is 1 MiB; 2 MiB is refused (the client may be cut off mid-body).
    r = _post_raw(api.port, "/ready/enable", b"z" * (2 * 1024 * 1024))
    assert r.status == 413, r
    assert set(r.json()) == {"error", "detail"}


def test_error_response_carries_request_id(api):
    r = api.get("/compute/prime", params={"n": "x"}, headers={"X-Request-ID": "err-rid-1"})
    assert r.status_code == 400 and r.headers.get("X-Request-ID") == "err-rid-1"


def test_names_param_helper():
    assert names_param("n must be between 1 and 1000000000", "n")
    assert names_param("'n' must be an integer", "n")
    assert not names_param("the value is not an integer", "n")
