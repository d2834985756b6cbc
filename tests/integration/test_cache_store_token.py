"""GET|PUT|POST|DELETE /cache/{key} on a real redis-server, POST /store and GET /store/{hash} in a
real DATA_DIR, and POST /token, /token/validate checked against Python's own hmac and base64
(so the JWTs are not only tested by the code that makes them)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from support.http_checks import assert_error, assert_json_content_type
from support.peers import redis_client
from support.processes import wait_for
from support.servers import assert_rejected, run_api_binary

SECRET = "test-secret-of-at-least-32-bytes!!"


def ok_json(resp, status: int = 200):
    assert resp.status_code == status, f"{resp.url}: {resp.status_code} {resp.text[:300]!r}"
    assert_json_content_type(resp)
    return resp.json()


# --- /cache/{key} ----------------------------------------------------------------------------
def test_cache_round_trip(api, redis_server):
    value = bytes(range(256)) * 4
    assert ok_json(api.request("PUT", "/cache/round-trip", data=value)) == {
        "key": "round-trip", "size": len(value), "ttl": 0, "expires": "never"}
    r = api.get("/cache/round-trip")
    assert r.status_code == 200 and r.content == value
    assert r.headers["Content-Type"] == "application/octet-stream"
    # Stored under the prefix, so it can never be one of Celery's or kombu's keys.
    db = redis_client(redis_server, 0)
    assert db.get("october:cache:round-trip") == value
    assert db.ttl("october:cache:round-trip") == -1
    r = api.request("DELETE", "/cache/round-trip")
    assert r.status_code == 204 and r.content == b""
    assert db.exists("october:cache:round-trip") == 0
    assert_error(api.request("DELETE", "/cache/round-trip"), 404, "not_found", "round-trip")
    assert_error(api.get("/cache/round-trip"), 404, "not_found", "round-trip")


def test_cache_post_creates_only_put_replaces(api):
    assert ok_json(api.post("/cache/once", data=b"first"), 201)["size"] == 5
    assert_error(api.post("/cache/once", data=b"second"), 409, "key_exists", "once")
    assert api.get("/cache/once").content == b"first"
    ok_json(api.request("PUT", "/cache/once", data=b"third"))
    assert api.get("/cache/once").content == b"third"
    ok_json(api.request("PUT", "/cache/empty", data=b""))
    r = api.get("/cache/empty")
    assert r.status_code == 200 and r.content == b""


def test_cache_concurrent_posts_create_once(api):
    # SET NX decides in Redis: of many racing creators exactly one wins.
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda i: api.post("/cache/race", data=str(i).encode()).status_code, range(16)))
    assert sorted(statuses) == [201] + [409] * 15, statuses
    winner = api.get("/cache/race").content
    assert winner.decode() in {str(i) for i in range(16)}


def test_cache_key_named_like_a_celery_queue_leaves_the_queue_alone(api, redis_server):
    db = redis_client(redis_server, 0)
    db.delete("celery")
    db.lpush("celery", "a message")
    ok_json(api.request("PUT", "/cache/celery", data=b"value"))
    assert db.lrange("celery", 0, -1) == [b"a message"]
    db.delete("celery")


def test_cache_ttl_expires(api, redis_server):
    body = ok_json(api.request("PUT", "/cache/short?ttl=1", data=b"v"))
    assert body["ttl"] == 1 and body["expires"] == "in 1 s"
    assert 0 < redis_client(redis_server, 0).pttl("october:cache:short") <= 1000
    wait_for(lambda: api.get("/cache/short").status_code == 404, timeout=10, what="expiry")
    ok_json(api.post("/cache/short?ttl=100", data=b"v"), 201)
    assert 90 <= redis_client(redis_server, 0).ttl("october:cache:short") <= 100
    # PUT without ttl keeps the value for good, as it says.
    ok_json(api.request("PUT", "/cache/short", data=b"v"))
    assert redis_client(redis_server, 0).ttl("october:cache:short") == -1


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
@pytest.mark.parametrize("key", ["a.b", "a:b", "sp%20ace", "%2e%2e", "x" * 201, "caf%C3%A9"])
def test_cache_bad_key(api, method, key):
    body = assert_error(api.request(method, f"/cache/{key}", data=b"v"), 400, param="key")
    assert "1 to 200 characters of letters, digits, '_' and '-'" in body["detail"], body


def test_cache_longest_key(api):
    ok_json(api.request("PUT", "/cache/" + "k" * 200, data=b"v"))


@pytest.mark.parametrize("ttl", ["-1", "2592001", "abc", "1.5", ""])
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_cache_bad_ttl(api, method, ttl):
    body = assert_error(api.request(method, f"/cache/k?ttl={ttl}", data=b"v"), 400, param="ttl")
    assert "between 0 and 2592000" in body["detail"], body


def test_cache_value_limit(api_factory):
    srv = api_factory(env={"CACHE_MAX_VALUE_BYTES": "16"})
    ok_json(srv.request("PUT", "/cache/limit", data=b"x" * 16))
    for method in ("PUT", "POST"):
        body = assert_error(srv.request(method, "/cache/limit2", data=b"x" * 17), 413,
                            "value_too_large", "CACHE_MAX_VALUE_BYTES")
        assert "0 to 16" in body["detail"], body
    assert srv.get("/cache/limit2").status_code == 404


def test_cache_503_with_retry_after_while_redis_is_down(api_factory, redis_factory):
    redis = redis_factory()
    srv = api_factory(redis=redis, env={"READINESS_INTERVAL_SECONDS": "0.2"})
    ok_json(srv.request("PUT", "/cache/survives", data=b"v"))
    port = redis.port
    redis.stop()
    for method in ("GET", "PUT", "POST", "DELETE"):
        r = srv.request(method, "/cache/survives", data=b"v", timeout=10)
        body = assert_error(r, 503, "cache_unavailable")
        assert r.headers.get("Retry-After") == "1", r.headers
        assert "Redis" in body["detail"], body
    # Only the routes that need Redis fail; the process stays healthy.
    assert srv.get("/healthz").status_code == 200
    redis.start(port=port)
    wait_for(lambda: srv.request("PUT", "/cache/back", data=b"v").status_code == 200,
             timeout=15, what="cache back after Redis restart")
    assert srv.get("/cache/back").content == b"v"


def test_cache_503_when_redis_dies_between_checks(api_factory, redis_factory):
    # A slow readiness poll still says "ok" when Redis goes: the Redis call fails, not hangs.
    redis = redis_factory()
    srv = api_factory(redis=redis, env={"READINESS_INTERVAL_SECONDS": "60"})
    ok_json(srv.request("PUT", "/cache/k", data=b"v"))
    redis.stop()
    r = srv.get("/cache/k", timeout=15)
    assert_error(r, 503, "cache_unavailable")
    assert r.headers.get("Retry-After") == "1"


# --- /store ----------------------------------------------------------------------------------
@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return path


def test_store_round_trip_and_idempotence(api_factory, data_dir):
    srv = api_factory(env={"DATA_DIR": str(data_dir)})
    content = b"\x00\x01binary\xff" * 100
    digest = hashlib.sha256(content).hexdigest()
    r = srv.post("/store", data=content)
    assert ok_json(r, 201) == {"hash": digest, "size": len(content), "created": True,
                               "url": f"/store/{digest}"}
    assert r.headers["Location"] == f"/store/{digest}"
    assert (data_dir / digest).read_bytes() == content
    # The temporary file was renamed away: nothing but the object is left.
    assert sorted(os.listdir(data_dir)) == [digest]
    r = srv.get(f"/store/{digest}")
    assert r.status_code == 200 and r.content == content
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert ok_json(srv.post("/store", data=content)) == {
        "hash": digest, "size": len(content), "created": False, "url": f"/store/{digest}"}
    assert sorted(os.listdir(data_dir)) == [digest]
    empty = hashlib.sha256(b"").hexdigest()
    assert ok_json(srv.post("/store", data=b""), 201)["hash"] == empty
    assert srv.metrics().value("october_store_objects") == 2


def test_store_get_errors(api_factory, data_dir):
    srv = api_factory(env={"DATA_DIR": str(data_dir)})
    absent = hashlib.sha256(b"never stored").hexdigest()
    assert_error(srv.get(f"/store/{absent}"), 404, "not_found", absent)
    for bad in [absent.upper(), absent[:63], absent + "0", "g" * 64, "..%2F" * 12 + "abcd",
                "%2e%2e%2f%2e%2e%2fetc%2fpasswd"]:
        assert_error(srv.get(f"/store/{bad}"), 400, param="hash")
    body = assert_error(srv.get(f"/store/{absent.upper()}"), 400, param="hash")
    assert "64 lowercase hex digits" in body["detail"], body


def test_store_limits(api_factory, data_dir):
    srv = api_factory(env={"DATA_DIR": str(data_dir), "STORE_MAX_BYTES": "8",
                           "STORE_MAX_FILES": "2"})
    body = assert_error(srv.post("/store", data=b"123456789"), 413, "too_large",
                        "STORE_MAX_BYTES")
    assert "0 to 8" in body["detail"], body
    ok_json(srv.post("/store", data=b"12345678"), 201)
    ok_json(srv.post("/store", data=b"b"), 201)
    assert_error(srv.post("/store", data=b"c"), 507, "store_full", "STORE_MAX_FILES")
    # Already stored content is still accepted when full: it takes no new slot.
    assert ok_json(srv.post("/store", data=b"b"))["created"] is False
    assert len(os.listdir(data_dir)) == 2
    srv.close()
    # A restart counts what DATA_DIR already holds.
    again = api_factory(env={"DATA_DIR": str(data_dir), "STORE_MAX_FILES": "2"})
    assert_error(again.post("/store", data=b"c"), 507, "store_full", "STORE_MAX_FILES")
    assert again.get(f"/store/{hashlib.sha256(b'b').hexdigest()}").content == b"b"


def test_store_concurrent_writes_respect_the_count(api_factory, data_dir):
    srv = api_factory(env={"DATA_DIR": str(data_dir), "STORE_MAX_FILES": "5"})
    with ThreadPoolExecutor(8) as pool:
        same = list(pool.map(lambda _: srv.post("/store", data=b"same").status_code, range(8)))
        distinct = list(pool.map(
            lambda i: srv.post("/store", data=f"object {i}".encode()).status_code, range(12)))
    assert sorted(same) == [200] * 7 + [201], same
    assert sorted(distinct) == [201] * 4 + [507] * 8, distinct
    names = os.listdir(data_dir)
    assert len(names) == 5 and all(len(n) == 64 for n in names), names
    for name in names:
        assert hashlib.sha256((data_dir / name).read_bytes()).hexdigest() == name


def test_store_start_removes_leftover_temporary_files(api_factory, data_dir):
    (data_dir / ".tmp-deadbeef-ABC123").write_bytes(b"half written")
    api_factory(env={"DATA_DIR": str(data_dir)})
    assert os.listdir(data_dir) == []


def test_store_without_data_dir(api):
    for r in (api.post("/store", data=b"x"), api.get("/store/" + "a" * 64)):
        body = assert_error(r, 503, "store_disabled", "DATA_DIR")
        assert "not set" in body["detail"], body


# --- /token ----------------------------------------------------------------------------------
def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def py_sign(header: dict, payload: dict, secret: str = SECRET, digest=hashlib.sha256) -> str:
    """A JWT made by Python's standard library alone."""
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(payload).encode()))
    mac = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(mac)


