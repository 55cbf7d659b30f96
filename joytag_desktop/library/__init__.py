"""The library database: folders indexed into SQLite, tag scores, thresholds and search.

The names below are imported on first use, so that the light modules (the query language,
thresholds) load without SQLAlchemy: the command line parses its arguments before it opens a
library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from joytag_desktop.lazy import lazy_exports

if TYPE_CHECKING:  # what the type checker sees; at run time the names load on first use
    from joytag_desktop.library.errors import LibraryError
    from joytag_desktop.library.library import Library
    from joytag_desktop.library.query import parse, quote_tag
    from joytag_desktop.library.records import ImageResult, SearchResult, TagView
    from joytag_desktop.library.scanner import ScanReport
    from joytag_desktop.library.terms import QueryError

_EXPORTS = {
    "ImageResult": "records",
    "Library": "library",
    "LibraryError": "errors",
    "SearchResult": "records",
    "TagView": "records",
    "QueryError": "terms",
    "parse": "query",
    "quote_tag": "query",
    "ScanReport": "scanner",
}

__all__ = [
    "ImageResult",
    "Library",
    "LibraryError",
    "QueryError",
    "ScanReport",
    "SearchResult",
    "TagView",
    "parse",
    "quote_tag",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
