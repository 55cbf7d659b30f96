"""The window's layout at its default sizes (pytest-qt, real widgets): tag names readable in the
details panel, score numbers that contrast with their bars, headers and messages that fit."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from helpers.gui import close_window, select_row
from joytag_desktop.errors import ImageLoadError
from joytag_desktop.gui.main_window import SPLITTER_DEFAULT, MainWindow
from joytag_desktop.gui.tag_editor import (
    ABOVE,
    BELOW,
    MIN_CONTRAST,
    ConfidenceDelegate,
    TagEditor,
    TagRow,
    contrast,
    readable_on,
    score_text,
)
from joytag_desktop.media.thumbnails import thumbnail_for

DEFAULT_SIZES = [(1024, 700), (1400, 900), (1600, 1000), (1920, 1080)]
LONG_NAME = "hair_between_eye"  # 16 characters


@pytest.fixture
def window(qtbot, library, settings):
    """The main window on an empty library, no worker (the layout is what is looked at)."""
    window = MainWindow(library, settings, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    window.background.wait()  # the first search answers now, not over what a test has put in the panels
    qtbot.wait(100)
    yield window
    window.background.wait()
    close_window(qtbot, window)


def tag_rows(count: int = 40) -> list[TagRow]:
    """A photo's worth of tags (enough for a scroll bar), the names looked at among them."""
    names = ["black_hair", LONG_NAME] + [f"tag_{i}" for i in range(count - 2)]
    return [TagRow(name, Qt.CheckState.Checked, 0.95 - i * 0.01, 0.4, "model") for i, name in enumerate(names)]


def settle(qtbot, window: MainWindow, size: tuple[int, int]) -> None:
    window.resize(*size)
    window.splitter.setSizes(SPLITTER_DEFAULT)  # the side panels at their defaults, the grid takes the rest
    qtbot.wait(50)
    QApplication.processEvents()


def text_room(tree: TagEditor, name: str) -> tuple[int, QRect]:
    """The pixels the item delegate has for ``name``'s text (after the indentation, the check box
    and the text margins), and where that lies in the viewport."""
    item = tree.item_for(name)
    assert item is not None
    index = tree.indexFromItem(item, 0)
    option = QStyleOptionViewItem()
    QStyledItemDelegate().initStyleOption(option, index)
    option.rect = tree.visualRect(index)
    option.widget = tree
    style = tree.style()
    text = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, tree)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1
    return text.width() - 2 * margin, text


