"""What lupdate (as packaging/update_translations.py runs it) finds in a source file: a string it
does not find is never translated, whatever the translators do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from defusedxml import ElementTree


def extracted(source: str | Path, tmp_path: Path) -> dict[tuple[str, str], bool]:
    """(context, source text) -> whether lupdate took it as a plural, for every message it finds."""
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    found = str(lupdate) if lupdate.exists() else shutil.which("pyside6-lupdate")
    if found is None:
        pytest.skip("pyside6-lupdate is not installed")
    target = tmp_path / "extracted.ts"
    subprocess.run([found, str(source), "-ts", str(target)], check=True, capture_output=True, timeout=120)
    messages: dict[tuple[str, str], bool] = {}
    root = ElementTree.parse(target).getroot()
    assert root is not None, f"lupdate wrote no {target}"
    for context in root.iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            messages[(name, message.findtext("source") or "")] = message.get("numerus") == "yes"
    return messages
