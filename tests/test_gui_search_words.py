"""The search box accepts words: with a SigLIP2 model in the library, plain words that are not tags
(and ``text:"…"`` terms) search by meaning, nearest first, encoded off the GUI thread; without
one, the window says how to add one. Real widgets offscreen, a real library embedded by the tiny
SigLIP2 fixture."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt

from helpers.gui import close_window, open_window, tagged_window
from joytag_desktop.gui.search import plain_words, words_term
from joytag_desktop.library import Library
from joytag_desktop.library.query import parse

FIXTURE = Path(__file__).parent / "fixtures" / "siglip2-format"
REFERENCE = json.loads((FIXTURE / "expected_immich.json").read_text(encoding="utf-8"))


def ranking(query: str) -> list[str]:
    images = REFERENCE["images"]
    return sorted(images, key=lambda name: -images[name]["cosine"][query])


def shown_names(window) -> list[str]:
    return [Path(row[1]).name for row in window.grid_model.rows]


def test_plain_words_are_told_from_the_query_language() -> None:
    assert plain_words(parse("a dog on a beach")) == ["a", "dog", "on", "a", "beach"]
    assert plain_words(parse("一只猫")) == ["一只猫"]
    for query in ("cat -dog", "cat | dog", "*_hair", '"saber_(fate)"', "cat:>0.8", "folder:x cat", "character:miku"):
        assert plain_words(parse(query)) is None, query
    assert parse(words_term('a "quoted" \\ word')) == parse('text:"a \\"quoted\\" \\\\ word"')


@pytest.mark.slow
def test_words_search_by_meaning_nearest_first(qtbot, library: Library, settings, tmp_path: Path) -> None:
    photos = tmp_path / "Photos"
    shutil.copytree(FIXTURE / "images", photos)
    settings.model = str(FIXTURE / "ViT-Tiny-SigLIP2")
    window = tagged_window(qtbot, library, settings, photos)
    window.search_bar.line.setText("a cat")
    qtbot.keyClick(window.search_bar.line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_names(window) == ranking("a cat"), timeout=60_000)
    assert "searched in words" in window.results.result_label.text()
    captions = [window.grid_model.index(row).data().split()[0] for row in range(6)]
    assert [float(c) for c in captions] == sorted((float(c) for c in captions), reverse=True)
    window.search_bar.line.setText('text:"一只猫"')
    qtbot.keyClick(window.search_bar.line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: shown_names(window) == ranking("一只猫"), timeout=60_000)
    close_window(qtbot, window)


@pytest.mark.slow
def test_without_a_text_model_the_window_says_where_to_add_one(qtbot, library: Library, settings, photos) -> None:
    window = tagged_window(qtbot, library, settings, photos)  # the tiny JoyTag: tags, no words
    window.search_bar.line.setText('text:"a cat"')
    qtbot.keyClick(window.search_bar.line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.results.search_error.isVisible(), timeout=60_000)
    assert "Tagging ▸ Models…" in window.results.search_error.text()
    assert window.grid_model.rowCount() == 6  # the previous results stay
    window.search_bar.line.setText("sunset over the sea")
    qtbot.keyClick(window.search_bar.line, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Tagging ▸ Models…" in window.results.result_label.text(), timeout=60_000)
    assert window.grid_model.rowCount() == 0
    assert "no tag matches 'sunset'" not in window.results.result_label.text()  # the note says it once
    close_window(qtbot, window)


def test_a_tag_search_is_unchanged(qtbot, library: Library, settings) -> None:
    window = open_window(qtbot, library, settings)
    window.search_bar.line.setText("cat")
    qtbot.keyClick(window.search_bar.line, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: window.search.shown_key is not None and window.search.shown_key.query == "cat", timeout=10_000
    )
    assert "searched in words" not in window.results.result_label.text()
    close_window(qtbot, window)
