"""One window per library: a second start on the same library hands over to the running window.

The window listens on a local socket (``QLocalServer``) named after the user and the library's
database. A second start connects, asks the running window to come to the front (passing along
an optional file or folder), and exits; a start on another library finds no server and opens.

Two starts at the same moment are put in order by a lock file held only while one of them looks
for a running window and starts listening: the second then finds the first listening. A server
left behind by a killed window (its socket file is still there, nothing answers) is removed and
taken over; a lock file of a killed start is stale once its process is gone (``QLockFile``).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import logging
import os
import time
from enum import Enum

from PySide6.QtCore import QDir, QLockFile, QObject, Signal, SignalInstance
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger("joytag_desktop.gui")
CONNECT_MS = 1000  # a listening server accepts at once; only a busy machine takes longer
ANSWER_MS = 15_000  # the running window answers from its event loop (it may be opening the library)
ELECTION_MS = 10_000  # another start holds the lock this long at most (it only connects or listens)
POLL_MS = 20
MAX_REQUEST = 64 * 1024  # a request is one short line of JSON; anything longer is not ours


class Claim(Enum):
    """What a start found: it is the library's window, or another window has it."""

    PRIMARY = "primary"  # this start opens the window (and listens for later starts)
    HANDED_OVER = "handed over"  # the running window was asked to come to the front and said so
    NO_ANSWER = "no answer"  # a window listens but did not answer (busy): this start still stops


def server_name(database: str | None) -> str:
    """The server's name for a library: the same for every spelling of one database and one user.

    A hash, so that it is short enough for a socket path and says nothing of the path or URL.
    """
    from joytag_desktop.library.db import database_url

    url = database_url(database)
    if url.startswith("sqlite:///"):
        url = "sqlite:///" + os.path.realpath(url.removeprefix("sqlite:///"))
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name (a container's bare uid)
        user = str(os.getuid()) if hasattr(os, "getuid") else ""
    digest = hashlib.sha256(f"{user}\0{url}".encode()).hexdigest()[:24]
    return f"joytag-desktop-{digest}"


class SingleInstance(QObject):
    """The library's one window: ``claim`` at start; ``activation_requested`` when another start
    hands over to this one."""

    activation_requested = Signal(str)  # the file or folder the other start was given ("" if none)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.server: QLocalServer | None = None

    # --- starting ------------------------------------------------------------------------------

    def claim(self, argument: str = "") -> Claim:
        """Become the library's window (listen), or hand over to the window that has it."""
        lock = QLockFile(os.path.join(QDir.tempPath(), self.name + ".lock"))
        lock.setStaleLockTime(0)  # stale only when the process that holds it is gone, never by age
        locked = lock.tryLock(ELECTION_MS)
        if not locked:  # another start holds it for longer than it ever should: look anyway
            log.warning("single instance: the start-up lock %s stays taken", lock.fileName())
        try:
            socket = QLocalSocket()
            socket.connectToServer(self.name)
            if socket.waitForConnected(CONNECT_MS):
                if locked:
                    lock.unlock()  # the running window is found: the other starts need not wait
                return _hand_over(socket, argument)
            self._listen()
            return Claim.PRIMARY
        finally:
            if locked and lock.isLocked():
                lock.unlock()

    def _listen(self) -> None:
        """Listen, removing first a server that no one answers on (a killed window's socket)."""
        QLocalServer.removeServer(self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user's starts only
        if not server.listen(self.name):
            # The window opens all the same: one window per library is a convenience, not a lock.
            log.warning("single instance: cannot listen on %s: %s", self.name, server.errorString())
            server.deleteLater()
            return
        server.newConnection.connect(self._connected)
        self.server = server

    def close(self) -> None:
        """Stop listening (the window closes): a new start opens a window of its own."""
        if self.server is not None:
            self.server.close()
            self.server.deleteLater()
            self.server = None

    def follow(self, closing: SignalInstance) -> None:
        """Stop listening once the window closes for good (``closing``): until then, while it asks
        about work in flight or finishes its edits, a new start brings it to the front."""
        closing.connect(self.close)

    # --- being asked -----------------------------------------------------------------------------

    def _connected(self) -> None:
        server = self.server
        while server is not None and (socket := server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda socket=socket: self._read(socket))
            socket.disconnected.connect(socket.deleteLater)
            if socket.canReadLine():
                self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            if socket.bytesAvailable() > MAX_REQUEST:
                socket.abort()
            return
        line = bytes(socket.readLine(MAX_REQUEST).data())
        try:
            request = json.loads(line)
        except ValueError:
            request = None
        if not isinstance(request, dict) or request.get("request") != "raise":
            log.warning("single instance: ignored a request that is not ours")
            socket.abort()
            return
        argument = request.get("argument")
        socket.write(b"ok\n")
        socket.flush()
        socket.disconnectFromServer()
        self.activation_requested.emit(argument if isinstance(argument, str) else "")


def _hand_over(socket: QLocalSocket, argument: str) -> Claim:
    """Ask the running window to come to the front; whether it said it did."""
    socket.write(json.dumps({"request": "raise", "argument": argument}).encode() + b"\n")
    socket.waitForBytesWritten(CONNECT_MS)
    answer = b""
    deadline = time.monotonic() + ANSWER_MS / 1000
    # Short waits: a wait holds Python's lock, and a window in this same process (the tests) answers
    # from Python only between them.
    while b"\n" not in answer and len(answer) < MAX_REQUEST and time.monotonic() < deadline:
        if socket.bytesAvailable():
            answer += bytes(socket.readAll().data())
        elif socket.state() != QLocalSocket.LocalSocketState.ConnectedState:
            break
        else:
            socket.waitForReadyRead(POLL_MS)
    with contextlib.suppress(RuntimeError):
        socket.disconnectFromServer()
    return Claim.HANDED_OVER if answer.startswith(b"ok") else Claim.NO_ANSWER
