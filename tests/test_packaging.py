"""The app as users install it: wheel and sdist contents, a fresh virtual environment, desktop files."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterable
from email.parser import HeaderParser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from helpers.fixture_files import IMAGES_DIR
from joytag_desktop import __version__

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def unmet_requirements(requirements: Iterable[str], extras: Iterable[str] = ()) -> list[str]:
    """Each requirement that applies here (its marker, for no extra and for each of ``extras``) against
    the installed distributions, following the extras it asks of them: what is missing or the wrong version."""
    problems: list[str] = []
    followed: set[tuple[str, str]] = set()
    pending = [(text, extra) for text in requirements for extra in ("", *extras)]
    while pending:
        text, extra = pending.pop()
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": extra}):
            continue
        try:
            installed = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{requirement}: not installed")
            continue
        if not requirement.specifier.contains(installed.version, prereleases=True):
            problems.append(f"{requirement}: {installed.version} is installed")
        for wanted in sorted(requirement.extras):
            if (canonicalize_name(requirement.name), wanted) not in followed:
                followed.add((canonicalize_name(requirement.name), wanted))
                pending += [(needed, wanted) for needed in installed.requires or ()]
    return sorted(set(problems))


def wheel_metadata(wheel: Path) -> tuple[list[str], list[str]]:
    """The wheel's own METADATA: its Requires-Dist and Provides-Extra lines."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        message = HeaderParser().parsestr(archive.read(name).decode())
    return message.get_all("Requires-Dist") or [], message.get_all("Provides-Extra") or []


def migration_files_missing(names: set[str]) -> list[str]:
    """Every alembic folder's env, script template and migrations in the source tree that ``names`` (a
    wheel's file list) lacks: a library opened by an installed app must find its whole upgrade path."""
    folders = [env.parent for env in (ROOT / "joytag_desktop").rglob("env.py") if (env.parent / "versions").is_dir()]
    assert folders, "no alembic folder found under joytag_desktop/"
    needed = []
    for folder in folders:
        versions = sorted((folder / "versions").glob("*.py"))
        assert len(versions) >= 7, f"{folder}: the migrations are missing from the source tree"
        needed += [folder / "env.py", folder / "script.py.mako", *versions]
    return [path.relative_to(ROOT).as_posix() for path in needed if path.relative_to(ROOT).as_posix() not in names]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel built from a clean copy of the source tree: a stale ``*.egg-info`` left by an
    earlier build or an editable install lists every file it saw, and would hide a package missing from
    pyproject.toml's list."""
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source") / "joytag-desktop"
    leftovers = (".git", ".venv", "*.egg-info", "build", "dist", "test-artifacts", "__pycache__", ".*_cache")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*leftovers))
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
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
    ):
        assert needed in names, needed
    assert migration_files_missing(names) == []
    assert not any(name.endswith(".safetensors") for name in names), "no model weights in the wheel"
    sdist = next(dist.glob("joytag_desktop-*.tar.gz"))
    assert sdist.stat().st_size < 5_000_000


def test_wheel_dependencies_are_installed_in_versions_it_accepts(dist: Path) -> None:
    """The wheel's Requires-Dist (the fresh-environment test installs it with --no-deps), dev extra
    included, resolved against this environment: a requirement raised past what is installed fails here."""
    requirements, extras = wheel_metadata(next(dist.glob("joytag_desktop-*.whl")))
    assert "dev" in extras, extras
    names = {canonicalize_name(Requirement(text).name) for text in requirements}
    assert {"torch", "sqlalchemy", "alembic", "pyside6-essentials", "psycopg", "pytest"} <= names, names
    assert unmet_requirements(requirements, extras=["dev"]) == []


def test_the_checks_can_fail() -> None:
    """The two wheel checks above report a missing distribution, a wrong version, a missing extra's
    distribution and a missing migration; a marker that does not apply is skipped."""
    problems = unmet_requirements(
        ["numpy>=9999", "no-such-distribution-for-joytag", "pytest>=1", 'torch>=9999; extra == "gpu"'],
        extras=["dev"],
    )
    assert [problem.split(":")[0] for problem in problems] == ["no-such-distribution-for-joytag", "numpy>=9999"]
    assert unmet_requirements(["sqlalchemy[oracle-cxoracle]"]) == [
        'cx_oracle>=8; extra == "oracle-cxoracle": not installed'
    ]
    assert unmet_requirements(["psycopg[binary]", 'pytest[no-such-extra]; extra == "dev"'], extras=["dev"]) == []
    missing = migration_files_missing(set())
    assert "joytag_desktop/library/migrations/script.py.mako" in missing
    assert "joytag_desktop/library/migrations/versions/0007_picture_hash.py" in missing
    assert migration_files_missing(set(missing)) == []


@pytest.mark.slow
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
    """The app uses modules of PySide6-Essentials only (QtCore, QtGui, QtWidgets; QtNetwork for one
    window per library): the 1 GB PySide6 meta-package is not needed."""
    text = (ROOT / "pyproject.toml").read_text()
    assert "PySide6-Essentials>=" in text and '"PySide6>=' not in text
    used = set()
    for source in (ROOT / "joytag_desktop").rglob("*.py"):
        used |= set(re.findall(r"PySide6\.(Qt[A-Za-z]+)", source.read_text()))
    assert used <= {"QtCore", "QtGui", "QtWidgets", "QtNetwork", "QtSvg", "QtTest"}, used
    for module in used:
        importlib.import_module(f"PySide6.{module}")  # each is in the Essentials wheel installed here
