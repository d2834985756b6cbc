"""Raw HTTP/1.1 over a plain socket, for what requests cannot send or observe: pipelining, partial
and slow requests, limits, and the moment the server closes a connection.
"""

from __future__ import annotations

import json
import re
import socket
import time

from .processes import DEFAULT_TIMEOUT, LOOPBACK

class RawResponse:
    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"RawResponse({self.status} {self.reason}, {self.headers}, {self.body[:200]!r})"


class RawClient:
    """A tiny HTTP/1.1 client on a plain socket: lets a test control exactly what is sent."""

    def __init__(self, port: int, timeout: float = DEFAULT_TIMEOUT):
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def try_send(self, data: bytes) -> bool:
        """Send what the peer accepts; False when it reset or closed the connection."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def read_response(self, head_request: bool = False) -> RawResponse:
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed before a full response head: {self.buf!r}")
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ValueError(f"bad status line {lines[0]!r}")
        status = int(m.group(1))
        headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = RawResponse(status, m.group(2), headers, b"")
        if head_request or status in (204, 304) or 100 <= status < 200:
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self._fill():
                        raise ConnectionError("closed inside a chunked body")
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    if not self._fill():
                        raise ConnectionError("closed inside a chunk")
                body += self.buf[:size]
                self.buf = self.buf[size + 2:]
                if size == 0:
                    break
            resp.body = body
            return resp
        length = resp.header("Content-Length")
        if length is not None:
            n = int(length)
            while len(self.buf) < n:
                if not self._fill():
                    raise ConnectionError("closed inside a body")
            resp.body, self.buf = self.buf[:n], self.buf[n:]
            return resp
        # No length: body runs until the connection closes.
        while self._fill():
            pass
        resp.body, self.buf = self.buf, b""
        return resp

    def wait_closed(self, timeout: float) -> tuple[bool, float, bytes]:
        """Read until EOF/reset. Returns (closed, seconds waited, bytes received meanwhile)."""
        start = time.monotonic()
        got = b""
        self.sock.settimeout(0.1)
        try:
            while time.monotonic() - start < timeout:
                try:
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    return True, time.monotonic() - start, got
                if not chunk:
                    return True, time.monotonic() - start, got
                got += chunk
            return False, time.monotonic() - start, got
        finally:
            self.sock.settimeout(DEFAULT_TIMEOUT)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def get_request(path: str, headers: dict | None = None, close: bool = False) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {LOOPBACK}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
