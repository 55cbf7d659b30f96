"""One exiftool process per run, kept open (``-stay_open True -@ -``) and shared by every caller.

Starting Perl and loading exiftool costs more than the work itself: an embedded write used to start
it two or three times (write, read back, and the ACDSee tree). Here one process is started on first
use and takes every command through its argument pipe; a lock keeps the GUI's export thread and the
worker from interleaving, a process that died is started again, and it is closed at exit.

Driven directly rather than through PyExifTool (0.5.6): its reads have no timeout, and when exiftool
dies in the middle of a command they spin forever on the closed pipe (a SIGKILL hangs the caller and,
with a shared process, every caller); it starts exiftool with ``preexec_fn``, unsafe in a threaded
app; it reads stdout to the end before stderr (a long stderr would deadlock); and it writes arguments
as lines without the argfile rules below. Reading both pipes on threads with a deadline is short.

An argfile line is not an argv entry: exiftool strips leading white space, drops lines starting
with ``#``, trims the space after ``=`` and cannot hold a newline. Such arguments go as ``#[CSTR]``
lines (C escapes); the few a C string cannot carry either (``$`` and ``@`` come back escaped) and
exiftool's own ``-execute``/``-stay_open``/``-@`` run as one exiftool call of their own, as before.
``--`` cannot be sent (the ``-execute`` after it would be read as a file name): the file names
after it are sent as paths that cannot pass for options.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO

from joytag_desktop.errors import JoyTagError

_PR_SET_PDEATHSIG = 1
_STATUS_VERSION = (12, 10)  # ``${status}`` in -echo4, how a command's exit status is read back
_PLAIN_MANGLED = re.compile(rb"^\s|^#|^-[-:\w]+#?(\s+[-+<]?=|[-+<]?= )")  # lines exiftool would alter
_CONTROL = re.compile(rb"^-(execute\d*|stay_open|@)$", re.IGNORECASE)  # its own stay-open commands
_STATUS = re.compile(rb"=(-?\d+)=done(\d+)\s*$")
# Python writes file names as UTF-8 (its file system encoding); POSIX exiftool takes their bytes as
# they are, Windows' needs to be told.
_FILE_NAMES_IN_UTF8 = b"-charset\nfilename=utf8\n" if sys.platform == "win32" else b""


class ExifToolError(JoyTagError):
    """exiftool is missing, stopped, or gave no answer in time."""


@dataclass(frozen=True)
class ExifToolResult:
    """What one exiftool command printed and its exit status (as ``subprocess.run`` gives them)."""

    returncode: int
    stdout: str
    stderr: str


def file_argument(path: str | os.PathLike[str]) -> str:
    """A path as a file argument: a relative name exiftool could take for something else (an option,
    ``-`` for standard input, ``#`` for a comment line) gets ``./`` in front."""
    text = os.fspath(path)
    if not os.path.isabs(text) and (text[:1] in ("-", "#") or text[:1].isspace()):
        return os.path.join(".", text)
    return text


def _argfile_line(argument: str) -> bytes | None:
    """One argument as an argfile line, or None when no line carries it unchanged."""
    raw = os.fsencode(argument)
    if _CONTROL.match(raw):
        return None
    if not _PLAIN_MANGLED.search(raw) and b"\n" not in raw and b"\r" not in raw:
        return raw + b"\n"
    if b"$" in raw or b"@" in raw:
        return None
    escaped = raw.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r").replace(b"\t", b"\\t")
    return b"#[CSTR]" + escaped + b"\n"


def _without_end_of_options(arguments: Sequence[str]) -> list[str]:
    """``--`` read from the argument pipe would make the ``-execute`` after it a file name: the file
    names after it go as paths that cannot pass for options instead."""
    if "--" not in arguments:
        return list(arguments)
    end = arguments.index("--")
    return [*arguments[:end], *(file_argument(name) for name in arguments[end + 1 :])]


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _executable() -> str:
    found = shutil.which("exiftool")
    if found is None:
        raise ExifToolError("exiftool is not installed")
    return found


def run_once(arguments: Sequence[str], timeout: float) -> ExifToolResult:
    """One exiftool process for one command (arguments no argfile line carries, or an old exiftool)."""
    try:
        done = subprocess.run([_executable(), *arguments], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ExifToolError(f"exiftool gave no answer within {timeout:.0f} s; stopped it") from None
    except OSError as exc:
        raise ExifToolError(f"cannot start exiftool ({exc.strerror or exc})") from None
    return ExifToolResult(done.returncode, _decode(done.stdout), _decode(done.stderr))


class _Pipe:
    """Everything a pipe of the process has printed so far, read on a thread of its own."""

    def __init__(self, stream: IO[bytes], changed: threading.Condition) -> None:
        self.data = bytearray()
        self.ended = False
        self._changed = changed
        threading.Thread(target=self._pump, args=(stream,), name="exiftool-pipe", daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        try:
            while chunk := os.read(stream.fileno(), 65536):
                with self._changed:
                    self.data += chunk
                    self._changed.notify_all()
        except (OSError, ValueError):
            pass
        stream.close()
        with self._changed:
            self.ended = True
            self._changed.notify_all()


def _parent_death_signal() -> Callable[[int, int], int] | None:
    """Linux's prctl, which makes the kernel stop exiftool when this process ends, however it ends:
    an exiftool whose argument pipe closed polls it forever rather than exiting (exiftool 12.57)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


class _Spawner:
    """Starts exiftool from one thread that lives as long as the interpreter: Linux sends the parent
    death signal when the *thread* that started a process ends, and the GUI's pool threads come and go."""

    def __init__(self) -> None:
        self._prctl = _parent_death_signal()
        self.forget_after_fork()

    def forget_after_fork(self) -> None:
        """A fresh queue and no thread (in a forked child, the serving thread is the parent's)."""
        self._requests: queue.SimpleQueue[tuple[Future[subprocess.Popen[bytes]], list[str], str]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, command: list[str], folder: str) -> subprocess.Popen[bytes]:
        if self._prctl is None:
            return self._popen(command, folder)
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="exiftool-parent", daemon=True)
                self._thread.start()
        started: Future[subprocess.Popen[bytes]] = Future()
        self._requests.put((started, command, folder))
        return started.result()

    def _serve(self) -> None:
        while True:
            started, command, folder = self._requests.get()
            try:
                started.set_result(self._popen(command, folder))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
                started.set_exception(exc)

    def _popen(self, command: list[str], folder: str) -> subprocess.Popen[bytes]:
        pipe = subprocess.PIPE
        prctl, parent = self._prctl, os.getpid()
        if prctl is None:  # not Linux (Windows takes no preexec_fn at all)
            return subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, cwd=folder)

        def in_child() -> None:  # between fork and exec: prctl and getppid only, no Python lock
            prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() != parent:  # this process ended before the signal was set up
                os._exit(1)

        return subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, cwd=folder, preexec_fn=in_child)


