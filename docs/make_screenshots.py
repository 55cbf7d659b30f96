"""The user guide's screenshots: the real window at its default size, in English and in Chinese.

    xvfb-run -a -s "-screen 0 1920x1080x24" python docs/make_screenshots.py

Takes the fixture photos of tests/fixtures/joytag-format/images through the app in a throw-away
data folder (the tiny test model tags them, so the tags shown are that model's, not JoyTag's),
and writes docs/images/main-window-en.png, main-window-zh_CN.png and first-start-en.png; with
--viewing, rotated-en.png (an image turned in the grid) and viewer-full-screen-en.png; with --views,
for looking at (not in the docs): in English and Chinese, the details panel with its marks, the tag
list's menu, a search in words without a text model, the Models window and the viewer
(views-*-LANGUAGE.png, best with --out elsewhere and --size 1024x700 as well).
Chinese needs a CJK font (Debian: fonts-wqy-microhei).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
PHOTOS = ROOT / "tests" / "fixtures" / "joytag-format" / "images"
MODEL = ROOT / "tests" / "fixtures" / "joytag-format" / "tiny-released-shape"
if str(ROOT) not in sys.path:  # the window of this checkout, not an installed joytag_desktop elsewhere
    sys.path.insert(0, str(ROOT))


def wait_until(app, condition, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for the window ({condition.__code__.co_firstlineno})")
        app.processEvents()
        time.sleep(0.02)


def shoot(
    language: str,
    work: Path,
    images: Path,
    empty: bool = False,
    size: tuple[int, int] | None = None,
    views: bool = False,
) -> Path:
    """Open the window as the app does (its own settings file, translators), then grab it."""
    from PySide6.QtWidgets import QApplication

    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.i18n import install_translators, remove_translators
    from joytag_desktop.gui.main_window import MainWindow
    from joytag_desktop.interchange.keyword_sync import import_found
    from joytag_desktop.library import Library

    home = work / f"home-{language}-{'empty' if empty else 'photos'}"
    os.environ["JOYTAG_DESKTOP_HOME"] = str(home)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = gui_settings()
    settings.language = language
    settings.model = str(MODEL)
    settings.device = "cpu"
    translators = install_translators(app, settings)
    library = Library(home / "library.sqlite3")
    if not empty:
        photos = home / "Photos"
        shutil.copytree(PHOTOS, photos)
        library.add_root(photos)
        import_found(library, library.scan())  # as the window's start-up scan does
        give_marks(library)
    window = MainWindow(library, settings)
    if size is not None:
        window.resize(*size)
    window.show()
    if not empty:
        wait_until(app, lambda: window.work_label.text() in ("All images tagged", "所有图片均已标注"))
        window.search.run()
        model = window.grid_model
        wait_until(app, lambda: model.rowCount() > 0 and all(model.has_thumbnail(row[0]) for row in model.rows))
        window.grid.setCurrentIndex(model.index(0, 0))
        wait_until(app, lambda: window.details.preview.pixmap() is not None)
    for _ in range(50):  # layouts and thumbnails settle
        app.processEvents()
        time.sleep(0.02)
    name = f"{'first-start' if empty else 'main-window'}-{language}.png"
    target = images / name
    if not window.grab().save(str(target)):
        raise SystemExit(f"could not write {target}")
    print(f"{target}: {window.width()}x{window.height()}")
    if views and not empty:
        shoot_views(app, window, language, images)
    window.close()
    library.close()
    remove_translators(app, translators)
    return target


def shoot_viewing(work: Path, images: Path, size: tuple[int, int] | None = None) -> list[Path]:
    """A photo turned in the grid (Edit ▸ Rotate ▸ right, its flag only), then the viewer full screen."""
    from PySide6.QtWidgets import QApplication

    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.i18n import install_translators, remove_translators
    from joytag_desktop.gui.main_window import MainWindow
    from joytag_desktop.library import Library

    home = work / "home-viewing"
    os.environ["JOYTAG_DESKTOP_HOME"] = str(home)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    settings = gui_settings()
    settings.language, settings.model, settings.device = "en", str(MODEL), "cpu"
    translators = install_translators(app, settings)  # English plurals: "6 images", not "6 image(s)"
    photos = home / "Photos"
    shutil.copytree(PHOTOS, photos)
    library = Library(home / "library.sqlite3")
    library.add_root(photos)
    library.scan()
    window = MainWindow(library, settings)
    if size is not None:
        window.resize(*size)
    window.show()
    wait_until(app, lambda: window.work_label.text() == "All images tagged")
    window.search.run()
    model = window.grid_model
    wait_until(app, lambda: model.rowCount() > 0 and all(model.has_thumbnail(row[0]) for row in model.rows))
    row = next(i for i, r in enumerate(model.rows) if r[1].endswith("rocket.jpg"))
    image_id = model.rows[row][0]
    window.grid.setCurrentIndex(model.index(row, 0))
    window.rotation.rotate_selection("90")
    wait_until(app, lambda: (library.image(image_id) or window).orientation == 6)  # type: ignore[union-attr]
    wait_until(app, lambda: model.rows[row][2] == (library.image(image_id) or window).content_hash)  # type: ignore[union-attr]
    wait_until(app, lambda: model.has_thumbnail(image_id))
    wait_until(app, lambda: window.work_label.text() == "All images tagged")
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    shots = [images / "rotated-en.png", images / "viewer-full-screen-en.png"]
    if not window.grab().save(str(shots[0])):
        raise SystemExit(f"could not write {shots[0]}")
    window.viewer.full_screen()
    viewer = window.viewer.viewer
    assert viewer is not None
    wait_until(app, lambda: viewer.isFullScreen() and not viewer.canvas.pixmap.isNull())
    screen = viewer.screen()
    if screen is not None:  # Xvfb has no window manager to make a full-screen window the screen's size
        viewer.setGeometry(screen.geometry())
    for _ in range(50):
        app.processEvents()
        time.sleep(0.02)
    if not viewer.grab().save(str(shots[1])):
        raise SystemExit(f"could not write {shots[1]}")
    for shot in shots:
        print(shot)
    viewer.close()
    window.close()
    library.close()
    remove_translators(app, translators)
    return shots


def settle(app, rounds: int = 50) -> None:
    for _ in range(rounds):
        app.processEvents()
        time.sleep(0.02)


def shoot_views(app, window, language: str, images: Path) -> None:
    """The round's new views, each grabbed as the user sees it (a menu with the screen under it)."""
    from joytag_desktop.gui.tag_list import TAG_ROLE

    def save(widget_or_none, name: str) -> None:
        target = images / f"views-{name}-{language}.png"
        screen = app.primaryScreen()
        pixmap = widget_or_none.grab() if widget_or_none is not None else screen.grabWindow(0)
        if not pixmap.save(str(target)):
            raise SystemExit(f"could not write {target}")
        print(target)

    save(window.details, "details")
    panel = window.tag_panel
    item = next((i for i in panel.tag_items() if i.data(0, TAG_ROLE)), None)
    if item is not None:
        menu = panel.menu_for(item.data(0, TAG_ROLE))
        menu.popup(panel.list.viewport().mapToGlobal(panel.list.visualItemRect(item).center()))
        settle(app, 20)
        save(None, "tag-menu")
        menu.close()
    window.search_bar.line.setText("a dog on a beach at sunset")
    window.search.run(explicit=True)  # as Return does: words that are no tag, and no text model here
    wait_until(app, lambda: "SigLIP2" in window.results.result_label.text())
    settle(app, 20)
    save(window, "words")
    window.search_bar.line.setText("")
    window.search.run(explicit=True)
    wait_until(app, lambda: window.grid_model.rowCount() > 0)
    window.model_choice.open_manager()
    manager = window.model_choice.manager
    wait_until(app, lambda: bool(manager.states))
    settle(app, 20)
    save(manager, "models")
    manager.close()
    window.grid.setCurrentIndex(window.grid_model.index(0, 0))
    window.viewer.open_current()
    viewer = window.viewer.viewer
    wait_until(app, lambda: viewer is not None and not viewer.canvas.pixmap.isNull())
    settle(app, 20)
    save(viewer, "viewer")
    viewer.close()


