"""The library's own error: what the user asked for cannot be done."""

from __future__ import annotations

from joytag_desktop.errors import JoyTagError


class LibraryError(JoyTagError):
    """A library operation the user asked for cannot be done (unknown root, unknown tag…)."""


class ScoresIncomplete(Exception):
    """The search index's score codes lack rows (``library.graded``): SQL answers that search."""
