"""Real services for the tests: clamd and an S3 server (moto), as session-wide fixtures.

Loaded as a pytest plugin (``pytest_plugins = ["tests.fixtures_services"]``).
The classes are plain Python so that ``bench/upload.py`` can start the same
services. A service that cannot start is a loud failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "clamav"
ENSURE_CLAMD = DATA / "ensure-clamd.sh"
CLAMD_CONF = DATA / "clamd.conf.in"
SIGNATURES = DATA / "insyn-test.ndb"
# Above every upload limit the tests use (the 300 MB memory test included).
TEST_CLAMD_MAX_BYTES = 400 * 1024 * 1024


class ServiceError(RuntimeError):
    """A test service could not be started."""


def find_clamd() -> str:
    """The clamd binary; installs Debian's clamav-daemon first when missing (as root)."""
    for candidate in (shutil.which("clamd"), "/usr/sbin/clamd"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    result = subprocess.run(["sh", str(ENSURE_CLAMD)], capture_output=True, text=True)
    found = shutil.which("clamd") or (
        "/usr/sbin/clamd" if os.access("/usr/sbin/clamd", os.X_OK) else None
    )
    if result.returncode != 0 or not found:
        raise ServiceError(
            "clamd is not installed and could not be installed "
            f"(run {ENSURE_CLAMD} as root, or apt-get install clamav-daemon):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return found


def clamd_ping(socket_path: str, timeout: float = 2.0) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(b"zPING\0")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False


class ClamdService:
    """Debian's clamd in the foreground on a unix socket, with the project's config and
    signature database, in a private temporary folder. No network, no freshclam."""

    def __init__(self, max_bytes: int = TEST_CLAMD_MAX_BYTES, workdir: str | None = None):
        self.binary = find_clamd()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="insyn-clamd-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_path = str(self.workdir / "clamd.sock")
        self.max_bytes = max_bytes
        self.process: subprocess.Popen | None = None
        self._render_config()

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _render_config(self) -> None:
        database = self.workdir / "db"
        temp = self.workdir / "tmp"
        database.mkdir(exist_ok=True)
        temp.mkdir(exist_ok=True)
        shutil.copy(SIGNATURES, database / SIGNATURES.name)
        values = {
            "SOCKET": self.socket_path,
            "PIDFILE": str(self.workdir / "clamd.pid"),
            "DATABASE_DIR": str(database),
            "TEMP_DIR": str(temp),
            "LOGFILE": str(self.workdir / "clamd.log"),
            "MAX_BYTES": f"{-(-self.max_bytes // (1024 * 1024))}M",
            # clamd caps its size limits at 4000M.
            "MAX_SCAN_BYTES": f"{min(4000, 4 * -(-self.max_bytes // (1024 * 1024)))}M",
        }
        text = CLAMD_CONF.read_text()
        for name, value in values.items():
            text = text.replace(f"@{name}@", value)
        self.config = self.workdir / "clamd.conf"
        self.config.write_text(text)

    def log(self) -> str:
        parts = []
        for name in ("clamd.out", "clamd.log"):
            path = self.workdir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        out = open(self.workdir / "clamd.out", "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [self.binary, f"--config-file={self.config}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceError(f"clamd exited with {self.process.returncode}:\n{self.log()}")
            if clamd_ping(self.socket_path):
                return
            time.sleep(0.05)
        self.stop()
        raise ServiceError(f"clamd did not answer PING within {timeout:.0f} s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        Path(self.socket_path).unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class HangingClamd:
    """A unix socket that accepts connections and never answers (timeout tests).

    With ``read=True`` it swallows everything sent, so the client waits for a
    verdict; with ``read=False`` it reads nothing, so the client's sends block.
    """

    def __init__(self, read: bool = True):
        self.workdir = Path(tempfile.mkdtemp(prefix="insyn-hang-"))
        self.socket_path = str(self.workdir / "clamd.sock")
        self.read = read
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(self.socket_path)
        self._server.listen(16)
        self._connections: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._connections.append(conn)
            if self.read:
                threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    @staticmethod
    def _swallow(conn: socket.socket) -> None:
        try:
            while conn.recv(1 << 16):
                pass
        except OSError:
            pass

    def close(self) -> None:
        self._stopping.set()
        self._server.close()
        for conn in self._connections:
            conn.close()
        shutil.rmtree(self.workdir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Service:
    """moto's S3 as a real HTTP endpoint on 127.0.0.1, in this process; stop and start
    keep the port and the stored objects (moto keeps its state in memory)."""

    ACCESS_KEY = "insyn-test"
    SECRET_KEY = "insyn-test-secret"

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._server = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url_for(self, bucket: str) -> str:
        return f"s3://{self.ACCESS_KEY}:{self.SECRET_KEY}@{self.endpoint}/{bucket}?secure=false"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        try:
            server.start()
        except OSError as exc:
            raise ServiceError(f"moto S3 server could not start on {self.endpoint}: {exc}") from exc
        self._server = server
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise ServiceError(f"moto S3 server did not listen on {self.endpoint}")

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        # ThreadedMotoServer.stop() leaves the listening socket open: close it to free the port.
        self._server._server.server_close()
        self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _env_credentials() -> None:
    # moto reads these; they must never be real credentials.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", S3Service.ACCESS_KEY)
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", S3Service.SECRET_KEY)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


# --- pytest fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def clamd_service():
    """The session's clamd; tests may ``stop()`` it (``clamd_url`` restarts it for the next)."""
    try:
        service = ClamdService()
        service.start()
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield service
    service.close()


@pytest.fixture
def clamd_socket(clamd_service) -> str:
    """Path of a running clamd's unix socket."""
    if not clamd_service.running:
        clamd_service.start()
    return clamd_service.socket_path


@pytest.fixture
def clamd_url(clamd_socket) -> str:
    """``unix:///…/clamd.sock`` of a running clamd, as PORTAL_CLAMD_URL takes it."""
    return f"unix://{clamd_socket}"


@pytest.fixture
def hanging_clamd():
    """A clamd look-alike that accepts and never answers."""
    fake = HangingClamd()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def s3_server():
    """The session's S3 endpoint (moto); tests may ``stop()`` it (``s3_url`` restarts it)."""
    _env_credentials()
    service = S3Service()
    try:
        service.start()
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield service
    service.stop()


@pytest.fixture
def s3_url(s3_server):
    """A storage URL for a fresh, empty bucket on the running S3 server."""
    if not s3_server.running:
        s3_server.start()
    url = s3_server.url_for(f"insyn-test-{uuid.uuid4().hex[:12]}")
    yield url
    if s3_server.running:
        from storage.store import open_store

        store = open_store(url)
        for info in list(store.list()):
            store.delete(info.key)
