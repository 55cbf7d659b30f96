"""Packaged resources (icons), installed as ``joytag_desktop.resources`` so they work from a wheel.

The source of truth is the repository's top-level ``resources/`` folder; pyproject.toml maps it
into the package.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).parent
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def icon_path(size: int | None = None) -> Path | None:
    """The app icon: a PNG of ``size`` pixels if there is one, else the SVG."""
    if size is not None:
        candidate = RESOURCES / "icons" / f"joytag-desktop-{size}.png"
        if candidate.exists():
            return candidate
    svg = RESOURCES / "icons" / "joytag-desktop.svg"
    return svg if svg.exists() else None


def translations_dir() -> Path:
    """Compiled user-interface translations (``joytag_<locale>.qm``); their ``.ts`` sources sit beside them."""
    return RESOURCES / "translations"


def calibration_photos() -> list[Path]:
    """A few real photos that int8 quantisation measures activation ranges on (see calibration/README.md)."""
    return sorted((RESOURCES / "calibration").glob("*.jpg"))
