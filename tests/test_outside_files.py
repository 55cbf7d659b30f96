"""Comparing a file from outside the library (issue 31): ``similar FILE``, ``like:FILE`` and
``--model DIR``, run as a user runs them: the CLI in a subprocess, a real tiny model, a real
library tagged by ``autotag``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.fixture_files import FORMAT_DIR, IMAGES_DIR

pytestmark = pytest.mark.slow  # every test here takes seconds: not in the quick loop

MODEL = FORMAT_DIR / "tiny-released-shape"
OTHER_MODEL = FORMAT_DIR / "tiny-learned-pos"


def cli(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=180, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    return result


@pytest.fixture
def tagged(tmp_path: Path) -> dict:
    """A library of the fixture images tagged by the tiny model, and a copy of one of them elsewhere."""
    photos = tmp_path / "photos"
    shutil.copytree(IMAGES_DIR, photos)
    outside = tmp_path / "elsewhere" / "found.png"
    outside.parent.mkdir()
    shutil.copy(photos / "chelsea.png", outside)
    env = {**os.environ}
    db = tmp_path / "library.sqlite3"
    for argv in (["index", str(photos)], ["autotag", "--model", str(MODEL)]):
        result = cli("--db", str(db), *argv, env=env)
        assert result.returncode == 0, result.stderr
    return {"db": db, "env": env, "outside": outside, "twin": str(photos / "chelsea.png"), "photos": photos}


def _ranked(result: subprocess.CompletedProcess[str]) -> list[tuple[float, str]]:
    assert result.returncode == 0, result.stderr
    rows = [line.split("  ", 1) for line in result.stdout.splitlines()]
    return [(float(score), path) for score, path in rows]


def test_similar_to_an_outside_file_loads_the_model_whatever_was_imported_first(tagged: dict, tmp_path: Path) -> None:
    """The vector index (usearch) loads before the model (OpenVINO): once with the converted graph
    cached by autotag, once more, and once with an empty cache (the conversion used to spin)."""
    db, env = str(tagged["db"]), tagged["env"]
    for run_env in (env, env, {**env, "JOYTAG_DESKTOP_CONVERTED": str(tmp_path / "fresh-cache")}):
        result = cli("--db", db, "similar", str(tagged["outside"]), "--limit", "3", env=run_env)
        ranked = _ranked(result)
        assert len(ranked) == 3
        assert ranked[0][1] == tagged["twin"] and ranked[0][0] > 0.99  # the same picture, by another name
        assert "not in the library), tagged:" in result.stderr
        assert "loading model tiny-released-shape" in result.stderr  # what the wait is for
    assert any((tmp_path / "fresh-cache").rglob("openvino.xml"))


def test_like_term_takes_any_image_file_as_the_readme_says(tagged: dict) -> None:
    result = cli("--db", str(tagged["db"]), "search", f"like:{tagged['outside']}", "--sort", "similarity",
                 env=tagged["env"])  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = result.stdout.splitlines()
    assert paths[0] == tagged["twin"]
    assert sorted(paths) == sorted(str(p) for p in tagged["photos"].iterdir())  # the other five follow


def test_similar_model_takes_a_folder_as_every_other_command_does(tagged: dict) -> None:
    db, env = str(tagged["db"]), tagged["env"]
    by_name = _ranked(cli("--db", db, "similar", tagged["twin"], "--model", "tiny-released-shape", env=env))
    assert len(by_name) == 5
    # an absolute folder, a relative one, for a library image and for an outside file
    assert _ranked(cli("--db", db, "similar", tagged["twin"], "--model", str(MODEL), env=env)) == by_name
    relative = cli("--db", db, "similar", tagged["twin"], "--model", MODEL.name, env=env, cwd=MODEL.parent)
    assert _ranked(relative) == by_name
    outside = _ranked(cli("--db", db, "similar", str(tagged["outside"]), "--model", str(MODEL), env=env))
    assert outside[0][1] == tagged["twin"]
    # a folder whose model never tagged this library: a one-line usage error naming what it has
    other = cli("--db", db, "similar", tagged["twin"], "--model", str(OTHER_MODEL), env=env)
    assert other.returncode == 2 and "has not tagged this library (it has: tiny-released-shape)" in other.stderr


def test_a_model_given_by_a_relative_folder_is_found_from_any_folder(tmp_path: Path) -> None:
    """autotag --model with a relative folder: the library keeps the absolute one, so `similar`
    can load it for an outside file when run from elsewhere."""
    photos = tmp_path / "photos"
    shutil.copytree(IMAGES_DIR, photos)
    outside = tmp_path / "found.png"
    shutil.copy(photos / "logo.png", outside)
    env, db = {**os.environ}, str(tmp_path / "library.sqlite3")
    assert cli("--db", db, "index", str(photos), env=env).returncode == 0
    tagged = cli("--db", db, "autotag", "--model", MODEL.name, env=env, cwd=MODEL.parent)
    assert tagged.returncode == 0, tagged.stderr
    ranked = _ranked(cli("--db", db, "similar", str(outside), "--limit", "1", env=env, cwd=tmp_path))
    assert ranked[0][1] == str(photos / "logo.png")
