"""Shared fixtures: isolated state, the small model, libraries on SQLite or PostgreSQL, the GUI's photos, settings."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

# Qt runs without a display in tests (pytest-qt creates the QApplication).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from helpers.fixture_files import FORMAT_DIR, IMAGES_DIR
from joytag_desktop.library import Library

if TYPE_CHECKING:
    from joytag_desktop.gui.settings import GuiSettings


@pytest.fixture(scope="session")
def converted_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache of converted graphs (OpenVINO IR, ONNX exports) for the session: converting the
    same fixture model again in every test's fresh home would only cost time."""
    return tmp_path_factory.mktemp("converted")


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, converted_cache: Path
) -> Path:
    """Every test gets its own data directory and no model from the environment."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("JOYTAG_DESKTOP_HOME", str(home))
    monkeypatch.setenv("JOYTAG_DESKTOP_CONVERTED", str(converted_cache))
    monkeypatch.delenv("JOYTAG_DESKTOP_MODEL", raising=False)
    monkeypatch.delenv("JOYTAG_DESKTOP_DB", raising=False)
    monkeypatch.delenv("JOYTAG_DESKTOP_MODELS", raising=False)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT", "HF_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)  # no user's token, mirror or login reaches a test
    monkeypatch.setenv("HF_HOME", str(home / "hf-home"))
    # Never reach the network from a test, even by accident.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # The system trash is the test's own (send2trash reads XDG_DATA_HOME once, at import).
    import send2trash.plat_other as trash

    data = home / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setattr(trash, "XDG_DATA_HOME", str(data))
    monkeypatch.setattr(trash, "HOMETRASH", str(data / "Trash"))
    monkeypatch.setattr(trash, "HOMETRASH_B", str(data / "Trash").encode())
    return home


TRANSLATIONS = Path(__file__).resolve().parents[1] / "resources" / "translations"


@pytest.fixture(autouse=True)
def english_window(request: pytest.FixtureRequest):
    """GUI tests read the window as an English user does ("1 image", "2 images", "5,760"): the
    app loads joytag_en.qm and the locale at start (``gui.i18n``), tests build windows without it."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QLocale, QTranslator

    app = request.getfixturevalue("qapp")
    before = QLocale()
    translator = QTranslator()
    assert translator.load(str(TRANSLATIONS / "joytag_en.qm"))
    app.installTranslator(translator)
    QLocale.setDefault(QLocale("en_US"))
    yield
    app.removeTranslator(translator)
    QLocale.setDefault(before)


@pytest.fixture
def tiny_model_dir() -> Path:
    return FORMAT_DIR / "tiny-released-shape"


@pytest.fixture
def model_copy(tmp_path: Path, tiny_model_dir: Path) -> Path:
    """A writable copy of the small model, for tests that break it."""
    target = tmp_path / "model"
    shutil.copytree(tiny_model_dir, target)
    for name in ("expected.json", "input-astronaut.npy", "input-logo.npy"):
        (target / name).unlink()
    return target


BACKENDS_MARK = "backends"  # a module marked so runs its library tests on SQLite and on PostgreSQL


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{BACKENDS_MARK}: run the tests on SQLite and on a PostgreSQL server")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker(BACKENDS_MARK):
        # Slow as a whole (their own server, a database each): the quick loop runs them on SQLite only.
        metafunc.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])


@pytest.fixture
def backend() -> str:
    """Which database a library test runs on (both, in modules marked ``backends``)."""
    return "sqlite"


@pytest.fixture(scope="session")
def postgres():
    """A throw-away PostgreSQL server for the whole run (initdb + pg_ctl in a temporary folder)."""
    from helpers.pg_cluster import Cluster, find_binaries

    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (pip install pgserver, or apt install postgresql)")
    cluster = Cluster(binaries)
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new library's place: a SQLite file, or a new database on the test server."""
    if backend == "postgresql":
        return request.getfixturevalue("postgres").create_database()
    return str(tmp_path / "lib.sqlite3")


@pytest.fixture
def lib(db_url: str) -> Library:
    """An empty library (test modules with a populated one define their own)."""
    library = Library(db_url)
    yield library
    library.close()


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder holding a copy of the six sample images."""
    folder = tmp_path / "Photos"
    shutil.copytree(IMAGES_DIR, folder)
    return folder


@pytest.fixture
def settings(tiny_model_dir: Path) -> GuiSettings:
    """The GUI's settings, pointing at the small model on the CPU."""
    from joytag_desktop.gui.app import gui_settings

    values = gui_settings()
    values.model = str(tiny_model_dir)
    values.device = "cpu"
    return values


@pytest.fixture
def library(tmp_path: Path) -> Library:
    """An empty SQLite library for the GUI tests."""
    lib = Library(tmp_path / "gui.sqlite3")
    yield lib
    lib.close()
