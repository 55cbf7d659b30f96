"""Shared fixtures: the parity fixture copied from the JoyTag format spec, isolated state, image makers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

# Qt runs without a display in tests (pytest-qt creates the QApplication).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from joytag_desktop.library import Library

FIXTURES = Path(__file__).parent / "fixtures"
FORMAT_DIR = FIXTURES / "joytag-format"
IMAGES_DIR = FORMAT_DIR / "images"
MODEL_NAMES = ("tiny-released-shape", "tiny-learned-pos")
SAMPLE_IMAGES = tuple(sorted(p.name for p in IMAGES_DIR.iterdir()))


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


def expected_cases(model_name: str) -> dict:
    return json.loads((FORMAT_DIR / model_name / "expected.json").read_text())["cases"]


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    """An empty library in a real SQLite file (test modules with a populated one define their own)."""
    library = Library(tmp_path / "lib.sqlite3")
    yield library
    library.close()
