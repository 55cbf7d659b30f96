"""Orientation changed by another program in a sidecar, picked up by a scan or the watcher.

A RAW (and a GIF or BMP) keeps its flag in its XMP sidecar: digiKam turns such a file by writing
``tiff:Orientation`` there (``Xmp.tiff.Orientation``), and leaves the file as it was. Its bytes
and hash are unchanged, so the scan reads only the sidecar's keywords again; this reads its flag
too. darktable writes no flag to its sidecar: its turns are steps of its own history (the
``flip`` operation), which only darktable applies, so they change nothing here. A file whose own
bytes changed (a JPEG turned in its EXIF) is read again whole by the scan, flag included.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from joytag_desktop.library.library import Library
from joytag_desktop.library.scanner import KeywordSource
from joytag_desktop.media import thumbnails
from joytag_desktop.media.exif import read_exif
from joytag_desktop.media.orientation import sidecar_orientation
from joytag_desktop.metadata.orientation import in_sidecar


def follow_sidecars(library: Library, sources: Iterable[KeywordSource]) -> list[int]:
    """Store the flag of each image whose sidecar changed, appeared or went, where the flag lives
    there; returns the images now shown otherwise (tagged again, their cached thumbnails dropped)."""
    turned = []
    for source in sources:
        if source.file_changed or (source.sidecar is None and not source.sidecar_gone):
            continue  # the file was read again whole, or only its embedded keywords changed
        path = Path(source.path)
        if not in_sidecar(path):
            continue
        image = library.image_by_path(path)
        if image is None:
            continue
        value = sidecar_orientation(path)
        if value is None:  # no flag in the sidecar (or none left): the file's own, as a scan reads it
            value = read_exif(path).orientation
        if (value or 1) == (image.orientation or 1):
            continue
        library.set_orientation(image.id, value or 1)
        if image.content_hash:
            thumbnails.forget(image.content_hash)
        turned.append(image.id)
    return turned
