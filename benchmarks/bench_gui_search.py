"""A search in the GUI on a big library: time off the GUI thread and on it, first page and the rest.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_search.py --db LIBRARY [--query Q] [--json]
    QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui_search.py --images N [--workdir DIR] [--json]

Does what the main window does for a new search, with its real widgets and the real library
(the synthetic one ``bench_library.py`` leaves in its work folder, for example): the first page
of rows found and planned off the GUI thread, applied to the grid on it; then the whole list the
same way, added below the first page; then the tag counts of the results into the tag list.
``--images N`` generates a two-model synthetic library of N images first (bench_library.generate).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench_library import generate, synthetic_models
from PySide6.QtWidgets import QApplication

from joytag_desktop.gui.grid import ImageGridModel, ThumbnailGrid, plan_rows
from joytag_desktop.gui.search import FIRST_PAGE
from joytag_desktop.gui.tag_list import TagListPanel
from joytag_desktop.library import Library


def timed(action):
    start = time.perf_counter()
    value = action()
    return value, (time.perf_counter() - start) * 1000


def apply(app: QApplication, grid: ThumbnailGrid, model: ImageGridModel, plan) -> None:
    """What ResultsPanel.show_rows does on the GUI thread, then one pass of the event loop."""
    grid.fit_layout(len(plan.rows))
    model.apply_plan(plan)
    app.processEvents()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", help="an existing library (bench_library.py --keep leaves one)")
    source.add_argument("--images", type=int, help="generate a synthetic library of this many images")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench-gui-search")
    parser.add_argument("--query", action="append", help="repeatable; default: a frequent tag pair and everything")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.db is None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        args.db = str(args.workdir / f"synthetic-{args.images}-2.sqlite3")
        if not Path(args.db).exists():
            names, categories, models = synthetic_models(2, 5813, 10_861, 4000)
            generate(Path(args.db), args.images, 40, models, names, categories)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    queries = args.query or ["long_long_0 red_long_3 -smile_long_10", ""]
    figures: dict[str, dict[str, float]] = {}
    with Library(args.db) as library:
        library.count("")  # the posting lists loaded (cold start is bench_library's figure)
        for query in queries:
            model = ImageGridModel()
            grid = ThumbnailGrid()
            grid.setModel(model)
            grid.resize(1000, 800)
            grid.show()
            tags = TagListPanel()
            app.processEvents()
            (first, _), first_ms = timed(lambda q=query: library.search_rows(q, limit=FIRST_PAGE))
            plan, plan_first_ms = timed(lambda r=first, m=model: plan_rows(m.rows, r))
            _, gui_first_ms = timed(lambda p=plan, g=grid, m=model: apply(app, g, m, p))
            (rows, _), rest_ms = timed(lambda q=query: library.search_rows(q))
            shown = model.rows
            plan, plan_rest_ms = timed(lambda r=rows, s=shown: plan_rows(s, r))
            _, gui_rest_ms = timed(lambda p=plan, g=grid, m=model: apply(app, g, m, p))
            counts, counts_ms = timed(lambda q=query: library.result_tag_counts(q))
            hits = len(rows)
            _, gui_tags_ms = timed(lambda c=counts, n=hits, t=tags: (t.set_counts(c, n), app.processEvents()))
            figures[query or "(everything)"] = {
                "hits": len(rows),
                "first_page_search_ms": round(first_ms, 1), "first_page_plan_ms": round(plan_first_ms, 1),
                "first_page_gui_ms": round(gui_first_ms, 1),
                "rest_search_ms": round(rest_ms, 1), "rest_plan_ms": round(plan_rest_ms, 1),
                "rest_gui_ms": round(gui_rest_ms, 1),
                "tag_counts_ms": round(counts_ms, 1), "tag_list_gui_ms": round(gui_tags_ms, 1),
            }  # fmt: skip
            grid.close()
    if args.json:
        print(json.dumps({"db": args.db, "first_page": FIRST_PAGE, "queries": figures}))
    else:
        for query, f in figures.items():
            print(
                f"{query!r}: {f['hits']:,} hits\n"
                f"  first {FIRST_PAGE}: search {f['first_page_search_ms']} ms + plan {f['first_page_plan_ms']} ms"
                f" (background), GUI thread {f['first_page_gui_ms']} ms\n"
                f"  the rest: search {f['rest_search_ms']} ms + plan {f['rest_plan_ms']} ms (background),"
                f" GUI thread {f['rest_gui_ms']} ms\n"
                f"  tag counts of the results: {f['tag_counts_ms']} ms (background),"
                f" tag list GUI thread {f['tag_list_gui_ms']} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
