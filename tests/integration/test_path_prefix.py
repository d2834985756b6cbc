"""PATH_PREFIX: every route of october-api also served under the prefix (for ingresses that do
not rewrite paths), the route template staying the metric label, links in answers and the
OpenAPI document's server honouring it, and bad values refused at start with exit code 2."""

from __future__ import annotations

import pytest

from support.servers import assert_rejected, run_api_binary

PREFIX = "/october/v1"


@pytest.fixture(scope="module")
def papi(run_dir, redis_server):
    from support.servers import start_api
    server = start_api(run_dir / "api-path-prefix", redis_server, env={"PATH_PREFIX": PREFIX})
    yield server
    server.close()


def requests_counted(api, route: str) -> float:
    return sum(v for _, v in api.metrics().find("http_requests_total", method="GET", path=route))


def test_routes_answer_with_and_without_the_prefix(papi):
    for path in ("/version", "/healthz", "/ready", "/status/418", "/compute/fibonacci?n=10"):
        plain, prefixed = papi.get(path), papi.get(PREFIX + path)
        assert plain.status_code == prefixed.status_code, (path, plain.text, prefixed.text)
        assert prefixed.status_code in (200, 418), (path, prefixed.text)
    assert papi.get(PREFIX + "/compute/fibonacci?n=10").json()["fibonacci_number"] == 55
    # The prefix itself is the root.
    assert papi.get(PREFIX).json()["service"] == "october-api"
    assert papi.get(PREFIX + "/").json()["service"] == "october-api"


def test_prefix_is_whole_segments_and_errors_keep_their_form(papi):
    for path in (PREFIX + "x/version", "/october/version", PREFIX + "/nope"):
        r = papi.get(path)
        assert r.status_code == 404, (path, r.text)
        assert set(r.json()) == {"error", "detail"}
    r = papi.get(PREFIX + "/status/99")
    assert r.status_code == 400 and "code" in r.json()["detail"], r.text
    r = papi.request("DELETE", PREFIX + "/version")
    assert r.status_code == 405 and r.headers["Allow"] == "GET", r.text


def test_metric_label_is_the_route_template_without_the_prefix(papi):
    before = requests_counted(papi, "/status/{code}")
    for _ in range(3):
        assert papi.get(PREFIX + "/status/202").status_code == 202
    assert papi.get("/status/202").status_code == 202
    assert requests_counted(papi, "/status/{code}") == before + 4
    labels = {lab["path"] for lab, _ in papi.metrics().find("http_requests_total")}
    assert not any(label.startswith(PREFIX) for label in labels), labels


def test_task_links_carry_the_prefix(papi):
    r = papi.post(PREFIX + "/tasks", json={"name": "ping"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status_url"] == f"{PREFIX}/tasks/{body['task_id']}"
    assert r.headers["Location"] == body["status_url"]
    status = papi.get(body["status_url"])
    assert status.status_code == 200 and status.json()["task_id"] == body["task_id"], status.text


def test_openapi_names_the_prefix_as_its_server(papi):
    doc = papi.get(PREFIX + "/openapi.json").json()
    assert doc["servers"] == [{"url": PREFIX, "description": "this service under PATH_PREFIX"}]
    # Paths are the route templates: Swagger UI joins them to the server URL.
    assert "/status/{code}" in doc["paths"] and not any(p.startswith(PREFIX) for p in doc["paths"])
    assert papi.get("/openapi.json").json() == doc


def test_without_prefix_openapi_has_no_servers(api):
    assert "servers" not in api.get("/openapi.json").json()
    assert api.get("/october/version").status_code == 404


@pytest.mark.parametrize("value", ["october", "/october/", "/", "/oct ober", "/a//b", "/a/../b",
                                   "/a?b", "/" + "a" * 128])
def test_bad_prefix_exits_2_naming_the_setting(value):
    line = assert_rejected(run_api_binary(env={"PATH_PREFIX": value}), "PATH_PREFIX")
    assert "PATH_PREFIX" in line


def test_bad_prefix_check_can_fail():
    # The check above is not vacuous: with a good prefix and another bad setting the binary is
    # refused for that setting, and the check naming PATH_PREFIX fails.
    result = run_api_binary(env={"PATH_PREFIX": "/fine", "MAX_CONNECTIONS": "0"})
    assert_rejected(result, "MAX_CONNECTIONS")
    with pytest.raises(AssertionError):
        assert_rejected(result, "PATH_PREFIX")
