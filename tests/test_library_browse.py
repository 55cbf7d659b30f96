"""Library queries behind the photo browser: folders, result tag counts, selection tags, undo states,
displayed (EXIF-rotated) dimensions, camera names."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.library import give_scores, paths_of, write_photo
from joytag_desktop.library import Library
from joytag_desktop.media.exif import camera_label

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

VOCAB = ["cat", "dog", "tree"]


def build(lib: Library, root: Path) -> dict[str, Path]:
    files = {
        "a": write_photo(root / "a.jpg", size=(80, 40)),
        "b": write_photo(root / "trip" / "b.jpg", size=(80, 40), orientation=6),  # shown 40 wide, 80 high
        "c": write_photo(root / "trip" / "day2" / "c.jpg"),
        "d": write_photo(root / "tripod" / "d.jpg"),  # a sibling whose name starts like "trip"
    }
    lib.add_root(root)
    lib.scan()
    give_scores(
        lib,
        VOCAB,
        {
            files["a"]: {"cat": 0.9, "tree": 0.5},
            files["b"]: {"cat": 0.7, "dog": 0.95},
            files["c"]: {"dog": 0.3},
            files["d"]: {"tree": 0.8},
        },
    )
    return files


def test_folder_filter_and_counts(lib: Library, tmp_path: Path) -> None:
    build(lib, tmp_path / "Photos")
    root = str((tmp_path / "Photos").resolve())
    counts = dict(lib.folder_counts())
    assert counts == {root: 1, f"{root}/trip": 1, f"{root}/trip/day2": 1, f"{root}/tripod": 1}
    rows, _ = lib.search_rows("", folder=f"{root}/trip")
    assert sorted(Path(r[1]).name for r in rows) == ["b.jpg", "c.jpg"], "the folder and below, not tripod"
    rows, _ = lib.search_rows("cat", folder=f"{root}/trip", threshold=0.4)
    assert [Path(r[1]).name for r in rows] == ["b.jpg"]


def test_tag_counts_of_the_results(lib: Library, tmp_path: Path) -> None:
    build(lib, tmp_path / "Photos")
    assert lib.result_tag_counts("cat", threshold=0.4) == [("cat", 2), ("dog", 1), ("tree", 1)]
    lib.set_tag_threshold("tree", 0.6)  # a per-tag threshold counts too
    assert lib.result_tag_counts("cat", threshold=0.4) == [("cat", 2), ("dog", 1)]
    root = str((tmp_path / "Photos").resolve())
    assert lib.result_tag_counts("", threshold=0.2, folder=f"{root}/trip") == [("dog", 2), ("cat", 1)]


def test_selection_tags_and_exact_undo_states(lib: Library, tmp_path: Path) -> None:
    files = build(lib, tmp_path / "Photos")
    ids = [lib.image_by_path(files[k]).id for k in ("a", "b", "c")]
    union = {t.name: t.count for t in lib.selection_tags(ids, 0.4)}
    assert union == {"cat": 2, "dog": 1, "tree": 1}
    before = lib.tag_states(ids, "dog")
    lib.set_manual_tag(ids, "dog", True)
    assert {t.name: t.count for t in lib.selection_tags(ids, 0.4)}["dog"] == 3
    lib.restore_tag_states("dog", before)
    assert lib.tag_states(ids, "dog") == before
    assert paths_of(lib, "dog", threshold=0.4) == ["b.jpg"], "the model scores are back, not manual rows"
    assert lib.count("dog:>0.2", threshold=0.2) == 2, "c keeps its low model score"


def test_a_bulk_edit_lands_in_chunks_reports_them_and_stops_when_cancelled(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from joytag_desktop.library import edits

    monkeypatch.setattr(edits, "EDIT_CHUNK", 2)
    files = build(lib, tmp_path / "Photos")
    ids = sorted(lib.image_by_path(path).id for path in files.values())
    before = lib.tag_states(ids, "my_trip")
    cancel = threading.Event()
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        assert lib.count("my_trip") == done, "each chunk is searchable as it lands"
        cancel.set()

    assert lib.set_manual_tag(ids, "my_trip", True, progress, cancel) == 2
    assert seen == [(2, 4)], "one chunk written and reported, then the cancel stops it"
    assert lib.count("my_trip") == 2
    lib.restore_tag_states("my_trip", before)
    assert lib.count("my_trip") == 0, "the undo puts back what the cancelled edit wrote"

    seen.clear()
    assert lib.set_manual_tag(ids, "dog", False, lambda done, total: seen.append((done, total))) == 4
    assert seen == [(2, 4), (4, 4)]
    assert lib.count("dog", threshold=0.2) == 0
    assert lib.set_manual_tag(ids, "dog", None) == 4, "the reset drops every manual row"
    assert paths_of(lib, "dog", threshold=0.4) == ["b.jpg"]
    seen.clear()
    assert lib.set_rating(ids, "explicit", lambda done, total: seen.append((done, total))) == 4
    assert seen == [(2, 4), (4, 4)]
    assert lib.count("rating:explicit") == 4


def test_a_big_selection_is_counted_from_the_posting_lists_as_sql_counts_it(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import math

    from joytag_desktop.library import counts

    files = build(lib, tmp_path / "Photos")
    ids = [lib.image_by_path(files[k]).id for k in ("a", "b", "c", "d")]
    lib.set_manual_tag(ids[:2], "dog", False)
    lib.set_manual_tag(ids[2:], "my_trip", True)
    lib.set_tag_threshold("tree", 0.6)
    lib.set_threshold(0.25)
    lib.search("cat")  # the posting lists exist
    by_sql = lib.selection_tags(ids[:3])
    monkeypatch.setattr(counts, "BIG_SELECTION", 1)
    by_index = lib.selection_tags(ids[:3])
    assert sorted(t.name for t in by_index) == sorted(t.name for t in by_sql)
    slow_by_name = {t.name: t for t in by_sql}
    for fast in by_index:
        slow = slow_by_name[fast.name]
        assert (fast.count, fast.manual, fast.threshold, fast.overridden, fast.category) == (
            slow.count,
            slow.manual,
            slow.threshold,
            slow.overridden,
            slow.category,
        ), fast.name
        assert math.isnan(fast.best_score)


def test_width_and_height_are_the_displayed_ones(lib: Library, tmp_path: Path) -> None:
    files = build(lib, tmp_path / "Photos")
    assert paths_of(lib, "width:>70") == ["a.jpg"], "b is stored 80x40 but shown 40x80"
    assert "b.jpg" in paths_of(lib, "height:>70")
    assert lib.image_by_path(files["b"]).displayed_size == (40, 80)


def test_camera_named_once() -> None:
    assert camera_label("Canon", "Canon EOS R5") == "Canon EOS R5"
    assert camera_label("NIKON CORPORATION", "NIKON D850") == "NIKON D850"
    assert camera_label("SONY", "ILCE-7M3") == "SONY ILCE-7M3"
    assert camera_label(None, "X100V") == "X100V"
    assert camera_label("FUJIFILM", None) == "FUJIFILM"


def test_a_camera_file_is_measured_as_shown_and_its_camera_named_once(lib: Library, tmp_path: Path) -> None:
    """A JPEG a Canon EOS 300D wrote (Exiv2 test data): stored landscape, EXIF says turn it a quarter."""
    import shutil

    from helpers.fixture_files import FIXTURES

    folder = tmp_path / "Camera"
    folder.mkdir()
    shutil.copy(FIXTURES / "metadata" / "canon-eos-300d-rotated.jpg", folder / "IMG_0001.JPG")
    lib.add_root(folder)
    lib.scan()
    image = lib.image_by_path(folder / "IMG_0001.JPG")
    assert (image.width, image.height, image.orientation) == (150, 91, 6)
    assert image.displayed_size == (91, 150)
    assert paths_of(lib, "height:>100") == ["IMG_0001.JPG"] and paths_of(lib, "width:>100") == []
    assert camera_label(image.camera_make, image.camera_model) == "Canon EOS 300D DIGITAL"
