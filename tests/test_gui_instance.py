"""One window per library: a second start on the same library hands over to the running window."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from joytag_desktop.gui.single_instance import Claim, SingleInstance, server_name

ROOT = Path(__file__).resolve().parents[1]
UNIX_SOCKETS = pytest.mark.skipif(sys.platform == "win32", reason="Windows names pipes: no socket file is left")


def _socket_path(name: str) -> Path:
    from PySide6.QtCore import QDir

    return Path(QDir.tempPath()) / name


def _claim_elsewhere(qtbot, name: str, argument: str = "") -> Claim:
    """A second start's claim, on its own thread (it blocks) while this thread's loop answers it."""
    found: list[Claim] = []
    thread = threading.Thread(target=lambda: found.append(SingleInstance(name).claim(argument)))
    thread.start()
    qtbot.waitUntil(lambda: bool(found), timeout=15_000)
    thread.join()
    return found[0]


@pytest.fixture
def running(qapp, tmp_path: Path):
    """The window of library A, listening."""
    instance = SingleInstance(server_name(str(tmp_path / "a.sqlite3")))
    assert instance.claim() == Claim.PRIMARY
    yield instance
    instance.close()


def test_a_second_start_on_the_same_library_hands_over(qtbot, running: SingleInstance, tmp_path: Path) -> None:
    asked: list[str] = []
    running.activation_requested.connect(asked.append)
    # Another spelling of the same file names the same server.
    same = server_name(str(tmp_path / "sub" / ".." / "a.sqlite3"))
    assert same == running.name

    assert _claim_elsewhere(qtbot, same, str(tmp_path / "Photos")) == Claim.HANDED_OVER
    qtbot.waitUntil(lambda: asked == [str(tmp_path / "Photos")], timeout=5000)
    assert _claim_elsewhere(qtbot, same) == Claim.HANDED_OVER
    qtbot.waitUntil(lambda: asked[1:] == [""], timeout=5000)


def test_a_start_on_another_library_opens_its_own(qtbot, running: SingleInstance, tmp_path: Path) -> None:
    asked: list[str] = []
    running.activation_requested.connect(asked.append)
    other = SingleInstance(server_name(str(tmp_path / "b.sqlite3")))
    assert other.name != running.name
    started = time.perf_counter()
    assert other.claim() == Claim.PRIMARY
    assert time.perf_counter() - started < 2
    other.close()
    qtbot.wait(50)
    assert asked == []


def test_a_request_that_is_not_ours_raises_nothing(qtbot, running: SingleInstance) -> None:
    from PySide6.QtNetwork import QLocalSocket

    asked: list[str] = []
    running.activation_requested.connect(asked.append)
    client = QLocalSocket()
    client.connectToServer(running.name)
    assert client.waitForConnected(1000)
    client.write(b"GET / HTTP/1.0\n")
    client.flush()
    qtbot.waitUntil(lambda: client.state() == QLocalSocket.LocalSocketState.UnconnectedState, timeout=5000)
    assert asked == []


@UNIX_SOCKETS
def test_a_stale_server_left_behind_is_taken_over(qtbot, qapp, tmp_path: Path) -> None:
    name = server_name(str(tmp_path / "a.sqlite3"))
    stale = _socket_path(name)
    left = socket.socket(socket.AF_UNIX)  # what a killed window leaves: a socket file nobody answers on
    left.bind(str(stale))
    left.close()
    assert stale.exists()

    instance = SingleInstance(name)
    try:
        assert instance.claim() == Claim.PRIMARY
        assert _claim_elsewhere(qtbot, name) == Claim.HANDED_OVER
    finally:
        instance.close()
    assert not stale.exists()


CLAIMER = """
import sys
from PySide6.QtCore import QCoreApplication, QTimer
from joytag_desktop.gui.single_instance import Claim, SingleInstance

app = QCoreApplication([])
instance = SingleInstance(sys.argv[1])
claim = instance.claim()
print(claim.value, flush=True)
if claim == Claim.PRIMARY:
    asked = []
    expected = int(sys.argv[2])

    def count(argument):
        asked.append(argument)
        if len(asked) >= expected:
            QTimer.singleShot(200, app.quit)

    instance.activation_requested.connect(count)
    QTimer.singleShot(60_000, app.quit)  # (with none expected, it is killed meanwhile)
    app.exec()
    instance.close()
"""


def _claimer(name: str, others: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.Popen(
        [sys.executable, "-c", CLAIMER, name, str(others)], stdout=subprocess.PIPE, text=True, env=env
    )


def test_simultaneous_starts_make_one_window(tmp_path: Path) -> None:
    name = server_name(str(tmp_path / "a.sqlite3"))
    starts = [_claimer(name, 2) for _ in range(3)]
    outcomes = sorted(process.communicate(timeout=120)[0].strip() for process in starts)
    assert outcomes == ["handed over", "handed over", "primary"]
    assert not _socket_path(name).exists() or sys.platform == "win32"


@UNIX_SOCKETS
def test_a_killed_window_does_not_keep_its_library(qtbot, qapp, tmp_path: Path) -> None:
    import signal

    name = server_name(str(tmp_path / "a.sqlite3"))
    first = _claimer(name, 0)
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "primary"
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert _socket_path(name).exists()  # left behind

    instance = SingleInstance(name)
    try:
        assert instance.claim() == Claim.PRIMARY
        assert _claim_elsewhere(qtbot, name) == Claim.HANDED_OVER
    finally:
        instance.close()


@UNIX_SOCKETS
def test_the_app_started_twice_on_one_library_keeps_one_window(tmp_path: Path) -> None:
    db = tmp_path / "lib.sqlite3"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "JOYTAG_DESKTOP_HOME": str(tmp_path / "home"),
    }
    command = [sys.executable, "-m", "joytag_desktop", "--db", str(db)]
    name = server_name(str(db))
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _socket_path(name).exists():
            assert first.poll() is None, first.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        started = time.perf_counter()
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        seconds = time.perf_counter() - started
        assert second.returncode == 0, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and "already open in another window" in lines[0] and "brought" in lines[0], lines
        assert first.poll() is None  # the first window stays
        # Another library is not handed over: it opens (and listens) on its own.
        third = subprocess.Popen(
            [*command[:-1], str(tmp_path / "other.sqlite3")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        other = _socket_path(server_name(str(tmp_path / "other.sqlite3")))
        deadline = time.monotonic() + 120
        while not other.exists():
            assert third.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.1)
        third.kill()
        third.wait(30)
        other.unlink()
    finally:
        first.kill()
        first.wait(30)
        _socket_path(name).unlink(missing_ok=True)
    assert seconds < 30, seconds
