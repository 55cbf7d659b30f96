"""The library database: folders indexed into SQLite, tag scores, thresholds and search.

The names below are imported on first use, so that the light modules (the query language,
thresholds) load without SQLAlchemy: the command line parses its arguments before it opens a
library.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ImageResult": "library",
    "Library": "library",
    "LibraryError": "library",
    "SearchResult": "library",
    "TagView": "library",
    "QueryError": "query",
    "parse": "query",
    "quote_tag": "query",
    "ScanReport": "scanner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
