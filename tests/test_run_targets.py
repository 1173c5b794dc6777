"""`make run` and `make run-full`, as a newcomer starts them: links follow the port served,
and run-full brings its own virus scanner and takes it down again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _make(*args: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "PORTAL_BASE_URL"}
    environ.update(env)
    result = subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_puts_its_own_port_into_links():
    # -n shows the recipe with the variables expanded, without running it.
    out = _make("-n", "run", "PORT=5101")
    assert "links in mails and letters: http://127.0.0.1:5101/" in out
    assert "run-web-and-worker.sh .venv/bin 127.0.0.1 5101" in out


def test_a_given_base_url_wins():
    out = _make("-n", "run", "PORT=5101", PORTAL_BASE_URL="https://insyn.kommun.example")
    assert "links in mails and letters: https://insyn.kommun.example/" in out


def test_only_the_run_targets_set_the_base_url():
    """`make test` (any other target) gets no PORTAL_BASE_URL from the Makefile."""
    out = _make("--eval", 'probe: ; @echo "[$$PORTAL_BASE_URL]"', "probe", "PORT=5101")
    assert out.strip() == "[]"


SCAN_EICAR = """
import os, socket, sys
sys.path.insert(0, os.getcwd())
from tests.storage.files import EICAR
path = os.environ["PORTAL_CLAMD_URL"].removeprefix("unix://")
with socket.socket(socket.AF_UNIX) as s:
    s.connect(path)
    s.sendall(b"zINSTREAM\\0" + len(EICAR).to_bytes(4, "big") + EICAR + b"\\0\\0\\0\\0")
    print("verdict:", s.recv(200).decode().strip("\\0"))
print("socket:", path)
"""


def test_with_clamd_runs_a_command_with_a_real_scanner_and_stops_it():
    result = subprocess.run(
        ["sh", "scripts/with-clamd.sh", sys.executable, "-c", SCAN_EICAR],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FOUND" in result.stdout and "EICAR" in result.stdout
    (socket_path,) = re.findall(r"socket: (\S+)", result.stdout)
    # Gone afterwards: the clamd process and its temporary folder.
    workdir = Path(socket_path).parent
    assert not workdir.exists()
    running = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
    assert running.stdout.strip() == ""


def test_the_exit_status_of_the_command_is_kept():
    result = subprocess.run(
        ["sh", "scripts/with-clamd.sh", "sh", "-c", "exit 3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 3


def test_make_run_full_serves_with_the_scanner():
    """run-full wraps run in with-clamd.sh (the recipe; running it would serve forever)."""
    makefile = (ROOT / "Makefile").read_text()
    (recipe,) = re.findall(r"^run-full:.*\n\t(.+)$", makefile, flags=re.M)
    assert recipe.strip() == "sh scripts/with-clamd.sh $(MAKE) --no-print-directory run"
    run = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, flags=re.M).group(1)
    assert "storage rescan --include-not-scanned" in run


def test_make_run_serves_with_a_worker_and_one_ctrl_c_stops_both(tmp_path):
    """The recipe's last step, run for real on a fresh instance: the web answers, the worker
    is ready and prints the demo's mails (no mail server in development), and SIGINT to the
    process group, as Ctrl-C sends it, ends both."""
    import signal
    import time
    import urllib.request

    from tests.fixtures_services import free_port

    run = re.search(r"^run:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), flags=re.M)
    assert "sh scripts/run-web-and-worker.sh $(BIN) 127.0.0.1 $(PORT)" in run.group(1)
    bin_dir, port = str(Path(sys.executable).parent), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORTAL_BASE_URL": f"http://127.0.0.1:{port}",
    }
    flask = [f"{bin_dir}/flask", "--app", "portal"]
    for step in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run([*flask, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["sh", "scripts/run-web-and-worker.sh", bin_dir, "127.0.0.1", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except OSError:
                time.sleep(0.3)
                continue
            if "worker ready" in text and "E-MAIL (development" in text:
                break
            time.sleep(0.3)
        text = log.read_text(errors="replace")
        assert "worker ready" in text, text[-3000:]
        assert "E-MAIL (development" in text, text[-3000:]  # demo mails, sent by the worker
        os.killpg(process.pid, signal.SIGINT)
        try:
            # The worker gets at most 10 s after the web ends. Two serial CI runs took more
            # than 30 and 60 s here after the rest of the suite (never alone): say which
            # processes were still there.
            status = process.wait(120)
        except subprocess.TimeoutExpired:
            left = subprocess.run(
                ["ps", "-o", "pid,stat,etime,args", "-g", str(process.pid)],
                capture_output=True,
                text=True,
            ).stdout
            raise AssertionError(f"{left}\n{log.read_text(errors='replace')[-3000:]}") from None
        assert status != 0
        time.sleep(0.5)
        left = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True)
        assert left.stdout == b"", left.stdout
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
