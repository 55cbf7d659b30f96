"""Score qualifiers and one-off thresholds from the search index answer exactly as SQL does, on
SQLite and on PostgreSQL: random queries over scores placed on (and a hair beside) the ends of the
ranges asked for, through retagging, hand edits and threshold changes, in a long-lived library
(which replays the change log) and in one opened after the changes (the saved index, on SQLite)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from pyroaring import BitMap
from sqlalchemy import text

from helpers.library import write_photo
from joytag_desktop.library import ImageResult, Library
from joytag_desktop.library.graded import Graded, code, inside
from joytag_desktop.library.query import quote_tag
from joytag_desktop.library.terms import Range

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

VOCAB = ["cat", "dog", "blue_sky", "long_hair", "hatsune_miku", "rating:general"]
CATEGORIES = ["general", "general", "general", "general", "character", "rating"]
BOUNDS = [0.0, 0.3, 0.5, 0.7, 0.9, 1.0]
IMAGES = 36


def _near(value: float, rng: random.Random) -> float:
    """A score at ``value`` or one double away from it (the rows a 16-bit code cannot settle)."""
    return rng.choice([value, math.nextafter(value, 0.0), math.nextafter(value, 1.0)])


def _tag(library: Library, rng: random.Random, ids: list[int], model: str) -> None:
    results = []
    for image_id in ids:
        scores = np.zeros(len(VOCAB), dtype=np.float32)
        for index in rng.sample(range(len(VOCAB)), rng.randrange(0, len(VOCAB))):
            scores[index] = rng.choice([*BOUNDS[1:], 0.35, 0.85, rng.random()])
        results.append(ImageResult(image_id, scores, None, None))
    library.store_results(results, library.model(model), VOCAB, CATEGORIES)


def _exact_doubles(library: Library, rng: random.Random) -> None:
    """Scores as doubles right on the bounds asked for and one ulp beside them (a model's float32
    scores never are; an import or another writer may store any double)."""
    with library.database.engine.begin() as connection:
        rows = connection.execute(text("SELECT image_id, tag_id, model_id FROM image_tags WHERE model_id != 0"))
        for image_id, tag_id, model_id in list(rows)[::2]:
            connection.execute(
                text("UPDATE image_tags SET score = :score WHERE image_id = :i AND tag_id = :t AND model_id = :m"),
                {"score": _near(rng.choice(BOUNDS[1:]), rng), "i": image_id, "t": tag_id, "m": model_id},
            )


def _bound(rng: random.Random) -> str:
    return repr(rng.choice(BOUNDS)) if rng.random() < 0.8 else f"{rng.random():.3f}"


def _score_term(rng: random.Random) -> str:
    name = rng.choice([quote_tag(rng.choice(VOCAB)), "*a*", "character:*", "no_such_tag"])
    form = rng.randrange(4)
    if form == 0:
        value = f"{rng.choice(['>', '>=', '<', '<=', '='])}{_bound(rng)}"
    elif form == 1:
        low, high = sorted([float(_bound(rng)), float(_bound(rng))])
        value = f"{low!r}..{high!r}"
    elif form == 2:
        value = f"{_bound(rng)}.."
    else:
        value = f"..{_bound(rng)}"
    return f"{name}:{value}"


def _query(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(1, 4)):
        roll = rng.random()
        if roll < 0.5:
            term = _score_term(rng)
        elif roll < 0.8:
            term = quote_tag(rng.choice(VOCAB))
        else:
            term = rng.choice(["model:wd", "model:joytag", "*_hair", "character:*", "rating:general"])
        if roll > 0.9:
            term = f"({term} | {_score_term(rng)})"
        parts.append(f"-{term}" if rng.random() < 0.3 else term)
    return " ".join(parts)


def _compare(sql: Library, fast: Library, rng: random.Random, rounds: int = 25) -> None:
    for _ in range(rounds):
        query = _query(rng)
        threshold = rng.choice([None, None, 0.3, 0.5, 0.9, round(rng.random(), 3)])
        sort = rng.choice(["path", "-path", "added", "-added"])  # dates: files written within a ms tie
        expected = sql.search(query, threshold, sort=sort)
        assert fast.searching.fast_search(query, threshold, sort, None, 0) is not None, query  # the index answers
        got = fast.search(query, threshold, sort=sort)
        assert got.ids == expected.ids, (query, threshold, sort)
        assert got.warnings == expected.warnings, query
        assert fast.count(query, threshold) == sql.count(query, threshold), (query, threshold)
        assert fast.matching(query, [*expected.ids[:5], 10**6], threshold) == set(expected.ids[:5]), query


@pytest.fixture
def libraries(tmp_path: Path, db_url: str):
    """(sql, fast, rng): one library, searched by SQL only and by the posting lists."""
    rng = random.Random(7)
    root = tmp_path / "photos"
    for number in range(IMAGES):
        write_photo(root / f"img{number:02d}.jpg", size=(16, 12))
    setup = Library(db_url)
    setup.add_root(root)
    setup.scan()
    setup.add_model("joytag")
    setup.add_model("wd", format="wd", thresholds={"general": 0.35, "character": 0.85})
    ids = setup.search("status:pending").ids
    _tag(setup, rng, ids, "joytag")
    _tag(setup, rng, rng.sample(ids, IMAGES * 2 // 3), "wd")
    _exact_doubles(setup, rng)
    setup.set_manual_tag(rng.sample(ids, 5), "cat", True)
    setup.set_manual_tag(rng.sample(ids, 5), "dog", False)
    setup.set_tag_threshold("blue_sky", 0.7)
    setup.close()
    sql, fast = Library(db_url), Library(db_url)
    sql.search_index.enabled = False
    yield sql, fast, rng, ids
    sql.close()
    fast.close()


def test_score_ranges_and_one_off_thresholds_answer_like_sql(libraries, db_url: str) -> None:
    sql, fast, rng, ids = libraries
    _compare(sql, fast, rng, rounds=50)
    builds = fast.search_index.builds
    for _round in range(6):  # retagging, hand edits, threshold changes: the index follows the log
        edited = fast if rng.random() < 0.5 else sql
        action = rng.randrange(4)
        if action == 0:
            _tag(edited, rng, rng.sample(ids, 8), rng.choice(["joytag", "wd"]))
        elif action == 1:
            _exact_doubles(edited, rng)
        elif action == 2:
            edited.set_manual_tag(rng.sample(ids, 4), rng.choice(VOCAB), rng.choice([True, False, None]))
        else:
            edited.set_tag_threshold(rng.choice(VOCAB[:4]), rng.choice([0.3, 0.9, None]))
            edited.set_model_threshold("wd", "general", rng.choice([0.5, None]))
            edited.set_threshold(rng.choice([0.3, 0.4, 0.5, 0.7]))  # the slider: postings moved, not rebuilt
        _compare(sql, fast, rng)
    for library, value in ((sql, 0.45), (fast, 0.6), (sql, 0.3), (fast, None)):
        if value is None or value < 0.5:
            library.set_threshold(value or 0.4)
        else:
            library.set_model_threshold("wd", "character", value)
        _compare(sql, fast, rng, rounds=8)
    assert fast.search_index.builds == builds  # threshold changes moved the postings by their bands
    later = Library(db_url)  # another process: the saved index (SQLite) or a new build, and the log since
    try:
        _compare(sql, later, rng)
    finally:
        later.close()


def test_rows_at_a_range_end_are_settled_by_their_stored_scores(libraries) -> None:
    """A score exactly on a bound shares its code with scores a hair below it: those rows are read
    back and compared exactly, and only those."""
    sql, fast, _rng, _ids = libraries
    cat = "tag_id = (SELECT id FROM tags WHERE name = 'cat') AND model_id != 0"
    below = math.nextafter(0.3, 0.0)
    assert code(below) == code(0.3)
    with fast.database.engine.begin() as connection:
        connection.execute(text(f"UPDATE image_tags SET score = 0.3 WHERE {cat}"))
        first = connection.execute(text(f"SELECT image_id FROM image_tags WHERE {cat}")).first()
        assert first is not None
        connection.execute(
            text(f"UPDATE image_tags SET score = :s WHERE image_id = :i AND {cat}"), {"s": below, "i": first[0]}
        )
    for query in ("cat:>=0.3", "cat:>0.3", "cat:<0.3", "cat:<=0.3", "cat:=0.3", "cat:0.3..0.3"):
        assert _checked(fast, query) > 0, query
        assert fast.search(query).ids == sql.search(query).ids, query
    assert fast.search("cat", threshold=0.3).ids == sql.search("cat", threshold=0.3).ids
    assert _checked(fast, "cat:>0.5") == 0  # no row near 0.5: nothing read back


def _checked(library: Library, query: str) -> int:
    """How many rows the index read back to answer ``query``."""
    node, resolver = library.searching.compile(query, None)
    with library.search_index.acquire(resolver.rules) as index:
        assert index is not None
        evaluator = library.searching.evaluator(index, resolver)
        evaluator.matches(node)
        return evaluator.checked


def test_score_codes_split_ranges_and_follow_changes_exactly() -> None:
    """The codes' two halves (surely inside, to check) against a plain comparison of every row, and
    rows replaced in place against the same rows packed anew."""
    rng = np.random.default_rng(3)
    ids = rng.choice(300_000, 20_000, replace=False)
    scores = np.concatenate([rng.random(19_990), [0.0, 0.3, 0.5, 0.5, 1.0, 0.7, 0.7, 0.9, 0.9, 0.3]])
    codes = np.array([code(float(x)) for x in scores])
    graded = Graded.of(ids, codes)
    for low, high, low_strict, high_strict in [(0.3, None, False, False), (0.5, 0.9, True, False),
                                               (0.7, 0.7, False, False), (0.0, 1.0, False, True),
                                               (0.299, 0.301, False, False)]:  # fmt: skip
        bounds = Range(low, high, low_strict, high_strict)
        sure, unsure = graded.split(bounds)
        truth = {int(i) for i, x in zip(ids, scores, strict=True) if inside(float(x), bounds)}
        assert set(sure) <= truth and truth - set(sure) <= set(unsure), bounds
        assert len(unsure) <= 30, bounds  # only rows on a bound's code
    rows = dict(zip(ids.tolist(), codes.tolist(), strict=True))
    for _ in range(20):
        changed = rng.choice(300_000, 40, replace=False).tolist()
        new = [(i, int(rng.integers(0, 65536))) for i in changed if rng.random() < 0.6]
        graded.replace(BitMap(changed), new)
        for i in changed:
            rows.pop(i, None)
        rows.update(new)
        fresh = Graded.of(np.array(list(rows)), np.array(list(rows.values())))
        assert graded.keys == fresh.keys and np.array_equal(graded.fine, fresh.fine)
