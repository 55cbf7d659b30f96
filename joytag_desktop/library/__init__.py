"""The library database: folders indexed into SQLite, tag scores, thresholds and search."""

from joytag_desktop.library.library import ImageResult, Library, LibraryError, SearchResult, TagView
from joytag_desktop.library.query import QueryError, parse, quote_tag
from joytag_desktop.library.scanner import ScanReport

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
