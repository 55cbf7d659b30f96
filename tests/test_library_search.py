"""Search over a real library: every query form, thresholds, manual overrides, counts, safety."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from helpers.library import give_scores, paths_of, write_photo
from joytag_desktop.library import Library, QueryError
from joytag_desktop.library.schema import Status

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

VOCAB = [
    "cat",
    "dog",
    "outdoors",
    "indoors",
    "long_hair",
    "short_hair",
    "saber_(fate)",
    ":d",
    "^_^",
    "photoshop_(medium)",
    "camera",
]


@pytest.fixture
def lib(tmp_path: Path, db_url: str) -> Library:
    root = tmp_path / "photos"
    write_photo(
        root / "holidays" / "beach.jpg",
        size=(3000, 2000),
        make="Canon",
        model="Canon EOS R5",
        taken=datetime(2023, 3, 10, 12, 0),
    )
    write_photo(
        root / "holidays" / "mountain.jpg",
        size=(800, 600),
        make="NIKON CORPORATION",
        model="NIKON Z 6",
        taken=datetime(2023, 8, 1, 9, 30),
    )
    write_photo(root / "home" / "sofa.png", size=(500, 500))
    write_photo(root / "home" / "anime.jpg", size=(1200, 1600), taken=datetime(2022, 12, 31, 23, 59))
    write_photo(root / "home" / "100%_done.jpg", size=(100, 100))
    library = Library(db_url)
    library.add_root(root)
    library.scan()
    scores = {
        root / "holidays" / "beach.jpg": {"dog": 0.9, "outdoors": 0.95, "camera": 0.3},
        root / "holidays" / "mountain.jpg": {"cat": 0.45, "outdoors": 0.7},
        root / "home" / "sofa.png": {"cat": 0.85, "indoors": 0.9, "dog": 0.2},
        root / "home" / "anime.jpg": {
            "long_hair": 0.8,
            "saber_(fate)": 0.7,
            ":d": 0.6,
            "^_^": 0.5,
            "photoshop_(medium)": 0.42,
            "indoors": 0.5,
        },
        root / "home" / "100%_done.jpg": {"short_hair": 0.99},
    }
    give_scores(library, VOCAB, scores)
    yield library
    library.close()


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", ["100%_done.jpg", "beach.jpg", "mountain.jpg", "anime.jpg", "sofa.png"]),
        ("cat", ["mountain.jpg", "sofa.png"]),
        ("cat outdoors", ["mountain.jpg"]),
        ("cat -indoors", ["mountain.jpg"]),
        ("outdoors -cat", ["beach.jpg"]),
        ("cat | dog", ["beach.jpg", "mountain.jpg", "sofa.png"]),
        ("(cat | dog) -outdoors", ["sofa.png"]),
        ("*_hair", ["100%_done.jpg", "anime.jpg"]),
        ("long_*", ["anime.jpg"]),
        ("?at", ["mountain.jpg", "sofa.png"]),
        ("cat:>0.8", ["sofa.png"]),
        ("cat:0.4..0.5", ["mountain.jpg"]),
        ("dog:<0.5", ["100%_done.jpg", "mountain.jpg", "anime.jpg", "sofa.png"]),
        ("saber_(fate)", ["anime.jpg"]),
        ('"saber_(fate)" :d ^_^', ["anime.jpg"]),
        ("(saber_(fate) | dog) -:d", ["beach.jpg"]),
        ("photoshop_(medium)", ["anime.jpg"]),
        ("camera:canon", ["beach.jpg"]),
        ("camera:nikon", ["mountain.jpg"]),
        ("make:nikon cameramodel:z", ["mountain.jpg"]),
        ("camera", []),
        ('"camera":>0.2', ["beach.jpg"]),
        ("tag:camera", []),
        ("date:2023", ["beach.jpg", "mountain.jpg"]),
        ("date:2023-01..2023-06", ["beach.jpg"]),
        ("date:<2023", ["anime.jpg"]),
        ("folder:holidays", ["beach.jpg", "mountain.jpg"]),
        ("folder:HOME cat", ["sofa.png"]),
        ("width:>2000", ["beach.jpg"]),
        ("height:>=1600", ["beach.jpg", "anime.jpg"]),
        ("ext:png", ["sofa.png"]),
        ("format:jpeg -folder:holidays", ["100%_done.jpg", "anime.jpg"]),
        ("name:100%", ["100%_done.jpg"]),
        ("name:_done", ["100%_done.jpg"]),
        ("status:tagged dog", ["beach.jpg"]),
        ("status:pending", []),
        ("unknown_tag", []),
        ("-unknown_tag cat", ["mountain.jpg", "sofa.png"]),
    ],
)
def test_query_forms(lib: Library, query: str, expected: list[str]) -> None:
    assert sorted(paths_of(lib, query)) == sorted(expected)


def test_sorting(lib: Library) -> None:
    assert paths_of(lib, "cat | dog", sort="score") == ["beach.jpg", "sofa.png", "mountain.jpg"]
    by_size = sorted((img.size, Path(img.path).name) for img in lib.images(lib.search("").ids))
    assert paths_of(lib, "", sort="-size")[0] == by_size[-1][1]
    assert paths_of(lib, "", sort="size")[0] == by_size[0][1]

    assert paths_of(lib, "date:2022..2023", sort="date") == ["anime.jpg", "beach.jpg", "mountain.jpg"]
    assert paths_of(lib, "date:2022..2023", sort="-date") == ["mountain.jpg", "beach.jpg", "anime.jpg"]
    assert paths_of(lib, "", sort="name")[0] == "100%_done.jpg"
    assert len(paths_of(lib, "", limit=2)) == 2
    with pytest.raises(ValueError, match="unknown sort"):
        lib.search("", sort="colour")


def test_unknown_tag_gives_a_warning(lib: Library) -> None:
    result = lib.search("no_such_tag")
    assert result.ids == [] and "no tag matches 'no_such_tag'" in result.warnings[0]


def test_threshold_global_preset_and_per_tag(lib: Library) -> None:
    assert paths_of(lib, "cat", threshold=0.5) == ["sofa.png"]
    lib.set_threshold(0.3)
    assert sorted(paths_of(lib, "camera")) == ["beach.jpg"]
    lib.apply_preset("high-precision")
    assert lib.threshold == 0.6
    assert paths_of(lib, "cat") == ["sofa.png"]
    lib.set_tag_threshold("cat", 0.4)
    assert sorted(paths_of(lib, "cat")) == ["mountain.jpg", "sofa.png"]
    assert sorted(paths_of(lib, "?at")) == ["mountain.jpg", "sofa.png"], "wildcards honour per-tag thresholds"
    assert lib.tag_thresholds() == {"cat": 0.4}
    lib.set_tag_threshold("cat", None)
    assert paths_of(lib, "cat") == ["sofa.png"]


def test_manual_add_and_remove_override_the_model(lib: Library) -> None:
    sofa = lib.image_by_path(next(p for p in _paths(lib) if p.endswith("sofa.png")))
    lib.set_manual_tag([sofa.id], "cat", False)
    lib.set_manual_tag([sofa.id], "my_cat_mittens", True)
    assert paths_of(lib, "cat") == ["mountain.jpg"]
    assert paths_of(lib, "my_cat_mittens") == ["sofa.png"]
    assert paths_of(lib, "source:manual") == ["sofa.png"]
    views = {v.name: v for v in lib.image_tags(sofa.id)}
    assert views["cat"].source == "manual" and not views["cat"].present and views["cat"].ai_score == pytest.approx(0.85)
    assert views["my_cat_mittens"].present and views["my_cat_mittens"].ai_score is None
    # Retagging (new model scores) keeps both overrides.
    give_scores(lib, VOCAB, {Path(sofa.path): {"cat": 0.99, "indoors": 0.9}}, model="v2")
    assert paths_of(lib, "cat") == ["mountain.jpg"]
    assert paths_of(lib, "my_cat_mittens") == ["sofa.png"]
    assert {v.name: v for v in lib.image_tags(sofa.id)}["cat"].ai_score == pytest.approx(0.99)
    # Resetting the override hands the tag back to the model.
    lib.set_manual_tag([sofa.id], "cat", None)
    assert sorted(paths_of(lib, "cat")) == ["mountain.jpg", "sofa.png"]


def _paths(lib: Library) -> list[str]:
    return [img.path for img in lib.images(lib.search("").ids)]


def test_counts_match_brute_force_at_any_threshold(lib: Library) -> None:
    anime = lib.image_by_path(next(p for p in _paths(lib) if p.endswith("anime.jpg")))
    lib.set_manual_tag([anime.id], "cat", True)
    lib.set_manual_tag([anime.id], "long_hair", False)
    for threshold in (0.05, 0.3, 0.4, 0.45, 0.5, 0.85, 0.99, 1.0):
        counts = dict(lib.tag_counts(threshold=threshold))
        for name in VOCAB:
            assert counts.get(name, 0) == lib.count(f"{quote(name)}", threshold=threshold), (name, threshold)


def quote(name: str) -> str:
    from joytag_desktop.library import quote_tag

    return quote_tag(name)


def test_autocomplete_with_counts(lib: Library) -> None:
    assert lib.autocomplete("ca") == [("cat", 2), ("camera", 0)]
    assert lib.autocomplete("s") == [("saber_(fate)", 1), ("short_hair", 1)]
    assert lib.autocomplete(":") == [(":d", 1)]
    assert lib.autocomplete("-ca")[0] == ("cat", 2), "a leading '-' (not) is ignored"
    assert lib.autocomplete("zzz") == []


def test_missing_images_are_left_out_until_asked_for(lib: Library, tmp_path: Path) -> None:
    (tmp_path / "photos" / "home" / "sofa.png").unlink()
    report = lib.scan()
    assert report.missing == 1
    assert paths_of(lib, "cat") == ["mountain.jpg"]
    assert paths_of(lib, "status:missing") == ["sofa.png"]
    assert paths_of(lib, "cat status:missing") == ["sofa.png"]
    assert dict(lib.tag_counts())["cat"] == 1, "counts leave missing files out too"
    assert lib.purge_missing() == 1
    assert paths_of(lib, "status:missing") == []


@pytest.mark.parametrize(
    "hostile",
    [
        "'; DROP TABLE images; --",
        '"x\') OR 1=1 --"',
        "cat) OR (1=1",
        "folder:%' OR '1'='1",
        "name:%",
        "robert'); DELETE FROM tags;--",
    ],
)
def test_query_text_cannot_change_the_sql(lib: Library, hostile: str) -> None:
    try:
        ids = lib.search(hostile).ids
    except QueryError:
        ids = []
    assert len(ids) <= 1
    assert lib.count("") == 5
    assert lib.count_by_status()[Status.TAGGED] == 5
    assert len(lib.tag_counts()) == 10


def test_parse_error_message(lib: Library) -> None:
    with pytest.raises(QueryError, match=r"never closed \(at position 1\)"):
        lib.search("(cat | dog")
