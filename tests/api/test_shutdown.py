"""Stopping `symbiose serve` as people do: Ctrl-C (which `uv run` forwards, so twice), or SIGTERM from a
supervisor, once or twice. Every time the API exits cleanly and the embedded PostgreSQL stops with it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import httpx
import psutil
import pytest
import uvicorn

from api.serving import StopRequest, _Server

ROOT = Path(__file__).resolve().parents[2]
Delivery = tuple[str, tuple[signal.Signals, ...], float]

DELIVERIES: list[Delivery] = [
    ("process", (signal.SIGINT,), 0.0),
    ("process", (signal.SIGTERM,), 0.0),
    ("process", (signal.SIGINT, signal.SIGINT), 0.0),
    ("process", (signal.SIGINT, signal.SIGINT), 0.3),
    ("process", (signal.SIGTERM, signal.SIGTERM), 0.1),
    ("process", (signal.SIGTERM, signal.SIGINT), 0.6),
    # Ctrl-C in a terminal signals the whole process group (children included), then uv forwards it.
    ("group", (signal.SIGINT, signal.SIGINT), 0.0),
    ("group", (signal.SIGINT, signal.SIGINT), 0.4),
    # The reported case: Ctrl-C on `uv run symbiose serve`, which uv forwards to serve a second time.
    ("uv", (signal.SIGINT,), 0.0),
    ("uv", (signal.SIGTERM,), 0.0),
]


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return env | {
        "SYMBIOSE_DATA_DIR": str(data_dir),
        "SYMBIOSE_PORT": str(port),
        "SWEEP_INTERVAL_SECONDS": "0",
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """A data directory whose embedded database is migrated (once, by `symbiose migrate`). It sits
    under the repository's `var/`, not pytest's temporary directory: run as root, the embedded server
    runs as another user, who cannot enter pytest's private (0700) directory."""
    (ROOT / "var").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="test-shutdown-", dir=ROOT / "var"))
    migrated = subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"],
        cwd=ROOT,
        env=_env(path, _free_port()),
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    yield path
    _stop_leftover(path)
    shutil.rmtree(path, ignore_errors=True)


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    if not pid_file.is_file():
        return None
    return int(pid_file.read_text().split()[0])


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _stop_leftover(data_dir: Path) -> None:
    """So a failed test does not leave a server running on the machine."""
    pid = _postmaster_pid(data_dir)
    if pid is not None and _running(pid):
        os.kill(pid, signal.SIGQUIT)


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.communicate()[1].decode()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become ready")


@pytest.mark.parametrize(("target", "signals", "gap_s"), DELIVERIES)
def test_signals_stop_the_api_and_its_embedded_postgresql_without_a_traceback(
    data_dir: Path, target: str, signals: tuple[signal.Signals, ...], gap_s: float
) -> None:
    port = _free_port()
    command = [sys.executable, "-m", "api.cli", "serve"]
    if target == "uv":
        uv = shutil.which("uv")
        if uv is None:
            pytest.skip("uv is not on PATH: the `uv run` case needs it")
        command = [uv, "run", "--no-sync", "symbiose", "serve"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _wait_ready(port, process)
        postmaster = _postmaster_pid(data_dir)
        assert postmaster is not None
        assert _running(postmaster)
        for index, signum in enumerate(signals):
            if index:
                time.sleep(gap_s)
            if target in ("group", "uv"):
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
        _, stderr_bytes = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    stderr = stderr_bytes.decode()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    deadline = time.monotonic() + 5  # a postmaster's children may take a moment to be reaped
    while _running(postmaster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(postmaster), f"PostgreSQL {postmaster} is still up after the API exited\n{stderr}"
    assert _postmaster_pid(data_dir) is None


def test_a_second_signal_inside_the_first_ones_handler_does_not_force_quit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = _Server(uvicorn.Config(lambda scope, receive, send: None), StopRequest())
    uvicorns = uvicorn.Server.handle_exit
    interrupted = False

    def handle_exit(self: uvicorn.Server, sig: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if not interrupted:  # the second SIGINT runs its handler before this one goes on
            interrupted = True
            server.handle_exit(signal.SIGINT, None)
        uvicorns(self, sig, frame)

    monkeypatch.setattr(uvicorn.Server, "handle_exit", handle_exit)
    server.handle_exit(signal.SIGINT, None)
    assert interrupted
    assert server.should_exit
    assert not server.force_exit
