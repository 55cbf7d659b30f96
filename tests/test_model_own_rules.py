"""A model's own rule inside the library (issue 36): JTP-3's per-tag calibration and "inherit"
implications, PixAI's copyrights following the character threshold. What ``tag`` gives with the
model's rule is what search, counts and export find after ``autotag`` of the same images, on
SQLite and PostgreSQL, and the user's own thresholds still win."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from joytag_desktop.cli.main import main
from joytag_desktop.library import Library

FIXTURES = Path(__file__).parent / "fixtures"
JTP3 = FIXTURES / "jtp3-format"
CALIBRATED, UNCALIBRATED = "jtp-3-hydra-tiny-a", "jtp-3-hydra-tiny-b"
PIXAI = FIXTURES / "pixai-format" / "pixai-tiny-a"
EXACT = ["--precision", "float32", "--preprocess", "reference", "--device", "cpu"]


def _tag_output(capsys, model: Path, photos: Path, *extra: str) -> dict[str, dict[str, float]]:
    """Per file name, the tags (and scores) ``tag`` gives with the model's own rule."""
    capsys.readouterr()
    assert main(["tag", "--model", str(model), "--format", "jsonl", *EXACT, *extra, str(photos)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return {Path(r["path"]).name: r["tags"] for r in records}


def _autotagged(db_url: str, model: Path, photos: Path) -> None:
    assert main(["--db", db_url, "index", "--no-watch", str(photos)]) == 0
    assert main(["--db", db_url, "autotag", "--model", str(model), *EXACT]) == 0


def _found(library: Library, query: str) -> list[str]:
    """The images a search finds, by the posting lists and by SQL (they must agree)."""
    names = []
    for indexed in (True, False):
        library.search_index.enabled = indexed
        names.append(sorted(Path(i.path).name for i in library.images(library.search(query).ids)))
    library.search_index.enabled = True
    assert names[0] == names[1], query
    return names[0]


def _counts(library: Library) -> list[dict[str, int]]:
    """The tag counts from the posting lists and from the histogram (SQL)."""
    found = []
    for indexed in (True, False):
        library.search_index.enabled = indexed
        found.append(dict(library.tag_counts()))
    library.search_index.enabled = True
    return found


def _present(library: Library) -> dict[str, set[str]]:
    """Per file name, the tags that count on it (what an export writes)."""
    images = library.images(library.search("").ids)
    return {Path(i.path).name: {v.name for v in library.image_tags(i.id) if v.present} for i in images}


def _agree(library: Library, expected: dict[str, dict[str, float]], vocabulary: list[str]) -> None:
    for tag in vocabulary:
        want = sorted(name for name, tags in expected.items() if tag in tags)
        assert _found(library, f'"{tag}"') == want, tag
    want_counts = Counter(tag for tags in expected.values() for tag in tags)
    for counts in _counts(library):
        assert counts == dict(want_counts)
    assert _present(library) == {name: set(tags) for name, tags in expected.items()}


@pytest.mark.backends
@pytest.mark.slow
@pytest.mark.parametrize("model", [CALIBRATED, UNCALIBRATED])
def test_autotag_finds_what_tag_gives_with_the_models_rule(tmp_path: Path, db_url: str, capsys, model: str) -> None:
    """Calibration (blank: never) and implications: search, counts and export equal ``tag``."""
    from joytag_desktop.taggers import recognise

    photos = Path(shutil.copytree(JTP3 / "images", tmp_path / "photos"))
    expected = _tag_output(capsys, JTP3 / model, photos)
    tagger = recognise(JTP3 / model)
    assert any(expected.values())
    _autotagged(db_url, JTP3 / model, photos)
    with Library(db_url) as library:
        _agree(library, expected, list(tagger.tags))
        # the implied parent is stored with the score that made it count (its child's, at least)
        for image in library.images(library.search("").ids):
            scores = {v.name: v.scores.get(model, 0.0) for v in library.image_tags(image.id, threshold=0.0)}
            for child, implied in enumerate(tagger.policy.implications):
                for parent in implied:
                    assert scores.get(tagger.tags[parent], 0.0) >= scores.get(tagger.tags[child], 0.0) - 1e-6


@pytest.mark.backends
@pytest.mark.slow
def test_the_users_thresholds_win_over_the_calibration(tmp_path: Path, db_url: str, capsys) -> None:
    """A tag's own threshold beats the calibration (even a "never" one); a model's category
    threshold set by the user replaces the calibration of that category; removing it restores it."""
    import numpy as np

    from joytag_desktop.taggers import recognise

    tagger = recognise(JTP3 / CALIBRATED)
    photos = Path(shutil.copytree(JTP3 / "images", tmp_path / "photos"))
    calibrated = _tag_output(capsys, JTP3 / CALIBRATED, photos)
    own = _tag_output(capsys, JTP3 / CALIBRATED, photos, "--threshold", "0")
    inherited = {
        name: dict(zip(tagger.tags, tagger.policy.inherited(np.asarray([tags[t] for t in tagger.tags])), strict=True))
        for name, tags in own.items()
    }
    category = dict(zip(tagger.tags, tagger.vocabulary.categories, strict=True))
    _autotagged(db_url, JTP3 / CALIBRATED, photos)
    with Library(db_url) as library:
        assert library.model_thresholds().get(CALIBRATED, {}) == {}  # the calibration stands alone
        assert library.calibrated_models() == {CALIBRATED: len(tagger.tags)}
    capsys.readouterr()
    assert main(["--db", db_url, "threshold", "--model", CALIBRATED]) == 0
    assert "calibration" in capsys.readouterr().out
    with Library(db_url) as library:
        never = "feline"  # blank in calibration.csv: the model's rule never outputs it
        assert _found(library, never) == []
        library.set_tag_threshold(never, 0.3)
        assert _found(library, never) == sorted(n for n, s in inherited.items() if s[never] >= 0.3)
        assert _found(library, never)  # the fixture has cats
        library.set_tag_threshold(never, None)
        library.set_model_threshold(CALIBRATED, "general", 0.6)
        want = {
            name: {t for t in tags if category[t] != "general"}
            | {t for t, s in inherited[name].items() if category[t] == "general" and s >= 0.6}
            for name, tags in calibrated.items()
        }
        assert _present(library) == want
        assert want != {name: set(tags) for name, tags in calibrated.items()}
        for tag in tagger.tags:
            assert _found(library, f'"{tag}"') == sorted(n for n, tags in want.items() if tag in tags), tag
        library.set_model_threshold(CALIBRATED, "general", None)
        _agree(library, calibrated, list(tagger.tags))
        # the library threshold (the slider) does not move a calibrated tag, live or saved
        views = [v for i in library.images(library.search("").ids) for v in library.image_tags(i.id)]
        assert all(v.present_at(0.01) == v.present == v.present_at(0.99) for v in views)
        library.set_threshold(0.05)
        _agree(library, calibrated, list(tagger.tags))


@pytest.mark.backends
@pytest.mark.slow
def test_pixai_copyrights_follow_the_character_threshold(tmp_path: Path, db_url: str, capsys) -> None:
    """A copyright scores as its best character; moving the character threshold moves the
    copyright one with it, so a series is found exactly where one of its characters counts."""
    from joytag_desktop.taggers import recognise

    tagger = recognise(PIXAI)
    vocabulary = tagger.vocabulary
    photos = Path(shutil.copytree(FIXTURES / "pixai-format" / "images", tmp_path / "photos"))
    own = _tag_output(capsys, PIXAI, photos, "--threshold", "0")
    brings = {
        vocabulary.names[vocabulary.outputs + i]: [vocabulary.names[c] for c in sources]
        for i, sources in enumerate(vocabulary.derived)
    }
    assert brings
    _autotagged(db_url, PIXAI, photos)
    with Library(db_url) as library:
        name = library.models()[0].name
        for value in (0.5, 0.95, 0.2):
            library.set_model_threshold(name, "character", value)
            assert library.model_thresholds()[name]["copyright"] == value
            for ip, characters in brings.items():
                want = sorted(n for n, tags in own.items() if max(tags.get(c, 0.0) for c in characters) >= value)
                assert _found(library, f"copyright:{ip}") == want, (ip, value)
        assert any(_found(library, f"copyright:{ip}") for ip in brings)
        library.set_model_threshold(name, "character", None)
        assert "copyright" not in library.model_thresholds().get(name, {})


@pytest.mark.backends
def test_a_library_made_before_follows_the_rule_at_the_next_start(tmp_path: Path, db_url: str) -> None:
    """A PixAI library whose character threshold the user moved alone gets its copyright threshold
    equal to it when the tagger next registers (every worker start)."""
    from joytag_desktop.taggers import recognise

    tagger = recognise(PIXAI)
    with Library(db_url) as library:
        model = library.register_model(tagger)
        assert (
            library.model_thresholds()[model.name]["copyright"] == library.model_thresholds()[model.name]["character"]
        )
        library.settings.set(f"model_follows:{model.id}", "{}")  # as before the rule
        library.set_model_threshold(model.name, "character", 0.6)
        assert library.model_thresholds()[model.name]["copyright"] != 0.6
        library.register_model(tagger)
        assert library.model_thresholds()[model.name]["copyright"] == 0.6
