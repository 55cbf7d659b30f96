"""Every stored score read in one pass over ``image_tags``, in its key order (image, model, tag).

Why one pass: since migration 0011 the table is clustered by image, so "the rows of tag T" is a
scan of the whole table; the search index therefore reads everything once, grouped per image and
model by the database (two comma-separated lists per group, parsed in C), and regroups it per
(model, tag) in memory. Each row comes as its score's 16-bit code (``library.graded``); a model's
postings at a threshold are the rows whose code is above the threshold's, plus those whose code
equals it and whose stored score, read back exactly, is at least the threshold (none or a handful).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from pyroaring import BitMap

from joytag_desktop.library import statements as sql
from joytag_desktop.library.codes import USER
from joytag_desktop.library.errors import ScoresIncomplete
from joytag_desktop.library.graded import ScoreCodes, code, exact, sorted_bitmap
from joytag_desktop.library.statements import DriverConnection, json_ids
from joytag_desktop.library.terms import Range

_FETCH = 50_000  # (image, model) groups per fetch: a few million rows, ~100 MB while it is regrouped

Rows = dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]  # (model, tag) -> (image ids, codes)


def _numbers(texts: Iterable[str]) -> np.ndarray:
    joined = ",".join(texts)
    return np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.zeros(0, np.int64)


def read_rows(connection: DriverConnection, tag_ids: Sequence[int] | None = None) -> Rows:
    """Per (model, tag), the image ids (ascending) and score codes of its stored rows, the user's
    rows (model 0) too; only those of ``tag_ids`` where given.

    Each fetch is regrouped on its own (sorted by key, cut into one slice per key) and its slices
    joined per key at the end: what is held is about what is kept (image id and code: 6 bytes a
    row, twice at the end), not every row's key and sort order at once."""
    if tag_ids is None:
        cursor = connection.execute(sql.SCORE_CODES_BY_IMAGE)
    else:
        cursor = connection.execute(sql.SCORE_CODES_BY_IMAGE_OF_TAGS, (json_ids(tag_ids),))
    pieces: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    while rows := cursor.fetchmany(_FETCH):
        counts = np.fromiter((r[2] for r in rows), np.int64, len(rows))
        images = np.repeat(np.fromiter((r[0] for r in rows), np.int32, len(rows)), counts)
        keys = np.repeat(np.fromiter((r[1] for r in rows), np.int64, len(rows)) << 32, counts)
        keys |= _numbers(r[3] for r in rows)
        codes = _numbers(r[4] for r in rows).astype(np.uint16)
        order = np.argsort(keys, kind="stable")  # stable: each group's images stay ascending
        keys, images, codes = keys[order], images[order], codes[order]
        del order
        starts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1, [len(keys)]]).tolist()
        for start, end in itertools.pairwise(starts):
            pieces.setdefault(int(keys[start]), []).append((images[start:end], codes[start:end]))
        del keys
    found: Rows = {}
    for key in list(pieces):
        parts = pieces.pop(key)
        ids = parts[0][0] if len(parts) == 1 else np.concatenate([p[0] for p in parts])
        codes = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
        found[key >> 32, key & 0xFFFFFFFF] = (ids, codes)
    return found


Reader = Callable[[list[int], BitMap], list[tuple[int, int, int, float]]]  # (tags, images) -> rows


def postings(rows: Rows, models: Sequence[int], threshold: Callable[[int, int], float], read: Reader) -> dict:
    """Per (model, tag) of ``models``, the images whose score is at least the threshold, exactly:
    sure from the codes, the rows on the threshold's own code settled by their stored scores."""
    wanted = set(models) - {USER}
    found: dict[tuple[int, int], BitMap] = {}
    unsure: dict[tuple[int, int], BitMap] = {}
    for (model_id, tag_id), (ids, codes) in rows.items():
        if model_id not in wanted:
            continue
        bar = code(threshold(model_id, tag_id))
        sure = ids[codes > bar]
        if len(sure):
            found[model_id, tag_id] = sorted_bitmap(sure)
        edge = ids[codes == bar]
        if len(edge):
            unsure[model_id, tag_id] = sorted_bitmap(edge)
    if unsure:
        images = BitMap.union(*unsure.values())
        for image_id, tag_id, model_id, score in read(sorted({t for _, t in unsure}), images):
            if image_id in unsure.get((model_id, tag_id), ()) and score >= threshold(model_id, tag_id):
                found.setdefault((model_id, tag_id), BitMap()).add(image_id)
    return found


def reader(connection: DriverConnection) -> Reader:
    """(image, tag, model, score) of the stored rows of some tags on some images."""
    return lambda tags, images: connection.execute(
        sql.SCORES_OF_TAGS_LISTED, (json_ids(tags), json_ids(images))
    ).fetchall()


def reread(
    scores: dict[tuple[int, int], BitMap],
    codes: ScoreCodes,
    connection: DriverConnection,
    tag_ids: Iterable[int],
    models: Sequence[int],
    threshold: Callable[[int, int], float],
) -> None:
    """Every model's postings (``scores``) of a few tags at their thresholds now: from the score codes
    (the rows of one tag are spread over the whole table), else in one pass over it."""
    tags = set(tag_ids)
    for key in [k for k in scores if k[1] in tags]:
        del scores[key]
    read = reader(connection)
    try:
        for tag_id in tags:
            for model_id in set(models) - {USER}:
                if found := exact(codes, [tag_id], [model_id], Range(threshold(model_id, tag_id), None), read)[tag_id]:
                    scores[model_id, tag_id] = found
    except ScoresIncomplete:
        scores.update(postings(read_rows(connection, sorted(tags)), models, threshold, read))
