"""Sorting by camera (make, then model) and by how many tags an image shows: the posting lists
and SQL give the same order, on SQLite and PostgreSQL, through edits and threshold changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from joytag_desktop.library import ImageResult, Library

pytestmark = pytest.mark.backends
CAMERAS = [("Canon", "Canon EOS R5"), ("NIKON CORPORATION", "NIKON D750"), ("canon", "EOS 300D"), (None, None)]
VOCAB = ["cat", "dog", "sky", "tree", "car"]


def _photos(folder: Path, count: int) -> None:
    folder.mkdir()
    for number in range(count):
        exif = Image.Exif()
        make, model = CAMERAS[number % len(CAMERAS)]
        if make:
            exif[0x010F], exif[0x0110] = make, model
        Image.new("RGB", (8, 8), (number * 20, 0, 0)).save(folder / f"p{number:02d}.jpg", exif=exif.tobytes())


def _both(db_url: str) -> tuple[Library, Library]:
    fast, sql = Library(db_url), Library(db_url)
    sql.search_index.enabled = False
    return fast, sql


def test_camera_and_tag_count_sorts_agree_with_sql(lib: Library, db_url: str, tmp_path: Path) -> None:
    _photos(tmp_path / "Photos", 12)
    lib.add_folder(tmp_path / "Photos")
    lib.scan()
    lib.add_model("joytag")
    ids = sorted(lib.search("").ids)
    rng = np.random.default_rng(5)
    results = [ImageResult(i, rng.choice([0.1, 0.5, 0.9], size=len(VOCAB)).astype(np.float32), None, None) for i in ids]
    lib.store_results(results, lib.model("joytag"), VOCAB)
    lib.set_manual_tag(ids[:3], "mine", True)
    lib.set_manual_tag(ids[3:5], "cat", False)  # a removal lowers the count
    fast, sql = _both(db_url)
    try:
        for sort in ("camera", "-camera", "tags", "-tags"):
            expected = sql.search("", sort=sort).ids
            assert fast.search("", sort=sort).ids == expected, sort
            assert fast.search("", sort=sort, limit=5).ids == expected[:5]
        by_camera = [fast.image(i) for i in fast.search("", sort="camera").ids]
        names = [((image.camera_make or "") + " " + (image.camera_model or "")).lower() for image in by_camera if image]
        assert names[:3] == ["canon canon eos r5"] * 3 and names[3:6] == ["canon eos 300d"] * 3
        assert names[-3:] == [" "] * 3  # no camera: last, both ways
        assert [n for n in names if n.strip()][-1].startswith("nikon")
        shown = {i: sum(v.present_at(fast.threshold) for v in fast.image_tags(i)) for i in ids}
        order = fast.search("", sort="-tags").ids
        assert [shown[i] for i in order] == sorted(shown.values(), reverse=True)
        fast.set_manual_tag(order[-1:], "extra", True)  # an edit: the totals follow it
        fast.set_manual_tag(order[-1:], "more", True)
        fast.set_threshold(0.3)  # the slider: every model tag at 0.5 now counts
        for sort in ("tags", "-tags"):
            assert fast.search("", sort=sort).ids == sql.search("", sort=sort).ids
            assert fast.search("", sort=sort, threshold=0.95).ids == sql.search("", sort=sort, threshold=0.95).ids
    finally:
        fast.close()
        sql.close()


def test_tag_count_sort_is_fast_at_100k_images() -> None:
    """The totals of 100,000 images with 30 tags each, from the posting lists: counted once, then
    kept; a sort of all of them stays well under a second."""
    import time

    from pyroaring import BitMap

    from joytag_desktop.library.postings import PostingIndex
    from joytag_desktop.library.tag_totals import ordered_by_totals, tag_totals
    from joytag_desktop.library.thresholds import ThresholdRules

    rng = np.random.default_rng(1)
    index = PostingIndex(stamp=0, rules=ThresholdRules(0.4), categories={})  # filled below as a build would
    images = 100_000
    for tag_id in range(1, 3001):
        members = rng.choice(images, size=1000, replace=False) + 1
        index.scores[(1, tag_id)] = BitMap(members.tolist())
    index.status = {"tagged": BitMap(range(1, images + 1))}
    started = time.perf_counter()
    totals = tag_totals(index, [1])
    first = time.perf_counter() - started
    started = time.perf_counter()
    order = ordered_by_totals(index.universe, tag_totals(index, [1]), True, 200)
    again = time.perf_counter() - started
    assert int(totals.sum()) == 3000 * 1000
    assert totals[order[0]] == totals.max() and len(order) == 200
    print(f"tag totals of 100k images: first {first * 1000:.0f} ms, then sorted in {again * 1000:.0f} ms")
    assert first < 5 and again < 1