def py_verify(token: str, secret: str = SECRET) -> dict | None:
    """The claims of an HS256 token whose signature Python's hmac accepts, else None."""
    header, payload, signature = token.split(".")
    expected = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    if json.loads(b64url_decode(header)).get("alg") != "HS256":
        return None
    if not hmac.compare_digest(expected, b64url_decode(signature)):
        return None
    return json.loads(b64url_decode(payload))


@pytest.fixture(scope="module")
def token_api(run_dir, redis_server):
    from support.servers import start_api
    server = start_api(run_dir / "api-tokens", redis_server,
                       env={"JWT_SECRET": SECRET, "JWT_TTL_SECONDS": "120"})
    yield server
    server.close()


def validate(srv, token: str):
    return srv.post("/token/validate", headers={"Authorization": f"Bearer {token}"})


def test_token_issued_verifies_with_python_hmac(token_api):
    before = int(time.time())
    body = ok_json(token_api.post("/token", json={"sub": "alice"}))
    assert body["token_type"] == "Bearer" and body["sub"] == "alice"
    assert body["expires_in"] == 120 and body["exp"] - body["iat"] == 120
    assert before - 5 <= body["iat"] <= time.time() + 5
    token = body["token"]
    assert json.loads(b64url_decode(token.split(".")[0])) == {"alg": "HS256", "typ": "JWT"}
    claims = py_verify(token)
    assert claims == {"sub": "alice", "iat": body["iat"], "exp": body["exp"]}
    # The cross-check can fail: another secret, or one flipped bit, is refused by it too.
    assert py_verify(token, "another-secret-of-at-least-32-bytes") is None
    head, payload, sig = token.split(".")
    assert py_verify(f"{head}.{b64url(b'{}')}.{sig}") is None
    short = ok_json(token_api.post("/token", json={"sub": "bob", "ttl": 5}))
    assert short["exp"] - short["iat"] == 5 and py_verify(short["token"])["sub"] == "bob"


