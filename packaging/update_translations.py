"""Collect the window's strings into the .ts sources and compile the .qm files the app loads.

    python packaging/update_translations.py           # lupdate, then lrelease
    python packaging/update_translations.py --check   # fail if a .ts is stale or unfinished

Uses Qt's own tools as PySide6 ships them (pyside6-lupdate, pyside6-lrelease). Translators edit
``resources/translations/joytag_<locale>.ts`` (Qt Linguist opens it); the ``.qm`` beside it is built.
``joytag_en.ts`` holds only the plural forms ("%Ln image(s)" → "1 image" / "2 images"): the
source texts are English already.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "joytag_desktop" / "gui").glob("*.py"))
TRANSLATIONS = ROOT / "resources" / "translations"
LOCALES = ("en", "zh_CN")
PLURALS_ONLY = {"en"}  # English needs only its words for one and many


def tool(name: str) -> str:
    """pyside6-<name> next to this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name(f"pyside6-{name}")
    found = str(beside) if beside.exists() else shutil.which(f"pyside6-{name}")
    if not found:
        raise SystemExit(f"pyside6-{name} not found: install PySide6")
    return found


def lupdate(target: Path, locale: str) -> None:
    plurals = ["-pluralonly"] if locale in PLURALS_ONLY else []
    subprocess.run(
        [tool("lupdate"), "-no-obsolete", "-locations", "none", *plurals, *map(str, SOURCES), "-ts", str(target)],
        check=True,
        capture_output=True,
    )


def lrelease(source: Path, target: Path) -> None:
    subprocess.run([tool("lrelease"), str(source), "-qm", str(target)], check=True, capture_output=True)


def check() -> list[str]:
    """Problems: strings in the code missing from a .ts, unfinished entries, a .qm older than its .ts."""
    import defusedxml.ElementTree as ElementTree

    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        for locale in LOCALES:
            ts = TRANSLATIONS / f"joytag_{locale}.ts"
            fresh = Path(scratch) / ts.name
            shutil.copy(ts, fresh)
            lupdate(fresh, locale)
            root = ElementTree.parse(fresh).getroot()
            messages = root.iter("message") if root is not None else []
            for message in messages:
                translation = message.find("translation")
                source = message.findtext("source")
                if translation is None or translation.get("type") in ("unfinished", "vanished", "obsolete"):
                    problems.append(f"{ts.name}: not translated: {source!r}")
            qm = ts.with_suffix(".qm")
            built = Path(scratch) / qm.name
            lrelease(ts, built)
            if not qm.exists() or qm.read_bytes() != built.read_bytes():
                problems.append(f"{qm.name} is not built from {ts.name}: run packaging/update_translations.py")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        problems = check()
        print("\n".join(problems) or "translations up to date")
        return 1 if problems else 0
    TRANSLATIONS.mkdir(parents=True, exist_ok=True)
    for locale in LOCALES:
        ts = TRANSLATIONS / f"joytag_{locale}.ts"
        lupdate(ts, locale)
        lrelease(ts, ts.with_suffix(".qm"))
        print(f"updated {ts.relative_to(ROOT)} and {ts.with_suffix('.qm').name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