@pytest.mark.parametrize("size", DEFAULT_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_tag_names_readable_at_default_window_sizes(qtbot, window, size) -> None:
    tree = window.details.tags
    tree.show_rows(tag_rows())
    settle(qtbot, window, size)
    assert tree.verticalScrollBar().isVisible() or size[1] >= 1000, "40 tags scroll in a default-sized panel"
    metrics = QFontMetrics(tree.font())
    for name in ("black_hair", LONG_NAME):
        room, rect = text_room(tree, name)
        assert room >= metrics.horizontalAdvance(name), f"{name} is cut at {size}: {room} px for its text"
        assert metrics.elidedText(name, Qt.TextElideMode.ElideRight, room) == name
        assert rect.left() >= 0 and rect.right() < tree.viewport().width(), "the text lies inside the panel"
    assert tree.indentation() < 20, "the indentation does not eat the names"
    assert tree.header().sectionSizeFromContents(1).width() <= tree.columnWidth(1), "the bar's header is whole"


def test_source_column_yields_to_the_names_and_returns_with_room(qtbot, window) -> None:
    tree = window.details.tags
    tree.show_rows(tag_rows())
    settle(qtbot, window, (1400, 900))
    source = tree.columnCount() - 1
    assert tree.isColumnHidden(source), "260 px: no room for the source beside the names"
    item = tree.item_for("black_hair")
    assert item is not None and "model" in item.toolTip(0), "the source stays in the tag's tooltip"
    assert tree.columnWidth(1) <= metrics_width(tree, "0.000") + 24, "the bar is narrow"
    sizes = window.splitter.sizes()
    window.splitter.setSizes([sizes[0], sizes[1] - 300, sizes[2] + 300])
    qtbot.waitUntil(lambda: not tree.isColumnHidden(source), timeout=2000)
    room, _ = text_room(tree, LONG_NAME)
    assert room >= metrics_width(tree, LONG_NAME)


def metrics_width(tree: TagEditor, text: str) -> int:
    return QFontMetrics(tree.font()).horizontalAdvance(text)


def test_long_tag_names_are_elided_with_the_whole_name_in_the_tooltip(qtbot, window) -> None:
    tree = window.details.tags
    name = "very_long_tag_name_that_cannot_fit_in_any_panel_at_all"
    tree.show_rows([TagRow(name, Qt.CheckState.Checked, 0.9, 0.4, "model")])
    settle(qtbot, window, (1400, 900))
    room, _ = text_room(tree, name)
    assert room < metrics_width(tree, name)
    assert tree.textElideMode() == Qt.TextElideMode.ElideRight
    item = tree.item_for(name)
    assert item is not None and item.toolTip(0).startswith(name)


# --- the score on its bar -------------------------------------------------------------------------


def test_readable_on_picks_a_colour_that_meets_the_minimum() -> None:
    for background in (ABOVE, BELOW, QColor(255, 255, 255), QColor(0, 0, 0), QColor(48, 140, 198)):
        assert contrast(readable_on(background), background) >= MIN_CONTRAST
    assert readable_on(QColor(255, 255, 255), QColor(20, 20, 20)) == QColor(20, 20, 20), "the palette's when it reads"
    assert contrast(QColor(255, 255, 255), ABOVE) < MIN_CONTRAST, "white on the green bar is what the issue saw"


def painted(tree: TagEditor, name: str, selected: bool) -> tuple[QImage, QRect]:
    """The Confidence cell of ``name`` as the delegate paints it, and the bar's track inside it."""
    item = tree.item_for(name)
    assert item is not None
    index = tree.indexFromItem(item, 1)
    assert isinstance(tree.itemDelegateForIndex(index), ConfidenceDelegate)
    width, height = tree.columnWidth(1), max(18, tree.visualRect(index).height())
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(tree.palette().color(QPalette.ColorRole.Base))
    option = QStyleOptionViewItem()
    option.rect = QRect(0, 0, width, height)
    option.palette = tree.palette()
    option.font = tree.font()
    option.state = QStyle.StateFlag.State_Enabled | (
        QStyle.StateFlag.State_Selected if selected else QStyle.StateFlag(0)
    )
    painter = QPainter(image)
    tree.itemDelegateForIndex(index).paint(painter, option, index)
    painter.end()
    return image, option.rect.adjusted(3, 1, -3, -1)


def worst_text_contrast(image: QImage, columns: range, rows: range, ground: QColor, skip: set[int]) -> float:
    """The best contrast any pixel of these columns reaches against ``ground``: the core of the
    digits' strokes (antialiased edges are lighter)."""
    best = 1.0
    for x in columns:
        if x in skip:
            continue
        for y in rows:
            best = max(best, contrast(image.pixelColor(x, y), ground))
    return best


@pytest.mark.parametrize("selected", [False, True], ids=["plain", "selected"])
@pytest.mark.parametrize(("score", "threshold"), [(0.92, 0.2), (0.85, 0.95), (0.05, 0.95)])
def test_score_text_contrasts_with_what_is_painted_under_it(qtbot, score, threshold, selected) -> None:
    tree = TagEditor()
    qtbot.addWidget(tree)
    name = "black_hair"
    tree.show_rows([TagRow(name, Qt.CheckState.Checked, score, threshold, "model")])
    tree.resize(260, 200)
    tree.show()
    qtbot.wait(20)
    image, track = painted(tree, name, selected)
    label = score_text(score, threshold)
    metrics = QFontMetrics(tree.font())
    text_width = metrics.horizontalAdvance(label)
    left = track.center().x() - text_width // 2
    text_columns = range(left + 1, left + text_width - 1)
    marker = track.x() + round(track.width() * threshold)
    skip = set(range(marker - 2, marker + 3))  # the threshold mark is drawn in the text colour
    fill_end = track.x() + round(track.width() * min(1.0, score))
    middle = track.center().y()
    rows = range(middle - metrics.ascent() // 2, middle + metrics.ascent() // 2)
    fill_columns = [x for x in text_columns if x < fill_end - 1]
    empty_columns = [x for x in text_columns if x > fill_end + 1]
    checked = 0
    if fill_columns:
        bar = image.pixelColor(track.x() + 1, track.bottom())  # the fill, away from the text
        assert bar != image.pixelColor(track.right() - 1, track.bottom()) or score >= 0.99
        ratio = worst_text_contrast(image, range(fill_columns[0], fill_columns[-1] + 1), rows, bar, skip)
        assert ratio >= MIN_CONTRAST, f"{label} on the bar ({bar.name()}): contrast {ratio:.2f}"
        checked += 1
    if empty_columns:
        empty = image.pixelColor(track.right() - 1, track.bottom())  # the empty track, away from the text
        ratio = worst_text_contrast(image, range(empty_columns[0], empty_columns[-1] + 1), rows, empty, skip)
        assert ratio >= MIN_CONTRAST, f"{label} on the track ({empty.name()}): contrast {ratio:.2f}"
        checked += 1
    assert checked


# --- headers and messages -------------------------------------------------------------------------


def label_fits(label) -> bool:
    """The whole text is shown: one line that fits, or wrapped lines that all get their height."""
    if label.sizeHint().width() <= label.width():
        return True
    return label.wordWrap() and label.height() >= label.heightForWidth(label.width())


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_tag_list_header_fits_the_default_left_panel(qtbot, library, settings, language) -> None:
    from joytag_desktop.gui.i18n import install_translators, remove_translators

    settings.language = language
    app = QApplication.instance()
    assert app is not None
    translators = install_translators(app, settings)
    try:
        window = MainWindow(library, settings, start_worker=False)
        qtbot.addWidget(window)
        window.show()
        settle(qtbot, window, (1400, 900))
        window.background.wait()  # the first search's answer would overwrite the counts set below
        qtbot.wait(100)
        panel = window.tag_panel
        assert window.splitter.sizes()[0] == SPLITTER_DEFAULT[0]
        for results in (285, 100_000):
            panel.set_counts([("black_hair", results)], results)
            qtbot.wait(30)
            QApplication.processEvents()
            assert f"{results:,}" in panel.title.text()
            assert panel.title.geometry().right() <= panel.width(), "the header stays inside the panel"
            assert label_fits(panel.title), f"{panel.title.text()} is cut at {panel.title.width()} px"
        window.background.wait()
        close_window(qtbot, window)
    finally:
        remove_translators(app, translators)
        settings.language = ""


def test_preview_error_wraps_in_its_label(qtbot, window, tmp_path) -> None:
    broken = tmp_path / "a folder with a long name" / "holidays_2023_beach_and_mountains_and_more_0001.jpg"
    broken.parent.mkdir()
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" * 4)
    with pytest.raises(ImageLoadError) as error:
        thumbnail_for(broken, None, 512)
    message = f"{error.value} ({broken})"
    settle(qtbot, window, (1400, 900))
    window.details.show_preview(None, message)
    qtbot.wait(30)
    preview = window.details.preview
    assert preview.text().replace("\u200b", "") == message, "the whole message, breakable where long"
    assert preview.sizeHint().width() > preview.width() or len(message) > 60, "the message is longer than a line"
    assert label_fits(preview)
    assert preview.minimumSizeHint().width() <= preview.width(), "even the long path wraps"


def test_a_damaged_image_error_and_its_facts_fit_the_details_panel(qtbot, library, settings, tmp_path) -> None:
    from joytag_desktop.interchange.keyword_sync import import_found

    folder = tmp_path / "Photos from the summer holidays in the mountains_2023-07"
    folder.mkdir()
    name = "IMG_20230715_183012_damaged_while_copying_from_the_card.jpg"
    (folder / name).write_bytes(b"\xff\xd8\xff\xe0" + b"garbage" * 50)
    library.add_root(folder)
    import_found(library, library.scan())
    window = MainWindow(library, settings, start_worker=False)
    qtbot.addWidget(window)
    window.show()
    settle(qtbot, window, (1400, 900))
    window.search.run()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == 1, timeout=10_000)
    select_row(window, 0)
    preview, facts = window.details.preview, window.details.facts
    qtbot.waitUntil(lambda: "decode" in preview.text() or "read" in preview.text(), timeout=10_000)
    qtbot.wait(50)
    assert label_fits(preview), f"{preview.text()!r} is cut at {preview.width()} px"
    assert preview.minimumSizeHint().width() <= preview.width()
    shown = facts.toPlainText()
    assert name in shown and "error" in shown, "the whole name and the error, copyable as they are"
    assert facts.document().idealWidth() <= facts.viewport().width() + 1, "no row runs past the panel"
    assert facts.height() >= facts.document().size().height(), "every line gets its height"
    assert facts.geometry().right() <= window.details.width()
    window.background.wait()
    close_window(qtbot, window)


def test_viewer_message_wraps_inside_the_canvas(qtbot) -> None:
    from joytag_desktop.gui.viewer import ImageCanvas

    canvas = ImageCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(320, 240)
    canvas.set_image(
        None, message="Cannot show /a/very/long/folder/name/without/spaces/for/a/while/IMG_0001.jpg: broken"
    )
    area, flags = canvas.message_layout()
    shown = canvas.fontMetrics().boundingRect(area, flags, canvas.message)
    assert area.contains(shown), f"{shown} lies outside {area}"


def test_models_table_scrolls_sideways_to_its_last_column(qtbot, settings) -> None:
    from joytag_desktop.gui.panels import SettingsDialog
    from joytag_desktop.library.records import ModelInfo

    models = [
        ModelInfo(1, "joytag-v1-released-shape", "joytag", "1", "a", "/models/a", True, True, 100_000),
        ModelInfo(
            2, "wd-eva02-large-tagger-v3-with-a-name-longer-than-any-column", "wd", "3", "b", None, False, True, 7
        ),
    ]
    dialog = SettingsDialog(settings, 0.4, 0.05, None, models, {})
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    dialog.resize(520, 420)
    qtbot.wait(50)
    table = dialog.models_page.table
    header = table.horizontalHeader()
    last = table.columnCount() - 1
    assert header.length() > table.viewport().width(), "the columns do not fit: this is the case looked at"
    bar = table.horizontalScrollBar()
    assert bar.isVisible() and bar.maximum() > 0
    for column in range(table.columnCount()):
        widget = table.cellWidget(0, column)
        if widget is not None:
            assert table.columnWidth(column) >= widget.sizeHint().width(), f"column {column} cuts its control"
        assert table.columnWidth(column) >= header.sectionSizeFromContents(column).width() or column == 0
    assert table.columnWidth(0) <= 260, "a long model name does not take the whole table"
    bar.setValue(bar.maximum())
    qtbot.wait(20)
    right = header.sectionViewportPosition(last) + header.sectionSize(last)
    assert right <= table.viewport().width(), "scrolled to the end, the last column is whole"
    assert header.sectionViewportPosition(last) >= 0


# --- the empty library ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1024, 700), (1400, 900), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty_library_keeps_the_search_row_at_the_top(qtbot, window, size) -> None:
    settle(qtbot, window, size)
    results = window.results
    results.set_library_empty(True)
    qtbot.waitUntil(results.empty_state.isVisible, timeout=2000)
    QApplication.processEvents()
    line = results.search_bar.line
    search_top = line.mapTo(results, QPoint(0, 0)).y()
    search_bottom = search_top + line.height()
    assert search_top <= 12, f"the search field sits {search_top} px from the top"
    message = results.empty_state
    area = message.geometry()
    assert area.top() >= search_bottom, "the welcome message comes below the search row"
    picture = results.grab().toImage()
    ground = picture.pixelColor(area.left() + 1, area.top() + 1)
    first_text = next(
        (
            y
            for y in range(area.top(), area.bottom())
            if any(picture.pixelColor(x, y) != ground for x in range(area.left() + 2, area.right() - 2, 2))
        ),
        None,
    )
    assert first_text is not None, "the message is painted"
    assert first_text - search_bottom < 120, f"the message starts {first_text - search_bottom} px below the search"


@pytest.mark.parametrize("size", [(1024, 700), (1400, 900)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_long_note_on_the_count_line_wraps_and_leaves_the_slider(qtbot, window, size) -> None:
    """A search's notes (no text model for words, tags that match nothing) are read whole and
    do not squeeze the thumbnail slider out of the row."""
    settle(qtbot, window, size)
    results = window.results
    note = window.tr("no tag matches every word; to search in words, add SigLIP2 in Tagging ▸ Models…")
    results.show_count(0, [note, "no tag matches 'sunset'", "no tag matches 'over'", "no tag matches 'sea'"])
    qtbot.wait(50)
    QApplication.processEvents()
    label = results.result_label
    assert label_fits(label), f"the count line is cut at {label.width()} px: {label.text()}"
    assert label.geometry().right() < results.legend.geometry().left()
    assert results.size_slider.width() >= 60, "the thumbnail slider keeps its room"


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_stars_label_and_pick_show_their_longest_words_whole(qtbot, library, settings, language) -> None:
    """The details panel's three mark boxes ("No stars", "Purple", "Unflagged") are not cut at the
    default panel width, the window at its smallest default size or larger."""
    from joytag_desktop.gui.i18n import install_translators, remove_translators

    settings.language = language
    app = QApplication.instance()
    assert app is not None
    translators = install_translators(app, settings)
    try:
        window = MainWindow(library, settings, start_worker=False)
        qtbot.addWidget(window)
        window.show()
        marks = window.details.marks
        for size in ((1024, 700), (1400, 900)):
            settle(qtbot, window, size)
            for box in (marks.stars, marks.label, marks.pick):
                assert box.width() >= box.sizeHint().width(), f"{box.toolTip()} is cut at {size}"
                assert box.geometry().right() <= marks.width()
        window.background.wait()
        close_window(qtbot, window)
    finally:
        remove_translators(app, translators)
        settings.language = ""


def test_the_rating_heading_keeps_its_own_width_beside_the_marks_row(qtbot, window) -> None:
    """The marks row spans the rating's two columns: the heading "Rating" stays as wide as its
    text, the content rating's box takes the rest."""
    settle(qtbot, window, (1400, 900))
    details = window.details
    heading = next(w for w in details.findChildren(QLabel) if w.text() == "Rating")
    assert details.rating.geometry().left() - heading.geometry().right() <= heading.sizeHint().width()
    assert details.rating.width() >= details.marks.width() - heading.sizeHint().width() - 20