def test_token_made_by_python_is_accepted(token_api):
    exp = int(time.time()) + 60
    token = py_sign({"alg": "HS256", "typ": "JWT"}, {"sub": "carol", "exp": exp, "role": "x"})
    body = ok_json(validate(token_api, token))
    assert body["valid"] is True and body["sub"] == "carol" and body["exp"] == exp
    assert body["claims"]["role"] == "x"
    assert ok_json(token_api.post("/token/validate", json={"token": token}))["sub"] == "carol"
    issued = ok_json(token_api.post("/token", json={"sub": "dave"}))["token"]
    assert ok_json(validate(token_api, issued))["sub"] == "dave"


def refused(srv, token: str, error: str) -> dict:
    r = validate(srv, token)
    body = assert_error(r, 401, error)
    assert r.headers.get("WWW-Authenticate") == 'Bearer error="invalid_token"', r.headers
    return body


def test_token_refusals(token_api):
    exp = int(time.time()) + 60
    claims = {"sub": "eve", "exp": exp}
    good = py_sign({"alg": "HS256"}, claims)
    head, payload, sig = good.split(".")

    # alg none without a signature, and other algorithms signed anyway.
    body = refused(token_api, f"{b64url(json.dumps({'alg': 'none'}).encode())}.{payload}.",
                   "unsupported_algorithm")
    assert '"none"' in body["detail"] and "HS256" in body["detail"], body
    refused(token_api, py_sign({"alg": "none"}, claims), "unsupported_algorithm")
    refused(token_api, py_sign({"alg": "HS512"}, claims, digest=hashlib.sha512),
            "unsupported_algorithm")
    refused(token_api, py_sign({"alg": "RS256"}, claims), "unsupported_algorithm")
    refused(token_api, py_sign({"typ": "JWT"}, claims), "unsupported_algorithm")

    refused(token_api, f"{head}.{b64url(json.dumps({'sub': 'root', 'exp': exp}).encode())}.{sig}",
            "bad_signature")
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    refused(token_api, f"{head}.{payload}.{flipped}", "bad_signature")
    refused(token_api, py_sign({"alg": "HS256"}, claims, secret="wrong-" + SECRET),
            "bad_signature")

    past = int(time.time()) - 5
    body = refused(token_api, py_sign({"alg": "HS256"}, {"sub": "eve", "exp": past}),
                   "token_expired")
    assert "expired" in body["detail"], body
    refused(token_api, py_sign({"alg": "HS256"}, {"sub": "eve"}), "missing_claim")
    refused(token_api, py_sign({"alg": "HS256"}, {"sub": "eve", "exp": exp, "nbf": exp}),
            "token_not_yet_valid")

    for bad in ["abc", f"{head}.{payload}", f"{good}.x", f"{head}=.{payload}.{sig}",
                f"{head}.{payload}.{sig}=", f"!!.{payload}.{sig}",
                f"{head}.{payload}.{sig[:-1]}+"]:
        refused(token_api, bad, "malformed_token")


