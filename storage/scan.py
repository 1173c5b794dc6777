"""Virus scanning with clamd over INSTREAM.

Uses the ``clamd`` package's socket classes for connecting and for simple
commands, but streams the data itself: the package sends 1 KiB chunks with
``send`` (not ``sendall``), sets its timeout only after ``connect`` and lets
BrokenPipe/ConnectionReset escape when clamd cuts a stream at StreamMaxLength.
Every answer other than an exact ``stream: OK`` is *not clean*.
"""

from __future__ import annotations

import enum
import os
import socket
import struct
import time
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import clamd

_CHUNK = 1024 * 1024


class ScanOutcome(enum.StrEnum):
    CLEAN = "clean"
    INFECTED = "infected"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ScanResult:
    outcome: ScanOutcome
    signature: str = ""
    reason: str = ""

    @property
    def clean(self) -> bool:
        return self.outcome is ScanOutcome.CLEAN

    @property
    def infected(self) -> bool:
        return self.outcome is ScanOutcome.INFECTED


class ScannerUnavailable(Exception):
    """clamd did not answer a ping."""


class _Connect:
    """Mixin: apply the timeout before ``connect``, so a dead peer cannot hang us."""

    timeout: float | None

    def _make_socket(self) -> socket.socket:
        raise NotImplementedError

    def _address(self):
        raise NotImplementedError

    def _init_socket(self) -> None:
        self.clamd_socket = self._make_socket()
        try:
            self.clamd_socket.settimeout(self.timeout)
            self.clamd_socket.connect(self._address())
        except OSError as exc:
            self.clamd_socket.close()
            raise clamd.ConnectionError(self._error_message(exc)) from exc


class _UnixSocket(_Connect, clamd.ClamdUnixSocket):
    def _make_socket(self) -> socket.socket:
        return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def _address(self):
        return self.unix_socket


class _NetworkSocket(_Connect, clamd.ClamdNetworkSocket):
    def _make_socket(self) -> socket.socket:
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    def _address(self):
        return (self.host, self.port)


class Scanner:
    """clamd at ``unix:///path/clamd.sock`` or ``tcp://host:3310``; safe to share between threads.

    ``timeout`` bounds every single wait: connecting, each chunk sent, and the
    verdict after the last chunk (clamd scans only once it has the whole stream).
    """

    def __init__(self, url: str, timeout: float = 60.0):
        parts = urlsplit(url)
        if parts.scheme == "unix" and (parts.path or parts.netloc):
            path = parts.path or parts.netloc
            self._connection = lambda: _UnixSocket(path=path, timeout=timeout)
        elif parts.scheme == "tcp":
            host, port = parts.hostname or "127.0.0.1", parts.port or 3310
            self._connection = lambda: _NetworkSocket(host=host, port=port, timeout=timeout)
        else:
            raise ValueError(f"CLAMD_URL must be unix:///path or tcp://host:port, not {url!r}")
        self.url = url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Scanner({self.url!r})"

    def ping(self) -> None:
        """Raise :class:`ScannerUnavailable` unless clamd answers PONG."""
        try:
            answer = self._connection().ping()
        except (clamd.ClamdError, OSError) as exc:
            raise ScannerUnavailable(str(exc) or type(exc).__name__) from exc
        if answer != "PONG":
            raise ScannerUnavailable(f"unexpected answer to PING: {answer!r}")

    def version(self) -> str:
        try:
            return self._connection().version()
        except (clamd.ClamdError, OSError) as exc:
            raise ScannerUnavailable(str(exc) or type(exc).__name__) from exc

    def scan_file(self, path: str | os.PathLike) -> ScanResult:
        with open(path, "rb") as stream:
            return self.scan_stream(stream)

    def scan_stream(self, stream: BinaryIO) -> ScanResult:
        """Stream ``stream`` to clamd and return its verdict; never raises for clamd's faults."""
        conn = self._connection()  # one per scan: the package keeps its socket on self
        try:
            conn._init_socket()
        except clamd.ConnectionError as exc:
            return ScanResult(ScanOutcome.UNAVAILABLE, reason=str(exc))
        sock: socket.socket = conn.clamd_socket
        try:
            try:
                sock.sendall(b"zINSTREAM\0")
                while chunk := stream.read(_CHUNK):
                    sock.sendall(struct.pack("!L", len(chunk)))
                    sock.sendall(chunk)
                sock.sendall(struct.pack("!L", 0))
            except TimeoutError:
                return ScanResult(ScanOutcome.UNAVAILABLE, reason="clamd timed out reading")
            except OSError as exc:
                # clamd hangs up at StreamMaxLength; its reason may still be readable.
                reply = _read_reply(sock, time.monotonic() + 1.0)
                return ScanResult(
                    ScanOutcome.UNAVAILABLE, reason=reply or f"clamd closed the stream ({exc})"
                )
            reply = _read_reply(sock, time.monotonic() + self.timeout)
        finally:
            sock.close()
        return parse_reply(reply)


def parse_reply(reply: str | None) -> ScanResult:
    """Read clamd's INSTREAM answer; anything unexpected is UNAVAILABLE, never CLEAN."""
    if reply is None:
        return ScanResult(ScanOutcome.UNAVAILABLE, reason="clamd gave no verdict in time")
    if reply == "stream: OK":
        return ScanResult(ScanOutcome.CLEAN)
    if reply.startswith("stream: ") and reply.endswith(" FOUND"):
        signature = reply.removeprefix("stream: ").removesuffix(" FOUND").strip()
        if signature:
            return ScanResult(ScanOutcome.INFECTED, signature=signature)
    reason = reply.removesuffix(" ERROR").strip() if reply else "empty answer from clamd"
    return ScanResult(ScanOutcome.UNAVAILABLE, reason=reason)


def _read_reply(sock: socket.socket, deadline: float) -> str | None:
    """Read up to the NUL that ends a z-command reply; None on timeout or silence."""
    data = b""
    try:
        while b"\0" not in data and len(data) < 4096:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        if not data:
            return None
    return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()


def open_scanner(url: str, timeout: float = 60.0) -> Scanner | None:
    """The scanner for ``url``, or None when ``url`` is empty (scanning off)."""
    return Scanner(url, timeout) if url else None
