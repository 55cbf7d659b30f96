"""GUI-thread cost of a grid refresh at 100,000 images (and the planning cost off the GUI thread).

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_refresh.py [--rows 100000] [--json]

Measured side by side in one run: a refresh where statuses change in place ("same"), one where
images appear and vanish ("edit"), and a reordering ("reset", the selection put back by ranges),
each with every row selected, against the old way (replace the list, reselect row by row).
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelection, QItemSelectionModel
from PySide6.QtWidgets import QApplication
from timing import median_ms

from joytag_desktop.gui.grid import ImageGridModel, Row, ThumbnailGrid, plan_rows


def rows(count: int, status: str, start: int = 1) -> list[Row]:
    return [(i, f"/photos/{i // 500:04d}/img{i:07d}.jpg", f"{i:064x}", status) for i in range(start, start + count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON summary line")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    model = ImageGridModel()
    grid = ThumbnailGrid()
    grid.setModel(model)
    grid.resize(1000, 800)
    grid.show()
    model.set_rows(rows(args.rows, "pending"))
    grid.selectAll()
    app.processEvents()
    results: dict[str, dict[str, float]] = {}

    def gui_apply(new: list) -> tuple[float, float]:
        plan_ms = median_ms(lambda: plan_rows(model.rows, new), runs=3)
        plan = plan_rows(model.rows, new)
        selected = grid.selected_ids()

        def apply() -> None:
            kind = model.apply_plan(plan)
            if kind == "reset":
                grid.restore_selection(selected, None)
            app.processEvents()

        start = time.perf_counter()
        apply()
        return plan_ms, (time.perf_counter() - start) * 1000

    base = model.rows
    cases = {
        "same (statuses change)": [(r[0], r[1], r[2], "tagged") for r in base],
        "edit (200 new, 200 gone)": rows(200, "pending", start=10_000_000) + base[200:],
        "reset (reordered)": list(reversed(base)),
    }
    for name, new in cases.items():
        plan_ms, gui_ms = gui_apply(new)
        results[name] = {"plan_ms_background": round(plan_ms, 1), "gui_thread_ms": round(gui_ms, 1)}
        assert len(grid.selected_ids()) >= args.rows - 200

    # The old way: replace the whole list, then select row by row.
    def old_way() -> None:
        selected = set(grid.selected_ids())
        model.set_rows(list(reversed(model.rows)))
        selection = QItemSelection()
        for row, values in enumerate(model.rows):
            if values[0] in selected:
                index = model.index(row)
                selection.select(index, index)
        grid.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        app.processEvents()

    results["old: replace + per-row reselect"] = {
        "plan_ms_background": 0.0,
        "gui_thread_ms": round(median_ms(old_way, runs=1, warm=False), 1),
    }
    if args.json:
        print(json.dumps({"rows": args.rows, "results": results}))
    else:
        print(f"grid refresh with {args.rows:,} rows, all selected")
        for name, figures in results.items():
            print(
                f"  {name:34s} GUI thread {figures['gui_thread_ms']:8.1f} ms   planning (background) "
                f"{figures['plan_ms_background']:7.1f} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