class ExifToolProcess:
    """A long-lived ``exiftool -stay_open True -@ -``, started on first use, one command at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._process: subprocess.Popen[bytes] | None = None
        self._out: _Pipe | None = None
        self._err: _Pipe | None = None
        self._number = 0
        self._folder = ""
        self._one_shot = False  # an exiftool older than ``_STATUS_VERSION``: one process per command

    def execute(self, arguments: Sequence[str], timeout: float = 120) -> ExifToolResult:
        """Run one command; raises ExifToolError when exiftool is missing, dies or hangs past ``timeout``."""
        lines = [_argfile_line(argument) for argument in _without_end_of_options(arguments)]
        if any(line is None for line in lines):
            return run_once(arguments, timeout)
        command = _FILE_NAMES_IN_UTF8 + b"".join(line for line in lines if line is not None)
        with self._lock:
            if self._one_shot:
                return run_once(arguments, timeout)
            try:
                folder = os.getcwd()
            except OSError:  # the current folder was deleted: relative names mean what they meant
                return run_once(arguments, timeout)
            for attempt in range(2):
                self._start_if_needed(folder, timeout)
                if self._one_shot:
                    return run_once(arguments, timeout)
                self._number += 1
                number = self._number
                trailer = f"-echo4\n=${{status}}=done{number}\n-execute{number}\n".encode()
                try:
                    self._send(command + trailer)
                except OSError:  # it died while idle (killed, or the system stopped it): start another
                    self._stop()
                    if attempt:
                        raise ExifToolError("exiftool stopped as soon as it was started") from None
                    continue
                return self._receive(number, time.monotonic() + timeout, timeout)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Ask exiftool to finish (at exit); one that is busy or does not finish in time is killed."""
        if not self._lock.acquire(timeout=5):
            self._stop()
            return
        try:
            process = self._process
            if process is not None and process.poll() is None:
                with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                    self._send(b"-stay_open\nFalse\n")
                    process.wait(timeout=5)
            self._stop()
        finally:
            self._lock.release()

    def forget_after_fork(self) -> None:
        """In a forked child: the parent's process and lock are not this process's to use."""
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._process = self._out = self._err = None

    def _start_if_needed(self, folder: str, timeout: float) -> None:
        """Start exiftool unless it runs, in the current folder: relative names are read from where
        the process started, so a change of folder (tests, rarely anything else) starts another."""
        if self._process is not None and self._process.poll() is None and self._folder == folder:
            return
        self._stop()
        self._folder = folder
        try:
            self._process = _spawner.start([_executable(), "-stay_open", "True", "-@", "-"], folder)
        except OSError as exc:
            raise ExifToolError(f"cannot start exiftool ({exc.strerror or exc})") from None
        assert self._process.stdout is not None and self._process.stderr is not None
        self._out = _Pipe(self._process.stdout, self._changed)
        self._err = _Pipe(self._process.stderr, self._changed)
        # The version first: an exiftool too old to report a command's status runs one call per command.
        try:
            self._send(b"-ver\n-execute0\n")
        except OSError:
            self._stop()
            raise ExifToolError("exiftool stopped as soon as it was started") from None
        version = self._wait(b"{ready0}", None, time.monotonic() + timeout, timeout)[0]
        numbers = tuple(int(part) for part in re.findall(rb"\d+", version)[:2])
        if numbers < _STATUS_VERSION:
            self._one_shot = True
            self._stop()

    def _send(self, data: bytes) -> None:
        assert self._process is not None and self._process.stdin is not None
        self._process.stdin.write(data)
        self._process.stdin.flush()

    def _receive(self, number: int, deadline: float, timeout: float) -> ExifToolResult:
        stdout, stderr = self._wait(f"{{ready{number}}}".encode(), number, deadline, timeout)
        status = _STATUS.search(stderr)
        assert status is not None  # ``_wait`` returns once it is there
        return ExifToolResult(int(status.group(1)), _decode(stdout), _decode(stderr[: status.start()]))

    def _wait(self, ready: bytes, number: int | None, deadline: float, timeout: float) -> tuple[bytes, bytes]:
        """What the command printed on stdout (before ``ready``) and stderr (its status line included)."""
        assert self._out is not None and self._err is not None
        out, err = self._out, self._err
        with self._changed:
            while True:
                out_done = bytes(out.data[-len(ready) - 4 :]).rstrip().endswith(ready)
                status = _STATUS.search(bytes(err.data[-64:])) if number is not None else None
                if out_done and (number is None or (status is not None and int(status.group(2)) == number)):
                    stdout, stderr = bytes(out.data[: out.data.rfind(ready)]), bytes(err.data)
                    out.data.clear()
                    err.data.clear()
                    return stdout, stderr
                if out.ended or err.ended:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._stop()
                    raise ExifToolError(f"exiftool gave no answer within {timeout:.0f} s; stopped it")
                self._changed.wait(remaining)
        code = self._stop()
        raise ExifToolError(f"exiftool stopped while working (exit status {code}); it starts again for the next file")

    def _stop(self) -> int | None:
        """Kill the process if it runs and drop it (the next command starts a new one); its exit status.
        Its stdout and stderr are closed by their reading threads, which see the end of the pipe."""
        process, self._process = self._process, None
        self._out = self._err = None
        if process is None:
            return None
        if process.poll() is None:
            process.kill()
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if process.stdin is not None:
            with contextlib.suppress(OSError):  # a broken pipe's unflushed bytes
                process.stdin.close()
        return code


_spawner = _Spawner()
_shared = ExifToolProcess()
atexit.register(_shared.close)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_spawner.forget_after_fork)
    os.register_at_fork(after_in_child=_shared.forget_after_fork)


def run(arguments: Sequence[str], timeout: float = 120) -> ExifToolResult:
    """Run one exiftool command in the run's shared exiftool process."""
    return _shared.execute(arguments, timeout)
