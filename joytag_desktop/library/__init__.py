"""The library database: folders indexed into SQLite, tag scores, thresholds and search.

The names below are imported on first use, so that the light modules (the query language,
thresholds) load without SQLAlchemy: the command line parses its arguments before it opens a
library.
"""

from __future__ import annotations

from joytag_desktop.lazy import lazy_exports

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

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