def test_token_expires_through_the_api(token_api):
    token = ok_json(token_api.post("/token", json={"sub": "short", "ttl": 1}))["token"]
    wait_for(lambda: validate(token_api, token).status_code == 401, timeout=10,
             what="the 1 s token to expire")
    refused(token_api, token, "token_expired")


def test_token_missing_or_not_bearer(token_api):
    r = token_api.post("/token/validate")
    assert_error(r, 401, "missing_token")
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    r = token_api.post("/token/validate", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(r, 401, "missing_token")
    assert_error(token_api.post("/token/validate", json={"token": 5}), 400, param="token")


@pytest.mark.parametrize("body,param", [
    (None, "sub"), ({}, "sub"), ({"sub": ""}, "sub"), ({"sub": 5}, "sub"),
    ({"sub": "x" * 257}, "sub"), ({"sub": "a", "ttl": 0}, "ttl"),
    ({"sub": "a", "ttl": 121}, "ttl"), ({"sub": "a", "ttl": "60"}, "ttl"),
    ({"sub": "a", "ttl": 1.5}, "ttl"),
])
def test_token_bad_request(token_api, body, param):
    r = token_api.post("/token", json=body) if body is not None else token_api.post(
        "/token", data=b"not json")
    detail = assert_error(r, 400, param=param)["detail"]
    if param == "ttl":
        assert "between 1 and 120 (JWT_TTL_SECONDS)" in detail, detail


def test_token_without_secret(api):
    for r in (api.post("/token", json={"sub": "a"}), validate(api, "a.b.c")):
        assert_error(r, 503, "token_disabled", "JWT_SECRET")


# --- settings, help and OpenAPI --------------------------------------------------------------
BAD_ENV = [
    ("CACHE_MAX_VALUE_BYTES", "0"), ("CACHE_MAX_VALUE_BYTES", "16777217"),
    ("STORE_MAX_BYTES", "0"), ("STORE_MAX_BYTES", "104857601"), ("STORE_MAX_FILES", "0"),
    ("STORE_MAX_FILES", "1000001"), ("JWT_TTL_SECONDS", "0"), ("JWT_TTL_SECONDS", "2592001"),
    ("DATA_DIR", "/nonexistent/october-data"), ("DATA_DIR", "/etc/hostname"),
]


@pytest.mark.parametrize("var,value", BAD_ENV, ids=[f"{k}={v}" for k, v in BAD_ENV])
def test_bad_setting_exits_2(var, value):
    assert_rejected(run_api_binary(env={var: value}), var)


def test_short_jwt_secret_exits_2_without_echoing_it():
    line = assert_rejected(run_api_binary(env={"JWT_SECRET": "short-secret-31-bytes-long-xxxx"}),
                           "JWT_SECRET")
    assert "at least 32 bytes" in line and "short-secret" not in line, line


def test_help_lists_the_new_settings():
    rc, out, err = run_api_binary(args=["--help"])
    assert rc == 0, err
    for var in ("CACHE_MAX_VALUE_BYTES", "DATA_DIR", "STORE_MAX_BYTES", "STORE_MAX_FILES",
                "JWT_SECRET", "JWT_TTL_SECONDS"):
        assert var in out, f"--help does not list {var}"


def test_openapi_lists_the_routes(api):
    paths = ok_json(api.get("/openapi.json"))["paths"]
    expected = {"/cache/{key}": {"get", "put", "post", "delete"}, "/store": {"post"},
                "/store/{hash}": {"get"}, "/token": {"post"}, "/token/validate": {"post"}}
    for path, methods in expected.items():
        assert path in paths, f"{path} missing from {sorted(paths)}"
        assert methods <= set(paths[path]), (path, paths[path])
        for method in methods:
            assert "responses" in paths[path][method], paths[path][method]
    put = paths["/cache/{key}"]["put"]
    names = {p["name"] for p in put.get("parameters", []) + paths["/cache/{key}"].get(
        "parameters", [])}
    assert {"key", "ttl"} <= names, names
    assert "requestBody" in paths["/token"]["post"], paths["/token"]["post"]
