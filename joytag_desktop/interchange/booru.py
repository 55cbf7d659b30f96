"""Aliases and implications in the booru formats people already have: Danbooru's and e621's
``tag_aliases`` and ``tag_implications`` CSV exports.

e621's db_export (``tag_aliases-YYYY-MM-DD.csv``) has the columns ``id,antecedent_name,
consequent_name,created_at,status``; Danbooru's API and dumps carry the same two names and
``status`` among more columns. Columns are found by their header, so either loads; only rows whose
status is ``active`` count (pending, deleted, retired and rejected requests are no vocabulary). A
file without a ``status`` column (our own export, or a hand-made list) counts every row.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from joytag_desktop.errors import JoyTagError
from joytag_desktop.files import open_regular
from joytag_desktop.library.library import Library
from joytag_desktop.library.vocabulary import BulkReport

ANTECEDENT, CONSEQUENT, STATUS = "antecedent_name", "consequent_name", "status"
ACTIVE = "active"
MAX_FIELD = 10_000  # characters: a tag name is at most 1,000; a longer field is not a tag list


class BooruFileError(JoyTagError):
    """A file that is not a booru alias or implication export."""


def read_pairs(path: Path) -> Iterator[tuple[str, str]]:
    """(antecedent, consequent) of the file's active rows."""
    try:  # a FIFO would block for ever and /dev/zero fill memory: regular files only
        with open_regular(path) as raw:
            yield from _pairs(path, io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
    except OSError as exc:
        raise BooruFileError(f"cannot read {path}: {exc.strerror or exc}") from None


def _pairs(path: Path, handle: io.TextIOWrapper) -> Iterator[tuple[str, str]]:
    previous = csv.field_size_limit(MAX_FIELD)  # the process's limit: put back for later readers
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip().lower() for name in next(reader, [])]
            if ANTECEDENT not in header or CONSEQUENT not in header:
                raise BooruFileError(
                    f"{path.name} has no {ANTECEDENT} and {CONSEQUENT} columns: "
                    "expected a Danbooru or e621 tag_aliases / tag_implications CSV export"
                )
            a, c = header.index(ANTECEDENT), header.index(CONSEQUENT)
            s = header.index(STATUS) if STATUS in header else None
            for row in reader:
                if len(row) <= max(a, c) or (s is not None and (len(row) <= s or row[s].strip() != ACTIVE)):
                    continue
                yield row[a], row[c]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BooruFileError(f"{path.name} is not a readable CSV file: {exc}") from None
        finally:
            csv.field_size_limit(previous)


def import_aliases(
    library: Library,
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> BulkReport:
    return library.vocabulary.add_aliases(list(read_pairs(path)), progress, cancel)


def import_implications(
    library: Library,
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> BulkReport:
    return library.vocabulary.add_implications(list(read_pairs(path)), progress, cancel)


def write_pairs(path: Path, pairs: list[tuple[str, str]]) -> int:
    """Write pairs in e621's db_export layout (``created_at`` left empty), so boorus' tools and
    this app read them back; returns how many were written."""
    try:
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", ANTECEDENT, CONSEQUENT, "created_at", STATUS])
            for number, (left, right) in enumerate(pairs, start=1):
                writer.writerow([number, left, right, "", ACTIVE])
    except OSError as exc:
        raise BooruFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(pairs)
