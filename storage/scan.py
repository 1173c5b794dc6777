"""Virus scanning with clamd: PING, VERSION and INSTREAM over its socket protocol.

The project keeps its own small client and does not use the ``clamd`` package. That
package sends INSTREAM in 1 KiB chunks with ``send`` (not ``sendall``), sets its socket
timeout only after ``connect`` (a dead peer hangs the caller) and lets BrokenPipe and
ConnectionReset escape when clamd cuts a stream at StreamMaxLength; using it meant
overriding its private methods, which ties us to its internals. The protocol needed here
is three z-commands (a NUL-terminated command, a NUL-terminated reply), so it lives here
in full. Every answer other than an exact ``stream: OK`` is *not clean*.
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


class Scanner:
    """clamd at ``unix:///path/clamd.sock`` or ``tcp://host:3310``; safe to share between threads.

    ``timeout`` bounds every single wait: connecting, each chunk sent, and the
    verdict after the last chunk (clamd scans only once it has the whole stream).
    Every command uses a connection of its own.
    """

    def __init__(self, url: str, timeout: float = 60.0):
        parts = urlsplit(url)
        if parts.scheme == "unix" and (parts.path or parts.netloc):
            self._family, self._address = socket.AF_UNIX, parts.path or parts.netloc
        elif parts.scheme == "tcp":
            self._family = socket.AF_INET
            self._address = (parts.hostname or "127.0.0.1", parts.port or 3310)
        else:
            raise ValueError(f"CLAMD_URL must be unix:///path or tcp://host:port, not {url!r}")
        self.url = url
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Scanner({self.url!r})"

    def _connect(self) -> socket.socket:
        """A new connection, its timeout set before ``connect``: a dead peer cannot hang us."""
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._address)
        except OSError as exc:
            sock.close()
            raise ScannerUnavailable(f"cannot connect to clamd at {self.url}: {exc}") from exc
        return sock

    def _command(self, name: str) -> str:
        """Send ``z<name>`` and return clamd's reply; :class:`ScannerUnavailable` on any fault."""
        sock = self._connect()
        try:
            try:
                sock.sendall(b"z" + name.encode("ascii") + b"\0")
            except OSError as exc:
                raise ScannerUnavailable(f"clamd: {name} not sent ({exc})") from exc
            reply = _read_reply(sock, time.monotonic() + self.timeout)
        finally:
            sock.close()
        if not reply:
            raise ScannerUnavailable(f"clamd gave no answer to {name} in time")
        if reply.endswith("ERROR"):
            raise ScannerUnavailable(reply.removesuffix("ERROR").strip() or f"{name} failed")
        return reply

    def ping(self) -> None:
        """Raise :class:`ScannerUnavailable` unless clamd answers PONG."""
        answer = self._command("PING")
        if answer != "PONG":
            raise ScannerUnavailable(f"unexpected answer to PING: {answer!r}")

    def version(self) -> str:
        return self._command("VERSION")

    def scan_file(self, path: str | os.PathLike) -> ScanResult:
        with open(path, "rb") as stream:
            return self.scan_stream(stream)

    def scan_stream(self, stream: BinaryIO) -> ScanResult:
        """Stream ``stream`` to clamd and return its verdict; never raises for clamd's faults."""
        try:
            sock = self._connect()
        except ScannerUnavailable as exc:
            return ScanResult(ScanOutcome.UNAVAILABLE, reason=str(exc))
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
