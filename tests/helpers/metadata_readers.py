"""exiftool and exiv2 (what digiKam and darktable read with) as the tests' outside readers and writers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from joytag_desktop.library import Library

EXIFTOOL = shutil.which("exiftool")
EXIV2 = shutil.which("exiv2")


def exiftool_read(path: Path, *tags: str) -> dict:
    result = subprocess.run([EXIFTOOL, "-j", "-struct", *tags, str(path)], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)[0]


def listed(data: dict, key: str) -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def exiv2_lines(path: Path) -> str:
    """What exiv2 (digiKam's and darktable's reader) prints for XMP and IPTC."""
    out = subprocess.run([EXIV2, "-q", "-px", str(path)], capture_output=True, text=True).stdout
    if path.suffix.lower() != ".xmp":
        out += subprocess.run([EXIV2, "-q", "-pi", str(path)], capture_output=True, text=True).stdout
    return out


def exiv2_values(path: Path, key: str) -> list[str]:
    """Values of one XMP bag/seq as exiv2 prints them (comma-joined, one line)."""
    for line in exiv2_lines(path).splitlines():
        parts = line.split(None, 3)
        if parts and parts[0] == key:
            return [v.strip() for v in parts[3].split(", ")] if len(parts) > 3 else []
    return []


def run_exiftool(*args: str) -> None:
    subprocess.run([EXIFTOOL, "-overwrite_original", *args], check=True, capture_output=True)


def touch_later(path: Path, seconds: float = 10) -> None:
    info = os.stat(path)
    os.utime(path, (info.st_atime, info.st_mtime + seconds))


def tags_of(lib: Library, path: Path) -> dict:
    return {v.name: v for v in lib.image_tags(lib.image_by_path(path).id)}
