"""Watching library folders with watchdog and feeding settled changes to the library.

Events are coalesced per path and applied only once a file has been quiet *and* its size
and mtime are stable for ``settle_seconds``, so a camera import or a large copy is read
once, complete. Moves and deletions are applied in the order they happened.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from joytag_desktop.interchange.keyword_sync import import_found
from joytag_desktop.library.changes import ChangeReport
from joytag_desktop.library.library import Library
from joytag_desktop.library.schema import Root

log = logging.getLogger(__name__)
APPLY_CHUNK = 500
INOTIFY_FIX = (
    "raise the limit, e.g. `echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/40-joytag.conf "
    "&& sudo sysctl --system`"
)


@dataclass
class _Pending:
    last_event: float
    stat: tuple[int, float] | None = None


@dataclass
class WatchState:
    watched: list[str] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)  # could not be watched: rescanned periodically
    offline: list[str] = field(default_factory=list)


def _signature(path: str) -> tuple[int, float] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher._record(event)


class FolderWatcher:
    """One watchdog observer over every watched root, plus a thread that applies settled changes."""

    def __init__(
        self,
        library: Library,
        settle_seconds: float = 1.0,
        poll_seconds: float = 0.2,
        rescan_seconds: float = 300.0,
        on_change: Callable[[ChangeReport], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.library = library
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds
        self.rescan_seconds = rescan_seconds
        self.on_change = on_change
        self.on_warning = on_warning or (lambda message: log.warning("%s", message))
        self.state = WatchState()
        self._lock = threading.Lock()
        self._roots_lock = threading.Lock()  # refresh_roots: the window's threads and the periodic rescan
        self._pending: dict[str, _Pending] = {}
        self._ops: list[tuple[str, str, str]] = []  # ("deleted", path, "") or ("moved", src, dest)
        self._stop = threading.Event()
        self._observer = Observer()
        self._watches: dict[str, ObservedWatch] = {}
        self._thread = threading.Thread(target=self._run, name="joytag-watcher", daemon=True)
        self._limit_warned = False
        self._busy = False
        self._last_rescan = time.monotonic()

    # --- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start watching (from any thread; nothing happens once ``stop`` was called)."""
        with self._lock:
            if self._stop.is_set() or self._thread.is_alive():
                return
            self._observer.start()
            self._thread.start()
        self.refresh_roots()

    def stop(self) -> None:
        """Stop watching (safe to call before ``start`` or twice)."""
        with self._lock:  # a start running in another thread finishes first, or never begins
            self._stop.set()
        if self._observer.is_alive():
            self._observer.stop()
            self._observer.join(10)
        if self._thread.is_alive():
            self._thread.join(10)

    def __enter__(self) -> FolderWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def refresh_roots(self) -> WatchState:
        """(Re)schedule watches to match the library's watched, online roots (from any thread)."""
        with self._roots_lock:
            return self._refresh_roots()

    def _refresh_roots(self) -> WatchState:
        roots = [r for r in self.library.roots() if r.watched]
        wanted = {r.path for r in roots if os.path.isdir(r.path)}
        for path in list(self._watches):
            if path not in wanted:
                self._observer.unschedule(self._watches.pop(path))
        state = WatchState(offline=[r.path for r in roots if r.path not in wanted])
        for path in sorted(wanted):
            if path not in self._watches:
                self._schedule(path)
            (state.watched if path in self._watches else state.polled).append(path)
        self.state = state
        return state

    def _schedule(self, path: str) -> None:
        try:
            self._watches[path] = self._observer.schedule(_Handler(self), path, recursive=True)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE) or "limit" in str(exc).lower():
                if not self._limit_warned:
                    self._limit_warned = True
                    self.on_warning(
                        f"The system's limit on watched folders was reached, so {path} (and any further "
                        f"large folders) will be rescanned every {self.rescan_seconds / 60:g} minutes instead "
                        f"of watched live. To watch them live, {INOTIFY_FIX}."
                    )
            else:
                self.on_warning(f"cannot watch {path}: {exc}; it will be rescanned periodically")

    # --- events ---------------------------------------------------------------------------------

    def _record(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        source = os.fsdecode(event.src_path)
        now = time.monotonic()
        with self._lock:
            if kind == "moved":
                destination = os.fsdecode(event.dest_path)
                self._pending.pop(source, None)
                self._ops.append(("moved", source, destination))
            elif kind == "deleted":
                self._pending.pop(source, None)
                self._ops.append(("deleted", source, ""))
            elif kind in ("created", "modified", "closed"):
                if event.is_directory and kind != "created":
                    return  # a folder's mtime changes with every file added
                entry = self._pending.setdefault(source, _Pending(now))
                entry.last_event = now
                entry.stat = _signature(source)

    def _take_settled(self) -> tuple[list[tuple[str, str, str]], list[str]]:
        now = time.monotonic()
        with self._lock:
            ops, self._ops = self._ops, []
            candidates = [p for p, e in self._pending.items() if now - e.last_event >= self.settle_seconds]
        ready: list[str] = []
        for path in candidates:
            signature = _signature(path)  # None: gone or unreadable, the library decides
            with self._lock:
                entry = self._pending.get(path)
                if entry is None:
                    continue
                if signature is not None and entry.stat != signature and not os.path.isdir(path):
                    entry.stat = signature  # changed without an event since: wait another interval
                    entry.last_event = now
                    continue
                del self._pending[path]
            ready.append(path)
        return ops, ready

    @property
    def backlog(self) -> int:
        """Events recorded but not yet applied (including a batch being applied now)."""
        with self._lock:
            return len(self._pending) + len(self._ops) + self._busy

    # --- the applying thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self._apply_once()
                if time.monotonic() - self._last_rescan >= self.rescan_seconds:
                    self._last_rescan = time.monotonic()
                    self._periodic_rescan()
            except Exception:
                log.exception("applying file changes failed; continuing")

    def _apply_once(self) -> None:
        with self._lock:
            self._busy = True
        try:
            ops, ready = self._take_settled()
            # Moves and deletions keep their order: consecutive ones of a kind go in one transaction.
            run_kind, run = "", []
            for kind, a, b in [*ops, ("end", "", "")]:
                if run and (kind != run_kind or len(run) >= APPLY_CHUNK):
                    if run_kind == "moved":
                        self._emit(self._apply(moved=run))
                    else:
                        self._emit(self._apply(deleted=[a for a, _ in run]))
                    run = []
                run_kind = kind
                run.append((a, b))
            for start in range(0, len(ready), APPLY_CHUNK):
                self._emit(self._apply(created=ready[start : start + APPLY_CHUNK]))
        finally:
            with self._lock:
                self._busy = False

    def _apply(
        self, created: Sequence[str] = (), deleted: Sequence[str] = (), moved: Sequence[tuple[str, str]] = ()
    ) -> ChangeReport:
        """Index the changes, then import the keywords they brought (sidecars written by other programs)."""
        return import_found(self.library, self.library.apply_changes(created=created, deleted=deleted, moved=moved))

    def _emit(self, report: ChangeReport) -> None:
        for path, reason in report.errors:
            log.warning("cannot index %s: %s", path, reason)
        if self.on_change is not None:
            self.on_change(report)

    def _periodic_rescan(self) -> None:
        """Rescan roots that could not be watched, and pick up roots that came back online."""
        before = set(self.state.offline)
        state = self.refresh_roots()
        back = [p for p in before if p not in state.offline]
        targets = [Root(path=p) for p in state.polled + back]
        if targets:
            report = import_found(self.library, self.library.scan([t.path for t in targets]))
            if self.on_change is not None:
                self.on_change(
                    ChangeReport(
                        added=report.added,
                        changed=report.changed,
                        moved=report.moved,
                        missing=report.missing,
                        errors=report.errors,
                        turned_ids=report.turned_ids,  # turned in a sidecar by another program
                    )
                )

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every recorded event has been applied (for tests and orderly shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.backlog == 0:
                return True
            time.sleep(self.poll_seconds)
        return False
