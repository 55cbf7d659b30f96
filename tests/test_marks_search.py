"""stars:, label: and pick: search terms and the sort by stars: the SQL path and the posting lists
give the same images, and both give what the marks say (checked against the marks themselves)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from helpers.library import give_scores, write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.terms import QueryError

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL
VOCAB = ["cat", "dog", "sky"]


@pytest.fixture
def marked(db_url: str, tmp_path: Path):
    """Twenty-four scanned photos with tags, and stars, labels and picks set by hand at random."""
    rng = random.Random(7)
    root = tmp_path / "Photos"
    paths = [write_photo(root / f"p{i:02d}.jpg", color=(i * 9, 40, 80)) for i in range(24)]
    library = Library(db_url)
    library.add_root(root)
    library.scan()
    give_scores(library, VOCAB, {p: {name: rng.choice([0.1, 0.9]) for name in VOCAB} for p in paths})
    ids = [library.image_by_path(p).id for p in paths]
    for image_id in ids:
        if rng.random() < 0.8:
            library.set_mark([image_id], "stars", rng.choice([-1, 0, 1, 2, 3, 4, 5]))
        if rng.random() < 0.6:
            library.set_mark([image_id], "label", rng.choice(["red", "yellow", "green", "blue", "purple"]))
        if rng.random() < 0.5:
            library.set_mark([image_id], "pick", rng.choice(["picked", "rejected", "pending"]))
    sql = Library(db_url)
    sql.search_index.enabled = False
    yield library, sql, ids
    sql.close()
    library.close()


QUERIES = {
    "stars:3": lambda m, t: (m.stars or 0) == 3,
    "stars:>=4": lambda m, t: (m.stars or 0) >= 4,
    "stars:>2": lambda m, t: (m.stars or 0) > 2,
    "stars:<2": lambda m, t: (m.stars or 0) < 2,
    "stars:<=0": lambda m, t: (m.stars or 0) <= 0,
    "stars:=5": lambda m, t: (m.stars or 0) == 5,
    "stars:-1": lambda m, t: m.stars == -1,
    "stars:rejected": lambda m, t: m.stars == -1,
    "stars:0": lambda m, t: (m.stars or 0) == 0,
    "stars:2..4": lambda m, t: 2 <= (m.stars or 0) <= 4,
    "label:red": lambda m, t: m.label == "red",
    "label:Purple": lambda m, t: m.label == "purple",
    "label:none": lambda m, t: m.label is None,
    "pick:picked": lambda m, t: m.pick == "picked",
    "pick:accepted": lambda m, t: m.pick == "picked",
    "pick:rejected": lambda m, t: m.pick == "rejected",
    "pick:none": lambda m, t: m.pick is None,
    "cat stars:>=3": lambda m, t: "cat" in t and (m.stars or 0) >= 3,
    "-dog label:green": lambda m, t: "dog" not in t and m.label == "green",
    "(label:red | label:blue) -pick:rejected": lambda m, t: m.label in ("red", "blue") and m.pick != "rejected",
    "sky | stars:5": lambda m, t: "sky" in t or (m.stars or 0) == 5,
    "-stars:-1 cat": lambda m, t: m.stars != -1 and "cat" in t,
}


def test_mark_terms_answer_alike_on_both_paths_and_match_the_marks(marked) -> None:
    library, sql, ids = marked
    marks = library.marks(ids)
    tags = {i: {v.name for v in library.image_tags(i) if v.present} for i in ids}
    for query, wanted in QUERIES.items():
        expected = sorted(i for i in ids if wanted(marks[i], tags[i]))
        assert sorted(library.search(query).ids) == expected, query
        assert sorted(sql.search(query).ids) == expected, query
        assert library.count(query) == sql.count(query) == len(expected), query
    assert any(sorted(library.search(q).ids) for q in QUERIES)  # the library is not empty of marks
    assert library.search_index.builds == 1 and sql.search_index.builds == 0  # the two paths did answer


def test_sort_by_stars(marked) -> None:
    library, sql, ids = marked
    marks = library.marks(ids)
    for lib in (library, sql):
        best_first = lib.search("", sort="-stars").ids
        assert [marks[i].stars or 0 for i in best_first] == sorted((m.stars or 0 for m in marks.values()), reverse=True)
        assert [marks[i].stars or 0 for i in lib.search("cat", sort="stars").ids] == sorted(
            marks[i].stars or 0 for i in lib.search("cat").ids
        )


@pytest.mark.parametrize("query", ["stars:6", "stars:2.5", "stars:many", "label:pink", "pick:maybe"])
def test_bad_mark_terms_say_why(marked, query: str) -> None:
    library, _, _ = marked
    with pytest.raises(QueryError):
        library.search(query)
