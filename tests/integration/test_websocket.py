"""GET /ws/echo with a real WebSocket client (Python `websockets`, Debian python3-websockets):
text and binary echo, a message over WS_MAX_MESSAGE_BYTES closed with 1009, a silent client
closed after WS_IDLE_TIMEOUT while a client answering the server's pings stays, pings answered,
a plain GET refused with 426 JSON, the counts in /metrics, and a draining server closing with
1001."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time

import pytest
import websockets

from support.http_checks import assert_error
from support.processes import wait_for
from support.rawhttp import RawClient

IDLE = 2  # WS_IDLE_TIMEOUT of the api under test, seconds
LIMIT = 1024  # WS_MAX_MESSAGE_BYTES


@pytest.fixture(scope="module")
def wsapi(run_dir, redis_server):
    from support.servers import start_api
    server = start_api(run_dir / "api-websocket", redis_server,
                       env={"WS_MAX_MESSAGE_BYTES": str(LIMIT), "WS_IDLE_TIMEOUT": str(IDLE)})
    yield server
    server.close()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def url(api) -> str:
    return f"ws://127.0.0.1:{api.port}/ws/echo"


def test_text_and_binary_are_echoed(wsapi):
    async def go():
        async with websockets.connect(url(wsapi), ping_interval=None) as ws:
            await ws.send("hello, october")
            text = await ws.recv()
            await ws.send(bytes(range(256)))
            binary = await ws.recv()
            await ws.send("x" * LIMIT)  # at the limit: still echoed
            full = await ws.recv()
            return text, binary, full
    text, binary, full = run(go())
    assert text == "hello, october" and isinstance(text, str)
    assert binary == bytes(range(256)) and isinstance(binary, bytes)
    assert full == "x" * LIMIT


def test_message_over_the_limit_closes_with_1009(wsapi):
    async def go():
        async with websockets.connect(url(wsapi), ping_interval=None) as ws:
            await ws.send("y" * (LIMIT + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd
    rcvd = run(go())
    assert rcvd is not None and rcvd.code == 1009, rcvd


def test_ping_is_answered(wsapi):
    async def go():
        async with websockets.connect(url(wsapi), ping_interval=None) as ws:
            pong = await ws.ping(b"are you there")
            await asyncio.wait_for(pong, 5)
            return True
    assert run(go())


def test_client_answering_pings_outlives_the_idle_timeout(wsapi):
    # The server pings a silent connection at half of WS_IDLE_TIMEOUT; websockets answers the
    # pings itself, so the connection stays open past the timeout and still echoes.
    async def go():
        async with websockets.connect(url(wsapi), ping_interval=None) as ws:
            await asyncio.sleep(IDLE * 2.5)
            await ws.send("still here")
            return await ws.recv()
    assert run(go()) == "still here"


def handshake(client: RawClient) -> None:
    key = base64.b64encode(os.urandom(16)).decode()
    client.send((f"GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    while b"\r\n\r\n" not in client.buf:
        assert client._fill()
    assert client.buf.startswith(b"HTTP/1.1 101"), client.buf


def test_silent_client_is_closed_after_the_idle_timeout(wsapi):
    # A raw socket that completes the handshake and then never answers anything (not even the
    # server's ping) is closed once WS_IDLE_TIMEOUT passes.
    with RawClient(wsapi.port, timeout=30) as client:
        handshake(client)
        closed, waited, _ = client.wait_closed(IDLE * 5)
    assert closed, "the silent connection was not closed"
    assert IDLE * 0.5 <= waited <= IDLE * 5, waited


def test_plain_get_is_426_json(wsapi):
    r = wsapi.get("/ws/echo")
    err = assert_error(r, 426, "upgrade_required")
    assert "Upgrade: websocket" in err["detail"]
    assert r.headers["Upgrade"] == "websocket"


def test_bad_handshake_is_refused_by_beast(wsapi):
    with RawClient(wsapi.port, timeout=10) as client:
        client.send(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")
        response = client.read_response()
    assert response.status == 400


def test_metrics_count_connections_and_messages(wsapi):
    before = wsapi.metrics().value("october_websocket_messages_total")

    async def go():
        async with websockets.connect(url(wsapi), ping_interval=None) as ws:
            for i in range(3):
                await ws.send(f"m{i}")
                await ws.recv()
            return wsapi.metrics().value("october_websocket_connections")
    open_during = run(go())
    assert open_during >= 1
    assert wsapi.metrics().value("october_websocket_messages_total") == before + 3
    wait_for(lambda: wsapi.metrics().value("october_websocket_connections") == 0, timeout=10,
             what="the gauge back to 0 after the close")
    assert any(lab.get("path") == "/ws/echo" and lab.get("status") == "101"
               for lab, _ in wsapi.metrics().find("http_requests_total"))


def test_openapi_lists_the_route(wsapi):
    doc = wsapi.get("/openapi.json").json()
    assert "426" in doc["paths"]["/ws/echo"]["get"]["responses"]


def test_draining_server_closes_with_1001(api_factory):
    api = api_factory(env={"SHUTDOWN_DRAIN_SECONDS": "0", "SHUTDOWN_TIMEOUT_SECONDS": "10"})

    async def go():
        async with websockets.connect(url(api), ping_interval=None) as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            api.signal(signal.SIGTERM)
            start = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd, time.monotonic() - start
    rcvd, waited = run(go())
    assert rcvd is not None and rcvd.code == 1001, rcvd
    assert waited < 8
    assert api.wait(10) == 0
