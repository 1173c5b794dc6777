"""A gate in front of the real clamd: a unix socket that forwards each connection to clamd,
and that a test can hold (it stops reading what the scanner sends, so a scan stays in the
middle of its INSTREAM, or waits for its verdict) and release, or slow down (``delay``
seconds before each chunk it forwards)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

CHUNK = 64 * 1024


class ClamdGate:
    def __init__(self, clamd_socket: str):
        self.upstream = clamd_socket
        self.workdir = Path(tempfile.mkdtemp(prefix="insyn-gate-"))
        self.socket_path = str(self.workdir / "clamd.sock")
        self.received = 0  # bytes read from scanners, all connections
        self.scans = 0  # INSTREAM commands seen
        self.delay = 0.0
        self._open = threading.Event()
        self._open.set()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(16)
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def hold(self) -> None:
        """From now on each connection reads one more chunk, then waits."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.upstream)
            except OSError:  # clamd is down: so is the gate
                client.close()
                continue
            self._sockets += [client, upstream]
            threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._answer, args=(upstream, client), daemon=True).start()

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        first = True
        try:
            while data := client.recv(CHUNK):
                if first and data.startswith(b"zINSTREAM"):
                    self.scans += 1
                first = False
                self.received += len(data)
                self._open.wait()
                time.sleep(self.delay)
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _shut(upstream)

    @staticmethod
    def _answer(upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(CHUNK):
                client.sendall(data)
        except OSError:
            pass
        finally:
            _shut(client)

    def close(self) -> None:
        self._open.set()
        for sock in self._sockets:
            sock.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
