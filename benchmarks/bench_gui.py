"""GUI responsiveness with a large library (offscreen): results shown, scrolling, GUI-thread stalls.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py [--images 100000] [--workdir DIR]

Uses the synthetic library of bench_library.py (files do not exist, so thumbnails fail quickly
and show the placeholder: this measures the grid, not decoding).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_library import generate, synthetic_models
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from common import machine
from joytag_desktop.gui.main_window import MainWindow
from joytag_desktop.gui.settings import GuiSettings
from joytag_desktop.library import Library


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--tags-per-image", type=int, default=40)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench-gui")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    os.environ["JOYTAG_DESKTOP_HOME"] = str(work / "home")
    db = work / f"gui-{args.images}.sqlite3"
    if not db.exists():
        names, categories, models = synthetic_models(1, 5813, 10_861, 4000)
        generate(db, args.images, args.tags_per_image, models, names, categories)
    app = QApplication.instance() or QApplication([])
    library = Library(db)
    settings = GuiSettings(QSettings(str(work / "gui.ini"), QSettings.Format.IniFormat))
    settings.store.clear()
    start = time.perf_counter()
    window = MainWindow(library, settings, start_worker=False)
    window.resize(1400, 900)
    window.show()
    while window.grid_model.rowCount() < args.images:
        app.processEvents()
        time.sleep(0.001)
    print(f"window open with all {args.images:,} results in the grid: {time.perf_counter() - start:.2f} s")
    stalls = []
    bar = window.grid.verticalScrollBar()
    for step in range(60):
        tick = time.perf_counter()
        bar.setValue(int(bar.maximum() * step / 59))
        window.grid.viewport().repaint()
        app.processEvents()
        stalls.append((time.perf_counter() - tick) * 1000)
    print(
        f"scrolling across the grid: median {statistics.median(stalls):.1f} ms per jump, "
        f"worst {max(stalls):.1f} ms (GUI thread)"
    )
    tick = time.perf_counter()
    window.grid.selectAll()
    app.processEvents()
    print(f"select all {args.images:,}: {(time.perf_counter() - tick) * 1000:.0f} ms")
    window.close()
    library.close()


if __name__ == "__main__":
    main()
