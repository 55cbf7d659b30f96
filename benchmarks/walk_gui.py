"""A walk through the real window at 100,000 images: open, scroll, select all, add a tag to all,
export their sidecars, quit during the export. Prints what a user would wait for, step by step.

    xvfb-run -a -s "-screen 0 1920x1080x24" python benchmarks/walk_gui.py [--images 100000] [--shots DIR]

Uses the synthetic library of bench_library.py. Its images are hard links to one small JPEG (made
under --workdir), so the export writes real sidecars; the window starts without its scan and
worker (the synthetic files would all look changed). Screenshots of the progress and of the quit
question go to --shots.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from bench_library import _small_jpeg, generate, synthetic_models
from PySide6.QtCore import QCoreApplication, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from common import machine
from joytag_desktop.gui.i18n import install_translators
from joytag_desktop.gui.main_window import MainWindow
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.library import Library


def wait_until(app: QCoreApplication, condition, timeout: float = 600.0) -> float:
    """Seconds until ``condition()`` holds, the event loop running meanwhile."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.002)
    return time.perf_counter() - start


def link_files(db: Path, folder: Path) -> None:
    """Point every synthetic image at a hard link to a small JPEG under ``folder`` (a new source
    every 50,000 links: file systems cap a file's links)."""
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT id, folder, name FROM images").fetchall()
        updates = []
        for index, (image_id, relative, name) in enumerate(rows):
            source = folder / f"source-{index // 50_000}.jpg"
            if not source.exists():
                source.write_bytes(_small_jpeg())
            target = folder / relative / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                os.link(source, target)
            updates.append((str(target), image_id))
        connection.executemany("UPDATE images SET path = ? WHERE id = ?", updates)
        connection.execute("UPDATE roots SET path = ?", (str(folder / "synthetic"),))


def sidecars(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.xmp"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-walk-gui")
    parser.add_argument("--shots", type=Path, default=None, help="where screenshots go")
    parser.add_argument("--export-seconds", type=float, default=5.0, help="how long the export runs before quitting")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    os.environ["JOYTAG_DESKTOP_HOME"] = str(work / "home")
    db = work / f"walk-{args.images}.sqlite3"
    if not db.exists():
        names, categories, models = synthetic_models(1, 5813, 10_861, 4000)
        generate(db, args.images, 40, models, names, categories)
        link_files(db, work / "files")
    figures: dict[str, float | int] = {"images": args.images}
    app = QApplication.instance() or QApplication([])
    library = Library(db)
    settings = GuiSettings(QSettings(str(work / "gui.ini"), QSettings.Format.IniFormat))
    settings.store.clear()
    install_translators(app, settings)  # as the app does: plural forms, the locale's digits

    def shoot(name: str) -> None:
        if args.shots is not None:
            args.shots.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(args.shots / f"{name}.png"))

    start = time.perf_counter()
    window = MainWindow(library, settings, start_worker=False)
    window.resize(1400, 900)
    window.show()
    wait_until(app, lambda: window.grid_model.rowCount() == args.images)
    figures["open_s"] = round(time.perf_counter() - start, 2)
    print(f"open, all {args.images:,} results in the grid: {figures['open_s']} s")

    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid_model.index(0))
    tick = time.perf_counter()
    for _ in range(40):  # a held Page Down: auto-repeat events arrive faster than the grid moves
        app.sendEvent(window.grid, _key(Qt.Key.Key_PageDown, repeat=True))
    release = time.perf_counter()
    moved = window.grid.currentIndex().row()
    wait_until(app, lambda: window.grid.currentIndex().row() > 0)
    app.processEvents()
    figures["page_down_overrun_ms"] = round((time.perf_counter() - release) * 1000, 1)
    print(
        f"40 held Page Down repeats sent in {(release - tick) * 1000:.0f} ms; the view stopped"
        f" {figures['page_down_overrun_ms']} ms after the last one (row {window.grid.currentIndex().row():,},"
        f" {moved} before the loop ran)"
    )

    tick = time.perf_counter()
    window.grid.selectAll()
    wait_until(app, lambda: window.details.selection_count == args.images)
    figures["select_all_s"] = round(time.perf_counter() - tick, 2)
    print(f"select all, details of {args.images:,} shown: {figures['select_all_s']} s")

    tick = time.perf_counter()
    tag = f"walk_trip_{os.getpid()}"  # a new tag each run: the edit writes every image
    window.selection.edit_tags([tag], True)
    figures["edit_shown_ms"] = round((time.perf_counter() - tick) * 1000, 1)
    wait_until(app, lambda: window.jobs.isVisible() or not window.jobs.jobs, timeout=30)
    figures["edit_progress_shown_s"] = round(time.perf_counter() - tick, 2)
    shoot("walk-edit-progress")
    wait_until(app, lambda: not window.jobs.jobs)
    figures["edit_s"] = round(time.perf_counter() - tick, 2)
    figures["edit_found"] = library.count(tag)
    print(
        f"add a tag to {args.images:,}: shown in the details after {figures['edit_shown_ms']} ms, progress after"
        f" {figures['edit_progress_shown_s']} s, written and searchable after {figures['edit_s']} s"
        f" ({figures['edit_found']:,} found)"
    )

    tick = time.perf_counter()
    window.write_metadata("xmp", selection=False)
    wait_until(app, lambda: window.jobs.isVisible() or not window.jobs.jobs, timeout=60)
    figures["export_progress_shown_s"] = round(time.perf_counter() - tick, 2)
    wait_until(app, lambda: time.perf_counter() - tick >= args.export_seconds)
    shoot("walk-export-progress")
    if not window.jobs.jobs:
        raise SystemExit("the export ended before the quit: use more --images or fewer --export-seconds")
    job = window.jobs.jobs[0]
    print(
        f"export XMP of {args.images:,}: progress after {figures['export_progress_shown_s']} s;"
        f" {job.done:,} of {job.total:,} after {args.export_seconds:.0f} s"
    )

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        shoot_box = box.grab()
        if args.shots is not None:
            shoot_box.save(str(args.shots / "walk-quit-question.png"))
        next(b for b in box.buttons() if b.text() == "Stop and quit").click()

    QTimer.singleShot(50, answer)
    tick = time.perf_counter()
    window.close()  # asks; the export stops at its next file, then the window goes
    wait_until(app, lambda: not window.isVisible(), timeout=60)
    figures["quit_s"] = round(time.perf_counter() - tick, 2)
    written = sidecars(work / "files")
    time.sleep(2)
    figures["export_written"] = written
    figures["written_after_quit"] = sidecars(work / "files") - written
    print(
        f"quit during the export (question answered at once): window gone after {figures['quit_s']} s,"
        f" {written:,} sidecars written, {figures['written_after_quit']} more in the 2 s after it closed"
    )
    library.close()
    if args.json:
        print(json.dumps(figures))


def _key(key: Qt.Key, repeat: bool = False):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent

    return QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, "", repeat)


if __name__ == "__main__":
    main()
