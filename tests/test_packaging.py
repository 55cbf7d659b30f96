"""The app as users install it: wheel and sdist contents, a fresh virtual environment, desktop files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers.fixture_files import IMAGES_DIR
from joytag_desktop import __version__

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out


def test_wheel_and_sdist_carry_resources_and_migrations(dist: Path) -> None:
    wheel = next(dist.glob("joytag_desktop-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "joytag_desktop/resources/icons/joytag-desktop.svg",
        "joytag_desktop/resources/icons/joytag-desktop-256.png",
        "joytag_desktop/library/migrations/env.py",
        "joytag_desktop/library/migrations/script.py.mako",
        "joytag_desktop/library/migrations/versions/0001_initial.py",
        "joytag_desktop/library/migrations/versions/0002_metadata_writes.py",
    ):
        assert needed in names, needed
    assert not any(name.endswith(".safetensors") for name in names), "no model weights in the wheel"
    sdist = next(dist.glob("joytag_desktop-*.tar.gz"))
    assert sdist.stat().st_size < 5_000_000


def test_wheel_installs_and_runs_in_a_fresh_environment(dist: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    venv = tmp_path / "venv"
    # The heavy dependencies (torch, Qt) come from this interpreter's site-packages (a virtual
    # environment's own, when the tests run in one: --system-site-packages would reach past it to the
    # base interpreter); the app itself is only the wheel just built.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    inner_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    outer_sites = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(inner_site, "outer-site-packages.pth").write_text("".join(f"{site}\n" for site in sorted(outer_sites)))
    wheel = next(dist.glob("joytag_desktop-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
    )
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path / "home"), "PYTHONPATH": ""}
    where = subprocess.run(
        [str(python), "-c", "import joytag_desktop; print(joytag_desktop.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert str(venv) in where, "the installed wheel is used, not the source tree"
    script = venv / "bin" / "joytag-desktop"
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=env, check=True)
    assert version.stdout.strip() == f"joytag-desktop {__version__}"
    tagged = subprocess.run(
        [str(script), "tag", "--model", str(tiny_model_dir), "--format", "jsonl", str(IMAGES_DIR / "rocket.jpg")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert tagged.returncode == 0, tagged.stderr
    record = json.loads(tagged.stdout)
    assert record["error"] is None and record["tags"]
    # The library (migrations from package data) works from the wheel too.
    indexed = subprocess.run(
        [str(script), "index", str(IMAGES_DIR)], capture_output=True, text=True, env=env, timeout=300
    )
    assert indexed.returncode == 0 and "6 new" in indexed.stderr, indexed.stderr
    icon = subprocess.run(
        [str(python), "-c", "from joytag_desktop.resources import icon_path; print(icon_path(256))"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout.strip()
    assert icon.startswith(str(venv)) and Path(icon).is_file()


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils not installed")
def test_desktop_file_is_valid() -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(PACKAGING / "io.github.joytag_desktop.desktop")], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream not installed")
def test_appstream_metainfo_is_valid() -> None:
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(PACKAGING / "io.github.joytag_desktop.metainfo.xml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_about_dialog_text(qtbot, tmp_path: Path) -> None:
    from joytag_desktop.gui.app import gui_settings
    from joytag_desktop.gui.main_window import MainWindow
    from joytag_desktop.library import Library

    library = Library(tmp_path / "lib.sqlite3")
    window = MainWindow(library, gui_settings(), start_worker=False)
    qtbot.addWidget(window)
    text = window.about_text()
    assert __version__ in text and "Apache License 2.0" in text and "fancyfeast" in text
    window.close()
    library.close()


def _apt_packages(text: str) -> set[str]:
    return set(re.findall(r"\b(lib[a-z0-9.+-]+|fonts-[a-z-]+)\b", text))


def test_readme_install_matches_what_ci_does() -> None:
    """CI proves the README: the same apt list for Qt, the same venv and test commands."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    qt_line = readme[readme.index("Qt's X11 plugin needs") : readme.index("(the list `.ci/run` installs")]
    qt_packages = _apt_packages(qt_line)
    assert len(qt_packages) >= 10
    ci_packages = _apt_packages(ci)
    assert qt_packages <= ci_packages, qt_packages - ci_packages
    assert ci_packages - qt_packages == {"libimage-exiftool-perl"}, "tests add only exiftool (and the tools)"
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && python -m pytest" in readme
    for step in (
        "python3 -m venv .venv",
        ". .venv/bin/activate",
        "pip install --quiet -e '.[dev]'",
        "python -m pytest",
    ):
        assert step in ci, step
    assert "pip install . && joytag-desktop" in readme, "end users install without the dev extras"


def test_qt_comes_as_pyside6_essentials() -> None:
    """The app uses QtCore, QtGui and QtWidgets only: the 1 GB PySide6 meta-package is not needed."""
    text = (ROOT / "pyproject.toml").read_text()
    assert "PySide6-Essentials>=" in text and '"PySide6>=' not in text
    used = set()
    for source in (ROOT / "joytag_desktop").rglob("*.py"):
        used |= set(re.findall(r"PySide6\.(Qt[A-Za-z]+)", source.read_text()))
    assert used <= {"QtCore", "QtGui", "QtWidgets", "QtSvg", "QtTest"}, used
