"""The background tagging worker: a plain Python thread the CLI and the GUI both drive.

It loads the model in its own thread, tags pending images whenever it is woken (new
files, a rescan, a retag request), and can be paused, resumed and cancelled. On the CPU
it uses one core fewer than the machine has and runs at low priority, so the machine
stays usable while a library is tagged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from joytag_desktop.errors import JoyTagError
from joytag_desktop.library.library import Library
from joytag_desktop.library.work import LEASE_SECONDS, WorkQueue
from joytag_desktop.library.worker_state import FIRST_LOAD, WorkerState
from joytag_desktop.worker.tagging import QUEUE_ERRORS, TaggingProgress, TaggingReport, tag_pending

log = logging.getLogger(__name__)


class WorkerListener(Protocol):
    """What a worker reports; every method is called from the worker thread."""

    def worker_state(self, state: WorkerState, detail: str) -> None: ...
    def worker_progress(self, progress: TaggingProgress) -> None: ...
    def worker_error(self, message: str) -> None: ...
    def worker_finished(self, report: TaggingReport) -> None: ...


class LoggingListener:
    """Reports to the log (the headless ``watch`` command)."""

    def __init__(self, every: int = 50) -> None:
        self.every = every

    def worker_state(self, state: WorkerState, detail: str) -> None:
        log.info("worker %s%s", state, f": {detail}" if detail else "")

    def worker_progress(self, progress: TaggingProgress) -> None:
        if progress.done % self.every == 0 or progress.done == progress.total:
            left = progress.seconds_left
            log.info(
                "tagged %d of %d (%.1f images/s%s)",
                progress.done,
                progress.total,
                progress.images_per_second,
                f", {left:.0f} s left" if left is not None else "",
            )

    def worker_error(self, message: str) -> None:
        log.error("%s", message)

    def worker_finished(self, report: TaggingReport) -> None:
        log.info(
            "tagging run done: %d tagged, %d failed%s",
            report.tagged,
            report.failed,
            " (cancelled)" if report.cancelled else "",
        )


@dataclass
class WorkerSettings:
    # A model folder or catalogue name, or several; the library's automatic models are run too.
    model: Path | str | list[Path | str] | None = None
    device: str = "auto"
    batch_size: int | None = None
    cpu_threads: int | None = None  # default: all cores but one
    after_commit: Callable[[list[int]], None] | None = None  # e.g. write sidecars for each tagged batch
    # Make the settings' models automatic. False (the GUI at start-up): only a model new to the
    # library becomes automatic; one the user unticked in Settings → Models stays off.
    make_auto: bool = True
    # How long this worker's claims stay its own without news from it (a shared library's leases).
    lease: float = LEASE_SECONDS


class TaggingWorker:
    """Tags the library's pending images in a background thread."""

    def __init__(
        self, library: Library, settings: WorkerSettings | None = None, listener: WorkerListener | None = None
    ) -> None:
        self.library = library
        self.settings = settings or WorkerSettings()
        self.listener: WorkerListener = listener or LoggingListener()
        self.state = WorkerState.STOPPED
        self.device_name = ""
        self._engines: list | None = None  # [(TaggingEngine, ModelInfo)]
        # This worker's one place in the shared queue for its whole life: `status` and the other
        # machines see it idle between bursts rather than a new worker for each.
        self._queue: WorkQueue | None = None
        self._heartbeat = 0.0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        self._held = threading.Event()  # set by a user's cancel: no new run until resume
        self._thread: threading.Thread | None = None
        self._last_error = ""

    # --- control (any thread) ---------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="joytag-worker", daemon=True)
        self._thread.start()
        self.wake()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._cancel.set()
        self._running.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wake(self) -> None:
        """New pending work may exist."""
        self._wake.set()

    def pause(self) -> None:
        self._running.clear()
        self._set_state(WorkerState.PAUSED, "")

    def resume(self) -> None:
        """Go on after a pause or a cancel."""
        self._held.clear()
        self._running.set()
        after = {WorkerState.PAUSED: WorkerState.TAGGING, WorkerState.CANCELLED: WorkerState.IDLE}
        self._set_state(after.get(self.state, self.state), "")
        self.wake()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def held(self) -> bool:
        """Cancelled by the user: nothing is tagged until ``resume``."""
        return self._held.is_set()

    def cancel(self) -> None:
        """Stop the current run and hold: what was tagged is kept, the rest waits until ``resume``.

        Without the hold the next wake (a watcher event, the 5-second poll) would start again.
        """
        self._held.set()
        self._cancel.set()
        self._running.set()
        if self.state not in (WorkerState.TAGGING, WorkerState.LOADING, WorkerState.STOPPED):
            self._set_state(WorkerState.CANCELLED, "")

    def reload_model(self, settings: WorkerSettings | None = None) -> None:
        """Use new settings (model folder, device, batch size) from the next run on."""
        if settings is not None:
            self.settings = settings
        self._engines = None
        self._cancel.set()  # the current run ends; the next one uses the new settings
        self._running.set()
        self.wake()

    # --- the thread --------------------------------------------------------------------------

    def _set_state(self, state: WorkerState, detail: str) -> None:
        self.state = state
        self.listener.worker_state(state, detail)

    def _yield_to_user(self) -> None:
        """Lower this thread's priority (threads torch starts from it inherit it)."""
        with contextlib.suppress(AttributeError, OSError):  # not on every platform
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)

    def _load_engines(self) -> list:
        """The engines of the settings' models (made automatic) and of the library's other
        automatic models whose folders are there, as (TaggingEngine, ModelInfo)."""
        import torch

        from joytag_desktop.inference.device import choose_device
        from joytag_desktop.inference.engine import TaggingEngine
        from joytag_desktop.taggers import open_tagger, recognise

        self._set_state(WorkerState.LOADING, "model")
        given = self.settings.model if isinstance(self.settings.model, list) else [self.settings.model]
        known = {m.id for m in self.library.models()}
        taggers = [open_tagger(m) for m in given]
        infos = [self.library.register_model(t) for t in taggers]
        self.library.add_auto_models([i.name for i in infos if self.settings.make_auto or i.id not in known])
        auto = {m.id: m for m in self.library.models() if m.auto}
        kept = [(t, i) for t, i in zip(taggers, infos, strict=True) if i.id in auto]
        taggers, infos = [t for t, _ in kept], [i for _, i in kept]
        for other in auto.values():
            if other.id not in {i.id for i in infos} and other.path and os.path.isdir(other.path):
                taggers.append(recognise(other.path))
                infos.append(self.library.register_model(taggers[-1]))
        if not taggers:
            raise JoyTagError(
                "no model tags new files: choose one (Settings → Models in the window, --model on the command line)"
            )
        # CUDA wanted but not usable: tag on the CPU and say why in the device text, never in silence.
        device, missed_cuda = choose_device(self.settings.device)
        if missed_cuda:
            log.warning("tagging on the CPU: %s", missed_cuda)
        if device.type == "cpu":
            # Before the engine: ONNX Runtime and OpenVINO take their thread count when they load.
            torch.set_num_threads(self.settings.cpu_threads or max(1, (os.cpu_count() or 2) - 1))
            from joytag_desktop.inference.conversion import has_converted

            if not all(has_converted(t) for t in taggers):
                self._set_state(WorkerState.LOADING, FIRST_LOAD)  # the window says it takes a while
        for tagger, info in zip(taggers, infos, strict=True):
            # the options kept for the model (JTP-3's --seqlen), as every worker of the library runs it
            options = self.library.model_options(info.id)
            tagger.family.apply_options(tagger, {k: v for k, v in options.items() if k in tagger.family.option_names})
        engines = [
            (TaggingEngine(t, device=str(device), batch_size=self.settings.batch_size), info)
            for t, info in zip(taggers, infos, strict=True)
        ]
        self.device_name = engines[0][0].describe() + (f" — {missed_cuda}" if missed_cuda else "")
        self._last_error = ""
        return engines

    def _fail(self, message: str) -> None:
        """Report a failure once (not every retry), then wait before trying again."""
        self._engines = None
        self._set_state(WorkerState.ERROR, message)
        if message != self._last_error:
            self._last_error = message
            self.listener.worker_error(message)
        self._stop.wait(5.0)

    def _after_commit(self, image_ids: list[int]) -> None:
        hook = self.settings.after_commit
        if hook is None or not image_ids:
            return
        try:
            hook(image_ids)
        except Exception as exc:  # noqa: BLE001 - a metadata problem must not stop tagging
            self.listener.worker_error(f"after tagging: {exc}")

    def _progress(self, progress: TaggingProgress) -> None:
        while not self._running.is_set() and not self._stop.is_set():
            self._running.wait(0.2)
        self.listener.worker_progress(progress)

    def _run(self) -> None:
        self._yield_to_user()
        self._set_state(WorkerState.IDLE, "")
        self._work_queue()
        self._report_to_queue(WorkerState.IDLE)  # seen by `status` and other machines before any work arrives
        while not self._stop.is_set():
            self._wake.wait(5.0)
            self._wake.clear()
            if self._stop.is_set():
                break
            if not self._running.is_set() or self._held.is_set():
                self._report_to_queue(WorkerState.PAUSED if not self._running.is_set() else WorkerState.IDLE)
                continue
            try:
                if not self.library.has_pending():
                    self._report_to_queue(WorkerState.IDLE)
                    continue
                if self._engines is None:
                    self._engines = self._load_engines()
                self._cancel.clear()
                if self._held.is_set():
                    continue  # cancelled while the model loaded
                self._set_state(WorkerState.TAGGING, self.device_name)
                report = TaggingReport()
                queue = self._work_queue()
                for engine, model in self._engines:
                    part = tag_pending(
                        self.library,
                        engine,
                        model,
                        self._progress,
                        self._cancel,
                        after_commit=self._after_commit,
                        queue=queue,
                    )
                    report.tagged, report.failed = report.tagged + part.tagged, report.failed + part.failed
                    report.seconds += part.seconds
                    report.cancelled = part.cancelled
                    if part.cancelled:
                        break
                self.listener.worker_finished(report)
                if not report.cancelled and report.tagged + report.failed and self.library.has_pending():
                    self._wake.set()  # more arrived while we worked
            except JoyTagError as exc:
                self._fail(str(exc))
            except Exception as exc:
                log.exception("tagging worker failed")
                self._fail(f"tagging failed: {type(exc).__name__}: {exc}")
            finally:
                if not self._stop.is_set() and self.state in (WorkerState.TAGGING, WorkerState.LOADING):
                    self._set_state(WorkerState.CANCELLED if self._held.is_set() else WorkerState.IDLE, "")
        self._leave_queue()
        self._set_state(WorkerState.STOPPED, "")

    def _work_queue(self) -> WorkQueue:
        if self._queue is None:
            self._queue = WorkQueue(self.library.database, lease=self.settings.lease)
        self._queue.device = self.device_name  # empty until a model is loaded
        return self._queue

    def _report_to_queue(self, state: WorkerState) -> None:
        """Tell the other machines what this worker does between runs (at once when that changes,
        else once per half lease), so that a long wait for new files does not read as a crash."""
        queue = self._queue
        if queue is None or (state == queue.state and time.monotonic() - self._heartbeat < queue.lease / 2):
            return
        try:
            queue.report(state, retry=False)
        except QUEUE_ERRORS as exc:  # the server is away: the next heartbeat tries again
            log.info("could not report to the shared queue: %s", exc)
        self._heartbeat = time.monotonic()

    def _leave_queue(self) -> None:
        if self._queue is None:
            return
        try:
            self._queue.close()
        except QUEUE_ERRORS as exc:  # unreachable server: the leases run out instead
            log.info("could not say goodbye to the shared queue: %s", exc)
        self._queue = None

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until nothing is pending and the worker is idle (tests, scripts)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.state in (WorkerState.IDLE, WorkerState.ERROR) and not self.library.has_pending():
                return True
            self.wake()
            time.sleep(0.1)
        return False
