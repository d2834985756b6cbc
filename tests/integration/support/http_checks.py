"""Checks on the api's HTTP answers: the JSON content type, and the {error, detail} error body.
"""

from __future__ import annotations

import re

def assert_json_content_type(resp) -> None:
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip().lower() == "application/json", \
        f"Content-Type {ctype!r} for {resp.request.method} {resp.url}"


def names_param(detail: str, param: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(param)}(?![A-Za-z0-9_])", detail) is not None


def assert_error(resp, status: int, error: str | None = None, param: str | None = None) -> dict:
    """An error answer: the status, JSON content type, body exactly {error, detail} strings."""
    assert resp.status_code == status, \
        f"{resp.request.method} {resp.url}: expected {status}, got {resp.status_code} {resp.text[:300]!r}"
    assert_json_content_type(resp)
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"error", "detail"}, \
        f"error body must be exactly {{error, detail}}: {body!r}"
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if error is not None:
        assert body["error"] == error, body
    if param is not None:
        assert names_param(body["detail"], param), \
            f"detail should name the parameter {param!r}: {body['detail']!r}"
    return body
