"""A search index saved beside the database (``library.sqlite3-search``): its file format.

Apart from the posting lists themselves (``library.postings``) so that the file's layout is read
and written in one place. The header (JSON) names each entry and carries the stamp, the rules,
the database's identity and a checksum; bitmaps are read in place from the file's bytes; the
score codes come last and are read only when first needed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pyroaring import BitMap

from joytag_desktop.categories import RATINGS
from joytag_desktop.library.graded import ScoreCodes
from joytag_desktop.library.thresholds import ThresholdRules

log = logging.getLogger(__name__)

FORMAT = 3
MAGIC = b"JTDPOSTS"
STALE_TEMPORARY_S = 3600  # a save's temporary file this old belongs to a process that was killed


def _stored_bitmap(blob: memoryview) -> BitMap:
    """A bitmap of the saved index, read from the file's bytes in place (no copy)."""
    # pyroaring's deserialize takes any byte buffer (a typed memoryview in its Cython); its stub says bytes.
    return BitMap.deserialize(blob)  # pyright: ignore[reportArgumentType]


def save(index: Any, path: Path, identity: dict) -> None:
    """Write ``index`` (a ``postings.PostingIndex``: not imported here, it imports this module)
    atomically (a temporary file renamed over the old one)."""
    blobs: list[bytes] = []
    entries: list[list] = []

    def put(kind: str, key: object, data: bytes) -> None:
        entries.append([kind, key, len(data)])
        blobs.append(data)

    for (model_id, tag_id), members in index.scores.items():
        put("scores", [model_id, tag_id], members.serialize())
    for name, table in (("added", index.added), ("removed", index.removed), ("tagged_by", index.tagged_by)):
        for key, members in table.items():
            put(name, key, members.serialize())
    for status, members in index.status.items():
        put("status", status, members.serialize())
    for level, members in enumerate(index.ratings):
        put("rating", level, members.serialize())
    for month, members in index.months.items():
        put("month", month, members.serialize())
    for name in ("date_key", "date_pos", "by_date", "path_rank", "by_path"):
        put("array", [name, getattr(index, name).dtype.str], getattr(index, name).tobytes())
    put("delta", "path_delta", index.path_delta.serialize())
    put("delta", "date_delta", index.date_delta.serialize())
    payload = b"".join(blobs)
    table, data = index.graded.pack()  # after the payload: read only when first needed
    save = uuid.uuid4().hex
    header = json.dumps(
        {
            "format": FORMAT,
            "stamp": index.stamp,
            "rules": index.rules.saved(),
            "identity": identity,
            "categories": sorted(index.categories.items()),
            "entries": entries,
            "checksum": hashlib.blake2b(payload, digest_size=16).hexdigest(),
            "payload": len(payload),
            "save": save,
            "graded": {
                "table": len(table),
                "data": len(data),
                "checksum": hashlib.blake2b(table + data, digest_size=16).hexdigest(),
                "complete": index.graded.complete,
            },
        }
    ).encode()
    for stale in path.parent.glob(f"{path.name}.*.tmp"):  # left by a process killed while saving
        try:
            if time.time() - stale.stat().st_mtime > STALE_TEMPORARY_S:
                stale.unlink()
        except OSError as exc:  # gone meanwhile, or not ours to remove: the save goes on
            log.debug("left %s: %s", stale, exc)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(MAGIC + struct.pack("<Q", len(header)) + header + payload)
            handle.write(table)
            handle.write(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    index.changes_since_save = 0


def load(cls: Any, path: Path, identity_at: Callable[[int], dict]) -> Any:
    """The saved index as a ``cls`` (``postings.PostingIndex``), with the rules it was made for, or
    None when it is missing, damaged or made for another database."""
    try:
        header, start = _saved_header(path)
        if header is None:
            return None
        with open(path, "rb") as handle:
            handle.seek(start)
            payload = memoryview(handle.read(int(header["payload"])))
    except OSError:
        return None
    except (ValueError, KeyError, TypeError, struct.error) as exc:
        log.warning("search index %s is damaged (%s); rebuilding it", path, exc)
        return None
    try:
        if (
            header.get("format") != FORMAT
            or header.get("identity") != identity_at(int(header.get("stamp", -1)))
            or hashlib.blake2b(payload, digest_size=16).hexdigest() != header.get("checksum")
        ):
            return None
        rules = ThresholdRules.from_key(header["rules"])
        index = cls(int(header["stamp"]), rules, {int(k): v for k, v in header["categories"]})
        offset = 0
        for kind, key, size in header["entries"]:
            blob = payload[offset : offset + size]
            offset += size
            if kind == "scores":
                index.scores[key[0], key[1]] = _stored_bitmap(blob)
            elif kind in ("added", "removed", "tagged_by"):
                getattr(index, kind)[int(key)] = _stored_bitmap(blob)
            elif kind == "status":
                index.status[key] = _stored_bitmap(blob)
            elif kind == "rating":
                index.ratings.append(_stored_bitmap(blob))
            elif kind == "month":
                index.months[int(key)] = _stored_bitmap(blob)
            elif kind == "array":
                setattr(index, key[0], np.frombuffer(blob, dtype=np.dtype(key[1])).copy())
            elif kind == "delta":
                setattr(index, key, _stored_bitmap(blob))
        graded = header["graded"]
        index.graded = ScoreCodes.saved(
            lambda: _saved_scores(path, start + len(payload), graded, header["save"]),
            graded["checksum"],
            bool(graded["complete"]),
        )
        if offset != len(payload) or len(index.ratings) != len(RATINGS):
            return None
        return index
    except (ValueError, KeyError, TypeError, IndexError, struct.error, json.JSONDecodeError) as exc:
        log.warning("search index %s is damaged (%s); rebuilding it", path, exc)
        return None


def _saved_header(path: Path) -> tuple[dict | None, int]:
    """The header of a saved index (None: not one) and where its payload starts."""
    with open(path, "rb") as handle:
        head = handle.read(len(MAGIC) + 8)
        if head[: len(MAGIC)] != MAGIC or len(head) < len(MAGIC) + 8:
            return None, 0
        (length,) = struct.unpack_from("<Q", head, len(MAGIC))
        return json.loads(handle.read(length)), len(MAGIC) + 8 + length


def _saved_scores(path: Path, offset: int, graded: dict, save: str) -> tuple[bytes, bytes]:
    """The score codes' table and data of a saved index, read when first needed; ValueError when the
    file was saved again since it was loaded (another process)."""
    header, _ = _saved_header(path)
    if header is None or header.get("save") != save:
        raise ValueError("the saved search index was replaced since it was loaded")
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(int(graded["table"])), handle.read(int(graded["data"]))
