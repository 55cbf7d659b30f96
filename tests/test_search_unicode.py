"""name:, path: and folder: fold case beyond ASCII, the same on SQLite and PostgreSQL: both the
stored text and the term are composed (NFC) and case-folded, so a macOS file name (decomposed) and
``ß``/``SS``, ``Σ``/``σ``/``ς``, Cyrillic and accented Latin letters match whatever case was typed."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from helpers.library import paths_of, write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.dialect import fold
from joytag_desktop.library.fields import like_pattern

pytestmark = pytest.mark.backends  # the same tests on SQLite and on PostgreSQL

NAMES = [
    "Ünïcödé.jpg",
    "Straße.jpg",
    "ΟΔΟΣ.jpg",  # Greek capitals: sigma at the end
    "Москва.jpg",
    unicodedata.normalize("NFD", "Café.jpg"),  # as macOS writes it: e + combining acute
    "plain.jpg",
]


@pytest.fixture
def lib(tmp_path: Path, db_url: str) -> Library:
    root = tmp_path / "photos"
    for name in NAMES:
        write_photo(root / "Été" / name)
    write_photo(root / "ÅSA" / "other.jpg")
    library = Library(db_url)
    library.add_root(root)
    library.scan()
    yield library
    library.close()


def named(lib: Library, query: str) -> list[str]:
    return sorted(unicodedata.normalize("NFC", name) for name in paths_of(lib, query))


@pytest.mark.parametrize(
    "query,expected",
    [
        ("name:ünïcödé", ["Ünïcödé.jpg"]),
        ("name:ÜNÏCÖDÉ", ["Ünïcödé.jpg"]),
        ("name:ü*", ["Ünïcödé.jpg"]),
        ("name:ü*.jpg", ["Ünïcödé.jpg"]),
        ("name:?nïc", ["Ünïcödé.jpg"]),
        ("name:STRASSE", ["Straße.jpg"]),
        ("name:straße", ["Straße.jpg"]),
        ("name:ss", ["Straße.jpg"]),
        ("name:οδοσ", ["ΟΔΟΣ.jpg"]),
        ("name:οδος", ["ΟΔΟΣ.jpg"]),
        ("name:ΟΔΟΣ", ["ΟΔΟΣ.jpg"]),
        ("name:москва", ["Москва.jpg"]),
        ("name:МОСК", ["Москва.jpg"]),
        ("name:café", ["Café.jpg"]),  # typed composed, stored decomposed
        ("name:" + unicodedata.normalize("NFD", "CAFÉ"), ["Café.jpg"]),
        ("name:cafe", []),  # accents are not stripped: é is not e
        ("name:PLAIN", ["plain.jpg"]),
        ("folder:été", ["Café.jpg", "Straße.jpg", "plain.jpg", "Ünïcödé.jpg", "Москва.jpg", "ΟΔΟΣ.jpg"]),
        ("path:ÉTÉ/ünï", ["Ünïcödé.jpg"]),
        ("path:åsa", ["other.jpg"]),
        ("-name:ü* folder:été name:a", ["Café.jpg", "Straße.jpg", "plain.jpg"]),  # Cyrillic а is not a
    ],
)
def test_text_terms_fold_case_beyond_ascii(lib: Library, query: str, expected: list[str]) -> None:
    assert named(lib, query) == sorted(expected)


def test_the_counts_and_the_index_agree_with_sql(lib: Library) -> None:
    """The posting lists hand text terms to SQL on their candidates: both paths give one answer."""
    for query in ("name:ÜNÏ", "cat | name:straße", "name:οδος -name:plain"):
        fast = lib.search(query).ids
        lib.search_index.enabled = False
        try:
            assert lib.search(query).ids == fast, query
        finally:
            lib.search_index.enabled = True
        assert lib.count(query) == len(fast)


def test_fold_and_patterns() -> None:
    assert fold("Straße") == fold("STRASSE") == "strasse"
    assert fold("ΟΔΟΣ") == fold("οδος") == "οδοσ"
    assert fold(unicodedata.normalize("NFD", "Ünï")) == "ünï"
    assert like_pattern("Ü*_?%") == "%ü%\\__\\%%"


@pytest.mark.slow
def test_a_postgresql_database_in_the_c_locale_folds_too(postgres, tmp_path: Path) -> None:
    """lower() in a "C" database maps ASCII only: the fold lowers in a Unicode collation instead."""
    import psycopg

    name = "c_locale_library"
    with psycopg.connect(postgres.admin_url().replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C' ENCODING 'UTF8'")
    write_photo(tmp_path / "photos" / "Ünïcödé.jpg")
    with Library(postgres.admin_url(name)) as library:
        library.add_root(tmp_path / "photos")
        library.scan()
        assert named(library, "name:ünïcödé") == ["Ünïcödé.jpg"]
        assert named(library, "name:ΣΑ") == []
