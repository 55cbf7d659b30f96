"""The pending count ("Tagging N of M", and the worker's question whether any are left) through a
library's life: images added, tagged by one model then the other, failed, gone missing, retagged,
a second automatic model switched on late, a model that is not automatic. At each step every way
of counting (``library.pending``) gives the answer of the direct count, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from helpers.library import write_photo
from joytag_desktop.library import ImageResult, Library
from joytag_desktop.library import pending as pending_module
from joytag_desktop.library.records import ModelInfo

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

# What the count means, said the plain way (the query pending_count ran before issue 33).
DIRECT = text(
    "SELECT count(*) FROM images i WHERE i.status = 'pending' AND NOT EXISTS"
    " (SELECT 1 FROM image_models m WHERE m.image_id = i.id AND m.model_id = :model)"
)


def _check(library: Library, models: list[ModelInfo], expected: dict[str, int]) -> dict[str, str]:
    """Every way agrees with the direct count and with ``expected``; returns the way each chose."""
    chosen = {}
    with library.database.Session() as session:
        for model in models:
            direct = session.execute(DIRECT, {"model": model.id}).scalar_one()
            ways = {
                way: session.execute(statement, {"model": model.id}).scalar_one()
                for way, statement in pending_module.STATEMENTS.items()
            }
            assert ways == dict.fromkeys(pending_module.WAYS, direct), model.name
            chosen[model.name] = pending_module.cheapest_way(session, model.id)
    assert {model.name: library.pending_count(model.id) for model in models} == expected
    with library.database.Session() as session:  # the worker's "anything left?" (every few seconds)
        waiting = session.execute(text("SELECT count(*) FROM images WHERE status = 'pending'")).scalar_one()
    assert library.has_pending() == (waiting > 0)
    return chosen


def _tag(library: Library, model: ModelInfo, ids: list[int], failed: Sequence[int] = ()) -> None:
    results = [ImageResult(i, np.array([0.9], dtype=np.float32), None, None) for i in ids]
    results += [ImageResult(i, None, None, "cannot be decoded") for i in failed]
    library.store_results(results, model, ["cat"], ["general"])


def test_every_way_counts_the_same_through_a_library_s_life(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pending_module, "FEW", 0)  # choose a way even among a few dozen images
    photos = tmp_path / "photos"
    for n in range(40):
        write_photo(photos / f"{n:02d}.jpg", color=(n * 6, 90, 200 - n * 4))
    with Library(db_url) as library:
        library.add_folder(photos)
        library.scan([photos])
        ids = sorted(library.search("").ids)  # the passes go in id order
        assert len(ids) == 40
        name_of = {image.id: Path(image.path).name for image in library.images(ids)}
        first = library.add_model("first", auto=True)
        manual = library.add_model("manual")  # not automatic: run by hand (autotag --model)
        models = [first, manual]
        ways = _check(library, models, {"first": 40, "manual": 40})
        assert ways["first"] == "tagged"  # nothing tagged: every pending image counts, no look-up

        _tag(library, first, ids[:30], failed=ids[30:33])
        ways = _check(library, models, {"first": 7, "manual": 7})  # tagged ones are no longer pending

        second = library.add_model("second")
        library.set_auto_models(["first", "second"])  # switched on late: tagged images wait for it
        models = [first, second, manual]
        ways = _check(library, models, {"first": 7, "second": 37, "manual": 37})
        assert ways["first"] == "not pending"  # its images now wait for the other model

        _tag(library, first, ids[33:])  # the end of the first model's pass
        ways = _check(library, models, {"first": 0, "second": 37, "manual": 37})
        assert ways["first"] == "not pending" and ways["second"] == "tagged"

        _tag(library, second, ids[:20])  # half the second model's pass: tagged by both
        ways = _check(library, models, {"first": 0, "second": 17, "manual": 17})

        for gone in (ids[5], ids[25], ids[36]):  # missing images wait for no model
            (photos / name_of[gone]).unlink()
        library.scan([photos])
        ways = _check(library, models, {"first": 0, "second": 15, "manual": 15})

        library.retag(ids[:10], [first.id])  # tagged again by the first model only (not the missing one)
        ways = _check(library, models, {"first": 9, "second": 15, "manual": 24})

        _tag(library, manual, ids[10:20])  # already tagged by both: nothing changes but its rows
        ways = _check(library, models, {"first": 9, "second": 15, "manual": 24})

        write_photo(photos / "new.jpg", color=(1, 2, 3))  # added after the passes
        library.scan([photos])
        new = max(library.search("").ids)
        ways = _check(library, models, {"first": 10, "second": 16, "manual": 25})

        _tag(library, first, [*ids[:10], new])  # the missing one's result is dropped
        _tag(library, second, [i for i in [*ids[20:30], *ids[33:], new]])
        ways = _check(library, models, {"first": 0, "second": 0, "manual": 0})
        assert set(ways.values()) == {"pending"}


def test_a_big_count_chooses_the_cheap_way_at_each_end_of_a_pass(db_url: str, tmp_path: Path) -> None:
    """Enough pending images to choose (over ``FEW``): the pass starting, ending, and the next one."""
    count = pending_module.FEW * 2 + 500
    with Library(db_url) as library:
        root = library.add_root(tmp_path).id
        with library.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO images (id, root_id, path, folder, name, ext, size, mtime, status, added_at,"
                    " rating_manual) VALUES (:id, :root, :path, 'p', :name, 'jpg', 1, 1, 'pending',"
                    " '2026-12-07 00:00:00', false)"
                ),
                [
                    {"id": i, "root": root, "path": f"{tmp_path}/{i}.jpg", "name": f"{i}.jpg"}
                    for i in range(1, count + 1)
                ],
            )
        first = library.add_model("first", auto=True)
        second = library.add_model("second", auto=True)
        _tag(library, first, list(range(1, 101)))
        assert _check(library, [first, second], {"first": count - 100, "second": count})["first"] == "pending"
        _tag(library, first, list(range(101, count - 10)))  # most done: they wait for the second model
        ways = _check(library, [first, second], {"first": 11, "second": count})
        assert ways == {"first": "not pending", "second": "tagged"}
        _tag(library, first, list(range(count - 10, count + 1)))
        _tag(library, second, list(range(1, count + 1, 4)))  # scattered: few rows of the second model
        left = count - len(range(1, count + 1, 4))
        assert _check(library, [first, second], {"first": 0, "second": left})["second"] == "tagged"
