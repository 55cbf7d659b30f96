"""Indexing real folders: incremental rescans, moves, deletions, offline roots, bad files."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from helpers.library import give_scores, paths_of, write_photo
from joytag_desktop.cli.main import main
from joytag_desktop.library import Library, LibraryError
from joytag_desktop.library.schema import Status

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

VOCAB = ["cat", "dog"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "Pictures"
    write_photo(
        folder / "a.jpg",
        color=(255, 0, 0),
        make="Canon",
        model="EOS",
        taken=datetime(2021, 5, 6, 7, 8, 9),
        orientation=6,
    )
    write_photo(folder / "b.jpg", color=(0, 255, 0))
    write_photo(folder / "sub" / "c.png", color=(0, 0, 255))
    return folder


def test_index_records_file_facts(lib: Library, root: Path) -> None:
    lib.add_root(root)
    report = lib.scan()
    assert (report.added, report.unchanged, report.missing) == (3, 0, 0)
    image = lib.image_by_path(root / "a.jpg")
    assert (image.width, image.height, image.format) == (64, 48, "JPEG")
    assert image.camera_make == "Canon" and image.camera_model == "EOS" and image.orientation == 6
    assert image.taken_at == datetime(2021, 5, 6, 7, 8, 9)
    assert image.status == Status.PENDING and len(image.content_hash) == 64
    assert image.size == (root / "a.jpg").stat().st_size
    assert image.folder == "Pictures" and image.name == "a.jpg"
    assert lib.image_by_path(root / "sub" / "c.png").folder == os.path.join("Pictures", "sub")


def test_rescan_is_incremental(lib: Library, root: Path) -> None:
    lib.add_root(root)
    lib.scan()
    report = lib.scan()
    assert (report.added, report.changed, report.unchanged) == (0, 0, 3)
    write_photo(root / "new.jpg")
    write_photo(root / "b.jpg", color=(1, 2, 3))  # modified content
    report = lib.scan()
    assert (report.added, report.changed, report.unchanged) == (1, 1, 2)


def test_modified_file_is_retagged_but_touched_file_is_not(lib: Library, root: Path) -> None:
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / "a.jpg": {"cat": 0.9}, root / "b.jpg": {"dog": 0.9}})
    stat = (root / "a.jpg").stat()
    os.utime(root / "a.jpg", (stat.st_atime, stat.st_mtime + 100))  # same bytes, new mtime
    write_photo(root / "b.jpg", color=(9, 9, 9))
    lib.scan()
    assert lib.image_by_path(root / "a.jpg").status == Status.TAGGED
    assert lib.image_by_path(root / "b.jpg").status == Status.PENDING


def test_move_and_rename_keep_tags_and_manual_edits(lib: Library, root: Path) -> None:
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / "a.jpg": {"cat": 0.9}})
    image_id = lib.image_by_path(root / "a.jpg").id
    lib.set_manual_tag([image_id], "favourite", True)
    (root / "moved").mkdir()
    (root / "a.jpg").rename(root / "moved" / "renamed.jpg")
    report = lib.scan()
    assert (report.moved, report.added, report.missing) == (1, 0, 0)
    moved = lib.image_by_path(root / "moved" / "renamed.jpg")
    assert moved.id == image_id and moved.status == Status.TAGGED
    assert moved.name == "renamed.jpg" and moved.folder == os.path.join("Pictures", "moved")
    assert paths_of(lib, "cat favourite") == ["renamed.jpg"]


def test_move_between_roots_keeps_tags(lib: Library, root: Path, tmp_path: Path) -> None:
    other = tmp_path / "Archive"
    other.mkdir()
    write_photo(other / "keep.jpg", color=(5, 5, 5))
    lib.add_root(other)  # sorts before Pictures: the new path is seen before the old one vanishes
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / "b.jpg": {"dog": 0.8}})
    shutil.move(root / "b.jpg", other / "b.jpg")
    report = lib.scan()
    assert report.moved == 1 and report.missing == 0
    assert paths_of(lib, "dog") == ["b.jpg"]
    assert lib.image_by_path(other / "b.jpg").status == Status.TAGGED


def test_deleted_file_is_missing_until_purged_and_comes_back(lib: Library, root: Path) -> None:
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / "b.jpg": {"dog": 0.8}})
    saved = (root / "b.jpg").read_bytes()
    (root / "b.jpg").unlink()
    assert lib.scan().missing == 1
    image = lib.image_by_path(root / "b.jpg")
    assert image.status == Status.MISSING
    assert paths_of(lib, "dog") == [] and paths_of(lib, "dog status:missing") == ["b.jpg"]
    (root / "b.jpg").write_bytes(saved)
    report = lib.scan()
    assert report.restored == 1
    assert lib.image_by_path(root / "b.jpg").status == Status.TAGGED
    assert paths_of(lib, "dog") == ["b.jpg"]
    (root / "b.jpg").unlink()
    lib.scan()
    assert lib.purge_missing() == 1
    assert lib.image_by_path(root / "b.jpg") is None


def test_offline_root_keeps_its_images(lib: Library, root: Path, tmp_path: Path) -> None:
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / "a.jpg": {"cat": 0.9}})
    root.rename(tmp_path / "unplugged")
    report = lib.scan()
    assert report.missing == 0 and len(report.offline) == 1 and "not found" in report.offline[0]
    assert not lib.roots()[0].online
    assert lib.count_by_status()[Status.MISSING] == 0
    assert paths_of(lib, "cat") == ["a.jpg"]
    # An empty mount point (drive not mounted) is offline too, not "everything deleted".
    root.mkdir()
    report = lib.scan()
    assert report.missing == 0 and "empty" in report.offline[0]
    shutil.rmtree(root)
    (tmp_path / "unplugged").rename(root)
    report = lib.scan()
    assert report.offline == [] and report.unchanged == 3 and lib.roots()[0].online


def test_bad_files_are_recorded_with_a_reason(lib: Library, root: Path) -> None:
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.png").write_text("not an image")
    (root / ".hidden.jpg").write_bytes((root / "b.jpg").read_bytes())
    (root / ".cache").mkdir()
    write_photo(root / ".cache" / "thumb.jpg")
    (root / "sub" / "loop").symlink_to(root, target_is_directory=True)
    (root / "notes.txt").write_text("x")
    lib.add_root(root)
    report = lib.scan()
    assert report.added == 5
    assert sorted(paths_of(lib, "status:error")) == ["empty.jpg", "text.png"]
    assert lib.image_by_path(root / "text.png").error == "not a recognised image format"
    assert lib.image_by_path(root / "empty.jpg").error == "empty file (0 bytes)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read unreadable files")
def test_unreadable_file_and_folder(lib: Library, root: Path) -> None:  # pragma: no cover - needs non-root
    (root / "a.jpg").chmod(0)
    (root / "sub").chmod(0)
    try:
        lib.add_root(root)
        report = lib.scan()
        reasons = dict(report.errors)
        assert "Permission denied" in reasons[str(root / "a.jpg")]
        assert str(root / "sub") in reasons
    finally:
        (root / "a.jpg").chmod(0o644)
        (root / "sub").chmod(0o755)


def test_non_utf8_file_name_is_reported_not_fatal(lib: Library, root: Path) -> None:
    odd = os.fsencode(root) + b"/bad\xffname.jpg"
    try:
        with open(odd, "wb") as handle:
            handle.write((root / "b.jpg").read_bytes())
    except OSError:
        pytest.skip("the file system refuses non-UTF-8 names")
    lib.add_root(root)
    report = lib.scan()
    assert report.added == 3
    assert any("not valid UTF-8" in reason for _, reason in report.errors)


def test_roots_cannot_overlap_and_can_be_removed(lib: Library, root: Path) -> None:
    lib.add_root(root)
    with pytest.raises(LibraryError, match="is inside the library folder"):
        lib.add_root(root / "sub")
    with pytest.raises(LibraryError, match="not a folder"):
        lib.add_root(root / "a.jpg")
    lib.scan()
    give_scores(lib, VOCAB, {root / "a.jpg": {"cat": 0.9}})
    assert lib.remove_root(root) == 3
    assert lib.roots() == [] and lib.tag_counts() == []
    assert (root / "a.jpg").exists(), "removing a folder from the library never deletes files"


def test_cli_index_scan_search_purge(root: Path, tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "cli.sqlite3")
    assert main(["--db", db, "index", "--no-watch", str(root)]) == 0
    err = capsys.readouterr().err
    assert "3 new" in err and "(not watched)" in err
    assert main(["--db", db, "roots"]) == 0
    assert "(not watched)" in capsys.readouterr().out
    assert main(["--db", db, "search", "status:pending"]) == 0
    assert sorted(Path(p).name for p in capsys.readouterr().out.split()) == ["a.jpg", "b.jpg", "c.png"]
    (root / "a.jpg").unlink()
    assert main(["--db", db, "scan"]) == 0
    assert "1 missing" in capsys.readouterr().err
    assert main(["--db", db, "purge"]) == 0
    assert "Forgot 1" in capsys.readouterr().err
    assert main(["--db", db, "search", "(broken"]) == 2
    err = capsys.readouterr().err
    assert "(broken\n^ '(' is never closed" in err


def test_move_reported_as_creation_then_deletion_keeps_tags(lib: Library, root: Path) -> None:
    """A watcher may see the new path first and the old one vanish later (e.g. a move into a folder
    that was not watched yet): the image must still keep its tags and manual edits."""
    lib.add_root(root)
    lib.scan()
    give_scores(lib, VOCAB, {root / "a.jpg": {"cat": 0.9}})
    image_id = lib.image_by_path(root / "a.jpg").id
    lib.set_manual_tag([image_id], "favourite", True)
    (root / "new").mkdir()
    (root / "a.jpg").rename(root / "new" / "a.jpg")
    created = lib.apply_changes(created=[str(root / "new")])
    assert created.added == 1
    deleted = lib.apply_changes(deleted=[str(root / "a.jpg")])
    assert (deleted.moved, deleted.missing) == (1, 0)
    moved = lib.image_by_path(root / "new" / "a.jpg")
    assert moved.id == image_id and moved.status == Status.TAGGED
    assert paths_of(lib, "cat favourite") == ["a.jpg"]
    assert lib.count("status:missing") == 0 and lib.count("") == 3


def test_a_scan_cancelled_inside_a_big_folder_stops_there_and_marks_nothing_missing(
    lib: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from joytag_desktop.library import scanner

    monkeypatch.setattr(scanner, "PROGRESS_EVERY", 10)
    folder = tmp_path / "Big"
    for index in range(60):
        write_photo(folder / f"shot_{index:02}.jpg", color=(index * 4, 90, 200))
    lib.add_root(folder)
    lib.scan()
    for path in sorted(folder.iterdir())[:30]:
        path.rename(folder / f"renamed_{path.name}")  # the rest of the folder changes meanwhile
    cancel = threading.Event()
    report = lib.scan(progress=lambda root, count: cancel.set(), cancel=cancel)
    assert report.cancelled, "the cancel is seen within the folder, not only between folders"
    assert lib.count("status:missing") == 0, "a folder read part way marks nothing missing"
    report = lib.scan()
    assert not report.cancelled and lib.count("status:missing") == 0 and lib.count("") == 60
