"""Packaged resources (icons, stylesheet), found relative to this package so they work from a wheel."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).parent


def icon_path(size: int | None = None) -> Path | None:
    """The app icon: a PNG of ``size`` pixels if there is one, else the SVG."""
    if size is not None:
        candidate = RESOURCES / "icons" / f"joytag-desktop-{size}.png"
        if candidate.exists():
            return candidate
    svg = RESOURCES / "icons" / "joytag-desktop.svg"
    return svg if svg.exists() else None