# Stars, colour labels and picks for the first images (by name), so the thumbnails show them.
DEMO_MARKS = (
    {"stars": 5, "label": "red", "pick": "picked"},
    {"stars": 3, "label": "yellow"},
    {"label": "green"},
    {"stars": -1},
    {"stars": 4, "label": "blue"},
)


def give_marks(library) -> None:
    ids = library.search("", sort="name").ids
    for image_id, marks in zip(ids, DEMO_MARKS, strict=False):
        for mark, value in marks.items():
            library.set_mark([image_id], mark, value)


def window_size(text: str) -> tuple[int, int]:
    """``1400x900`` -> (1400, 900), for --size."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size like 1400x900: {text}") from None
    if width < 200 or height < 200:
        raise argparse.ArgumentTypeError(f"too small: {text}")
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=IMAGES, help="where the PNGs go (default: docs/images)")
    parser.add_argument(
        "--size", type=window_size, default=None, help="the window's size, WxH (default: the window's own default)"
    )
    parser.add_argument("--viewing", action="store_true", help="only the rotated grid and the full-screen viewer")
    parser.add_argument(
        "--views",
        action="store_true",
        help="only the main window and the new views in both languages, for looking at (views-*.png)",
    )
    args = parser.parse_args(argv)
    images, size = args.out, args.size
    images.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if args.viewing:
            shoot_viewing(work, images, size=size)
            return 0
        if args.views:
            shoot("en", work, images, size=size, views=True)
            shoot("zh_CN", work, images, size=size, views=True)
            return 0
        shoot("en", work, images, size=size)
        shoot("zh_CN", work, images, size=size)
        shoot("en", work, images, empty=True, size=size)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
