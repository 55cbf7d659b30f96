"""Duplicates: the same file (content hash), the same picture re-encoded, resized, mirrored or
slightly cropped (perceptual hashes), and visually similar images (a model's embeddings).

Pairs are found without comparing every image with every other. Near copies: every pair within
the distance, exactly, by multi-index hashing over the 64-bit pHashes (``library.hamming``: each
image's own and mirrored hash), each candidate confirmed on pHash and dHash. Look-alikes: each
image's nearest neighbours in the model's vector index, confirmed by cosine (``library.look_alikes``).
Groups are the connected pairs. Flat colours and images under 32 px join only as exact copies.
Nothing here deletes: ``move_to_trash`` checks each copy again (and the copy kept) right before
handing it and its own sidecars to the system trash, then forgets it in the library.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from sqlalchemy import delete, func, or_, select

from joytag_desktop.files import hash_file
from joytag_desktop.library import dialect
from joytag_desktop.library import statements as sql
from joytag_desktop.library.dialect import json_ids
from joytag_desktop.library.look_alikes import DEFAULT_SIMILARITY, Progress, similar_pairs
from joytag_desktop.library.schema import Image, ImageHash, Status
from joytag_desktop.media.imaging import ImageLoadError, open_image

if TYPE_CHECKING:
    from joytag_desktop.library.database import Database
    from joytag_desktop.library.records import SearchResult
    from joytag_desktop.library.similar import Similarity

log = logging.getLogger(__name__)


class DuplicateSource(Protocol):
    """What finding and trashing duplicates asks of a library (the ``Library`` facade is one): a
    protocol, so this room never imports the facade that wires it."""

    database: Database
    similarity: Similarity

    def search(self, query: str) -> SearchResult: ...

    def images(self, ids: Sequence[int]) -> list[Image]: ...

    def forget_images(self, image_ids: Sequence[int]) -> int: ...


KINDS = ("exact", "near", "similar")
DEFAULT_DISTANCE = 12  # of 64 bits: re-encodes and resizes differ by 0-2, a 90 % crop by up to ~12
HASH_DRAFT = 128  # JPEGs decoded at 1/8 scale where that keeps 128 px: the hash reads 32x32
INFORMATIVE_BITS = (16, 48)  # pHash bits set by a picture with content (flat colours set few)
SMALLEST_SIDE = 32  # images smaller than the hash's 32x32 are left to exact matching
STORE_EVERY = 2000  # hashes computed between two writes
KEEP_RULES = ("best", "largest", "oldest", "newest", "shortest-path")


@dataclass
class DuplicateImage:
    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    format: str | None
    date: datetime | None  # taken, else modified
    content_hash: str | None = None
    mtime: float | None = None  # the file's modification time when the duplicates were found


@dataclass(frozen=True)
class Link:
    """A confirmed pair: what a user weighs before letting one of them go."""

    kind: str  # exact, near or similar
    value: float | None  # near: differing hash bits (of 64); similar: cosine; exact: None


@dataclass
class DuplicateGroup:
    kind: str  # exact: the same bytes; near: the same picture (perceptual hash); similar: by embedding
    images: list[DuplicateImage]
    keep: int = 0  # the id suggested to keep
    similarity: float | None = None  # the weakest confirmed link (similar groups)
    links: dict[tuple[int, int], Link] = field(default_factory=dict)  # (smaller id, larger id): confirmed pairs

    @property
    def others(self) -> list[DuplicateImage]:
        return [image for image in self.images if image.id != self.keep]

    def copy_kind(self, image_id: int, keep: int | None = None) -> str:
        """What a copy is to the kept file (``keep``, else the suggested one): exact when it has the same
        bytes (also inside a near or similar group), else the group's kind."""
        hashes = {image.id: image.content_hash for image in self.images}
        kept = hashes.get(self.keep if keep is None else keep)
        return "exact" if kept and hashes.get(image_id) == kept else self.kind

    def link(self, a: int, b: int) -> Link | None:
        """The confirmed link between two members, if they were paired directly."""
        return self.links.get((min(a, b), max(a, b)))

    def closest(self, image_id: int, to: int) -> tuple[int, Link] | None:
        """The link that speaks for ``image_id``: to ``to`` (the kept one) when paired directly, else its
        strongest link to any member (groups are chains: a copy may be near the kept one only via another)."""
        direct = self.link(image_id, to)
        if direct is not None:
            return to, direct
        mine = [(b if a == image_id else a, v) for (a, b), v in self.links.items() if image_id in (a, b)]
        if not mine:
            return None
        return min(mine, key=lambda item: _strength(item[1]))


def _strength(link: Link) -> tuple[int, float]:
    """Sort key, strongest first: exact, then fewest bits, then highest cosine."""
    if link.kind == "exact":
        return (0, 0.0)
    if link.kind == "near":
        return (1, link.value or 0.0)
    return (2, -(link.value or 0.0))


@dataclass
class TrashReport:
    moved: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): the trash refused
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): changed since the scan, left


# --- perceptual hashes -----------------------------------------------------------------------


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def image_hashes(path: Path) -> tuple[int, int, int, int]:
    """(pHash, dHash, mirrored pHash, mirrored dHash) as signed 64-bit integers."""
    import imagehash
    from PIL import ImageOps

    picture = open_image(path, draft_size=HASH_DRAFT)
    mirrored = ImageOps.mirror(picture)

    def value(h: imagehash.ImageHash) -> int:
        return _signed(int(str(h), 16))

    return (
        value(imagehash.phash(picture)),
        value(imagehash.dhash(picture)),
        value(imagehash.phash(mirrored)),
        value(imagehash.dhash(mirrored)),
    )


def ensure_hashes(
    library: DuplicateSource,
    ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    workers: int | None = None,
) -> np.ndarray:
    """The perceptual hashes of the images (all present ones by default), computed where missing or
    made from other content; rows (id, phash, dhash, phash_mirror, dhash_mirror) as int64."""
    with library.database.engine.connect() as connection:
        statement = select(Image.id, Image.path, Image.content_hash).where(
            Image.status != Status.MISSING,
            Image.content_hash.is_not(None),
            # icons and test strips carry too little for a perceptual hash (unknown sizes are tried)
            or_(Image.width.is_(None), Image.height.is_(None), func.min(Image.width, Image.height) >= SMALLEST_SIDE),
        )
        rows = connection.execute(statement).all()
        known = {
            row.image_id: row
            for row in connection.execute(
                select(
                    ImageHash.image_id,
                    ImageHash.content_hash,
                    ImageHash.phash,
                    ImageHash.dhash,
                    ImageHash.phash_mirror,
                    ImageHash.dhash_mirror,
                )
            )
        }
    wanted = set(ids) if ids is not None else None
    rows = [r for r in rows if wanted is None or r.id in wanted]
    todo = [r for r in rows if r.id not in known or known[r.id].content_hash != r.content_hash]
    computed: dict[int, tuple[str, tuple[int, int, int, int]]] = {}
    if todo:
        lock = threading.Lock()
        done = 0

        def one(row) -> None:
            nonlocal done
            if cancel is not None and cancel.is_set():
                return
            try:
                hashes = image_hashes(Path(row.path))
            except (ImageLoadError, OSError, ValueError) as exc:
                log.info("no perceptual hash for %s: %s", row.path, exc)
                hashes = None
            with lock:
                done += 1
                if hashes is not None:
                    computed[row.id] = (row.content_hash, hashes)
                if progress is not None:
                    progress("hashing", done, len(todo))

        with ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1)) as pool:
            # Stored a chunk at a time: a run cancelled or killed keeps what it computed.
            for start in range(0, len(todo), STORE_EVERY):
                if cancel is not None and cancel.is_set():
                    break
                chunk = todo[start : start + STORE_EVERY]
                list(pool.map(one, chunk))
                _store_hashes(library, {r.id: computed[r.id] for r in chunk if r.id in computed})
    result = []
    for row in rows:
        if row.id in computed:
            result.append((row.id, *computed[row.id][1]))
        elif row.id in known and known[row.id].content_hash == row.content_hash:
            k = known[row.id]
            result.append((row.id, k.phash, k.dhash, k.phash_mirror, k.dhash_mirror))
    return np.array(result, dtype=np.int64).reshape(-1, 5)


def _store_hashes(library: DuplicateSource, computed: dict[int, tuple[str, tuple[int, int, int, int]]]) -> None:
    items = list(computed.items())
    for start in range(0, len(items), 5000):
        chunk = items[start : start + 5000]
        with library.database.Session.begin() as session:
            session.execute(delete(ImageHash).where(ImageHash.image_id.in_([i for i, _ in chunk])))
            present = set(session.scalars(select(Image.id).where(Image.id.in_([i for i, _ in chunk]))))
            session.add_all(
                ImageHash(image_id=i, content_hash=h, phash=p, dhash=d, phash_mirror=pm, dhash_mirror=dm)
                for i, (h, (p, d, pm, dm)) in chunk
                if i in present
            )


# --- pairs (look-alikes by embedding: ``library.look_alikes``) ---------------------------------


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(a.view(np.uint64) ^ b.view(np.uint64))


def informative(hashes: np.ndarray) -> np.ndarray:
    """Which rows of ``ensure_hashes`` are pictures with content.

    A pHash sets the bits of the coefficients above their median: about 32 of 64 for any picture
    with content. Far fewer or more means a flat colour (every blank image would match every other,
    by hash and by embedding alike): such images can only be exact duplicates."""
    if not len(hashes):
        return np.zeros(0, dtype=bool)
    bits = _hamming(hashes[:, 1], np.zeros(len(hashes), np.int64))
    return (bits >= INFORMATIVE_BITS[0]) & (bits <= INFORMATIVE_BITS[1])


def near_pairs(hashes: np.ndarray, distance: int = DEFAULT_DISTANCE) -> list[tuple[int, int, int]]:
    """(id, id, bits) for every pair of images whose pHash and dHash are both within ``distance``
    bits, directly or with one of them mirrored; bits: the larger of the two, in the closer
    orientation. ``hashes``: rows from ``ensure_hashes``; flat colours are left out. Exact: every
    such pair and no other (``hamming.pairs_within``: multi-index hashing over the pHashes, each
    candidate verified on both hashes)."""
    from joytag_desktop.library.hamming import pairs_within

    hashes = hashes[informative(hashes)]
    if len(hashes) < 2:
        return []
    ids, phash, dhash, phash_m, dhash_m = (np.ascontiguousarray(hashes[:, k]) for k in range(5))
    direct = pairs_within(phash, distance, accept=lambda a, b: _hamming(dhash[a], dhash[b]) <= distance)
    mirrored = pairs_within(
        phash, distance, phash_m, accept=lambda a, b: (a != b) & (_hamming(dhash_m[a], dhash[b]) <= distance)
    )
    first = np.concatenate([np.minimum(*direct), np.minimum(*mirrored)])
    second = np.concatenate([np.maximum(*direct), np.maximum(*mirrored)])
    unique = np.unique(first * len(ids) + second)
    a, b = unique // len(ids), unique % len(ids)

    def apart(p: np.ndarray, d: np.ndarray, q: np.ndarray, e: np.ndarray) -> np.ndarray:
        return np.maximum(_hamming(p, q), _hamming(d, e))

    bits = np.minimum(
        apart(phash[a], dhash[a], phash[b], dhash[b]),
        np.minimum(
            apart(phash_m[a], dhash_m[a], phash[b], dhash[b]), apart(phash_m[b], dhash_m[b], phash[a], dhash[a])
        ),
    )
    left, right = ids[a], ids[b]
    pairs = zip(np.minimum(left, right).tolist(), np.maximum(left, right).tolist(), bits.tolist(), strict=True)
    return sorted((x, y, int(d)) for x, y, d in pairs)


# --- groups ------------------------------------------------------------------------------------


class _Components:
    """Union-find over image ids."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, item: int) -> int:
        parent = self.parent.setdefault(item, item)
        while parent != self.parent[parent]:
            self.parent[parent] = self.parent[self.parent[parent]]
            parent = self.parent[parent]
        self.parent[item] = parent
        return parent

    def union(self, a: int, b: int) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[max(root_a, root_b)] = min(root_a, root_b)

    def groups(self) -> list[list[int]]:
        found: dict[int, list[int]] = {}
        for item in list(self.parent):
            found.setdefault(self.find(item), []).append(item)
        return [sorted(members) for members in found.values() if len(members) > 1]


def find_duplicates(
    library: DuplicateSource,
    kinds: Sequence[str] = ("exact", "near"),
    distance: int = DEFAULT_DISTANCE,
    similarity: float = DEFAULT_SIMILARITY,
    model: str | None = None,
    query: str | None = None,
    keep: str = "best",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[DuplicateGroup]:
    """Groups of duplicates among the present images (those ``query`` matches), biggest first.
    A group's kind is its weakest link: exact (one content), near (perceptual hash) or similar."""
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind {unknown[0]!r}: use {', '.join(KINDS)}")
    if keep not in KEEP_RULES:
        raise ValueError(f"unknown keep rule {keep!r}: use {', '.join(KEEP_RULES)}")
    scope: list[int] | None = library.search(query).ids if query and query.strip() else None
    components = _Components()
    links: dict[tuple[int, int], Link] = {}
    if "exact" in kinds:
        for a, b in _exact_pairs(library, scope):
            components.union(a, b)
            links[a, b] = Link("exact", None)
    hashes: np.ndarray | None = None
    if "near" in kinds and not (cancel is not None and cancel.is_set()):
        hashes = ensure_hashes(library, scope, progress, cancel)
        for a, b, bits in near_pairs(hashes, distance):
            components.union(a, b)
            links.setdefault((a, b), Link("near", float(bits)))
    if "similar" in kinds and not (cancel is not None and cancel.is_set()):
        chosen = library.similarity.default_model(model)
        if hashes is None:
            hashes = ensure_hashes(library, scope, progress, cancel)
        # The same guard as for near copies: a flat colour, a tiny icon or a file that cannot be
        # read gets no hash with content, and embeddings of blank pictures are all alike.
        pictures = set(hashes[informative(hashes), 0].tolist())
        for a, b, cosine in similar_pairs(library, chosen.id, similarity, scope, progress, cancel):
            if a in pictures and b in pictures:
                components.union(a, b)
                links.setdefault((a, b), Link("similar", cosine))
    members = components.groups()
    images = _images(library, [i for group in members for i in group])
    order = {"exact": 0, "near": 1, "similar": 2}
    groups: list[DuplicateGroup] = []
    for group in members:
        present = [images[i] for i in group if i in images]
        if len(present) < 2:
            continue
        inside = {image.id for image in present}
        used = {pair: v for pair, v in links.items() if pair[0] in inside and pair[1] in inside}
        if not used:
            continue
        kind = max((v.kind for v in used.values()), key=order.__getitem__)
        scores = [v.value for v in used.values() if v.kind == "similar" and v.value is not None]
        found = DuplicateGroup(kind, present, similarity=min(scores) if scores else None, links=used)
        found.keep = choose_keeper(present, keep).id
        groups.append(found)
    groups.sort(key=lambda g: (order[g.kind], -len(g.images), g.images[0].path))
    return groups


def _exact_pairs(library: DuplicateSource, scope: list[int] | None) -> list[tuple[int, int]]:
    """Consecutive pairs within each set of present images with the same content hash."""
    with dialect.raw_connection(library.database.engine) as connection:
        if scope is None:
            rows = connection.execute(sql.SAME_CONTENT).fetchall()
        else:
            rows = connection.execute(sql.SAME_CONTENT_LISTED, (json_ids(scope),)).fetchall()
    pairs = []
    for _, listed in rows:
        ids = sorted(int(i) for i in listed.split(","))
        pairs += [(ids[0], other) for other in ids[1:]]
    return pairs


def _images(library: DuplicateSource, ids: list[int]) -> dict[int, DuplicateImage]:
    found: dict[int, DuplicateImage] = {}
    for image in library.images(ids):
        if image.status == Status.MISSING:
            continue
        width, height = image.displayed_size
        date = image.taken_at or datetime.fromtimestamp(image.mtime)
        found[image.id] = DuplicateImage(
            image.id, image.path, image.size, width, height, image.format, date, image.content_hash, image.mtime
        )
    return found


def choose_keeper(images: Sequence[DuplicateImage], rule: str = "best") -> DuplicateImage:
    """The copy to keep: best (most pixels, then the oldest, then the biggest file), largest (file
    size), oldest, newest, or shortest-path."""

    def pixels(image: DuplicateImage) -> int:
        return (image.width or 0) * (image.height or 0)

    def age(image: DuplicateImage) -> float:
        return image.date.timestamp() if image.date else float("inf")

    keys: dict[str, Callable[[DuplicateImage], tuple]] = {
        "best": lambda i: (-pixels(i), age(i), -i.size, len(i.path), i.path),
        "largest": lambda i: (-i.size, -pixels(i), len(i.path), i.path),
        "oldest": lambda i: (age(i), -pixels(i), i.path),
        "newest": lambda i: (-age(i), -pixels(i), i.path),
        "shortest-path": lambda i: (len(i.path), i.path),
    }
    return min(images, key=keys[rule])


# --- letting copies go -------------------------------------------------------------------------


CHANGED = "changed since the last scan; rescan first"
GONE = "gone since the last scan; rescan first"


SEEN_CHANGED = "changed since the duplicates were found; find them again"


def _changed_since_shown(row: Image, shown: DuplicateImage) -> bool:
    return (row.content_hash, row.size) != (shown.content_hash, shown.size) or (
        shown.mtime is not None and row.mtime != shown.mtime
    )


def move_to_trash(
    library: DuplicateSource,
    plan: Iterable[tuple[int, Sequence[int]]],
    sidecars: bool = True,
    shown: Mapping[int, DuplicateImage] | None = None,
) -> TrashReport:
    """Hand copies to the system trash, group by group: ``plan`` pairs the id of the image kept with
    the ids of its copies to let go. ``shown``: the images as the user saw them (``find_duplicates``);
    a library row that changed since (a rescan, the watcher) is not what the user chose, so its group's
    copies (kept file changed) or the copy itself stay. The scan's facts may be stale too, so right
    before each move the copy is checked again (a regular file of the size and mtime scanned;
    byte-identical copies hashed again), and so is the kept file: a copy that changed, or whose kept
    file changed, stays where it is and in the library (``skipped``). A copy's own XMP sidecars go
    with it; then the library forgets it. A file the trash refuses stays where it is (``failed``)."""
    report = TrashReport()
    gone: list[int] = []
    for keep_id, copy_ids in plan:
        rows = {image.id: image for image in library.images([keep_id, *copy_ids])}
        if shown is not None:
            ids = [i for i in (keep_id, *copy_ids) if i in shown]
            stale = {i for i in ids if i not in rows or _changed_since_shown(rows[i], shown[i])}
            if keep_id in stale:
                report.skipped += [(shown[i].path, f"the file kept {SEEN_CHANGED}") for i in copy_ids if i in shown]
                continue
            report.skipped += [(shown[i].path, SEEN_CHANGED) for i in copy_ids if i in stale]
            copy_ids = [i for i in copy_ids if i not in stale]
        copies = [rows[i] for i in copy_ids if i in rows and i != keep_id]
        kept = rows.get(keep_id)
        keeper_problem, keeper_info = _check_keeper(kept, copies)
        if keeper_problem is not None:
            report.skipped += [(image.path, keeper_problem) for image in copies]
            continue
        assert kept is not None and keeper_info is not None
        for image in copies:
            problem = _trash_one(image, kept, keeper_info, sidecars)
            if problem is None:
                report.moved.append(image.path)
                gone.append(image.id)
            elif problem[0] == "failed":
                report.failed.append((image.path, problem[1]))
            else:
                report.skipped.append((image.path, problem[1]))
    library.forget_images(gone)
    return report


def _check_keeper(kept: Image | None, copies: Sequence[Image]) -> tuple[str | None, os.stat_result | None]:
    """Why nothing of a group may go (the kept file is gone or changed), with its stat when it may."""
    if kept is None:
        return "the file to keep is no longer in the library; rescan first", None
    try:
        info = os.stat(kept.path)  # a kept link is fine: what it points to is what stays
    except OSError as exc:
        reason = GONE if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
        return f"the file kept ({kept.path}) is {reason}", None
    if not stat.S_ISREG(info.st_mode) or info.st_size != kept.size or info.st_mtime != kept.mtime:
        return f"the file kept ({kept.path}) {CHANGED}", None
    if kept.content_hash and any(image.content_hash == kept.content_hash for image in copies):
        try:
            same = hash_file(kept.path) == kept.content_hash
        except OSError as exc:
            return f"the file kept ({kept.path}) cannot be read: {exc.strerror or exc}", None
        if not same:
            return f"the file kept ({kept.path}) {CHANGED}", None
    return None, info


def _trash_one(image: Image, kept: Image, keeper: os.stat_result, sidecars: bool) -> tuple[str, str] | None:
    """Check one copy again and move it (and its own sidecars): None when moved, else (skipped or
    failed, why)."""
    from send2trash import send2trash
    from send2trash.exceptions import TrashPermissionError

    path = Path(image.path)
    try:
        before = os.lstat(path)
    except OSError as exc:
        return "skipped", GONE if isinstance(exc, FileNotFoundError) else exc.strerror or str(exc)
    if stat.S_ISLNK(before.st_mode):
        return "skipped", "a link, not a copy of its own; left in place"
    if not stat.S_ISREG(before.st_mode):
        return "skipped", f"no longer a regular file (a FIFO, device or folder); {CHANGED}"
    if (before.st_dev, before.st_ino) == (keeper.st_dev, keeper.st_ino):
        return "skipped", f"the same file as the one kept ({kept.path}), by another name; left in place"
    if before.st_size != image.size or before.st_mtime != image.mtime:
        return "skipped", CHANGED
    if kept.content_hash and image.content_hash == kept.content_hash:  # an exact copy: the same bytes still?
        try:
            if hash_file(path) != kept.content_hash:
                return "skipped", CHANGED
        except OSError as exc:
            return "skipped", f"cannot be read: {exc.strerror or exc}"
    own: list[str] = []
    if sidecars:
        try:
            own = own_sidecars(path.name, os.listdir(path.parent))
        except OSError as exc:
            log.warning("sidecars of %s not looked for: %s", path, exc)
    try:
        after = os.lstat(path)
    except OSError:
        return "skipped", GONE
    if (after.st_ino, after.st_size, after.st_mtime_ns) != (before.st_ino, before.st_size, before.st_mtime_ns):
        return "skipped", CHANGED
    try:
        send2trash(path)
    except (OSError, TrashPermissionError) as exc:
        return "failed", getattr(exc, "strerror", None) or str(exc)
    for name in own:
        sidecar = path.with_name(name)
        try:
            if stat.S_ISREG(os.lstat(sidecar).st_mode):
                send2trash(sidecar)
        except (OSError, TrashPermissionError) as exc:
            log.warning("sidecar %s left in place: %s", sidecar, exc)
    return None


def own_sidecars(image_name: str, folder_names: Iterable[str]) -> list[str]:
    """The XMP sidecars in a folder listing that belong to ``image_name`` alone: ``photo.jpg.xmp``
    (matched case-insensitively, unless another image's name differs from this one only in case)
    and ``photo.xmp`` when no other image owns it (``owns_short_sidecar``)."""
    from joytag_desktop.media.imaging import is_image_path
    from joytag_desktop.metadata.xmp import owns_short_sidecar

    names = list(folder_names)
    rivals = any(n != image_name and n.lower() == image_name.lower() and is_image_path(n) for n in names)
    wanted = [f"{image_name}.xmp"]
    stem = os.path.splitext(image_name)[0].lower()
    # Any other file of the same stem (a RAW or video the app does not index, a PSD, a Live Photo's
    # MOV) may be the one photo.xmp describes: the short sidecar then stays.
    others = [n for n in names if n != image_name and os.path.splitext(n)[0].lower() == stem]
    if owns_short_sidecar(image_name, names) and all(n.lower().endswith(".xmp") for n in others):
        wanted.append(f"{os.path.splitext(image_name)[0]}.xmp")

    def mine(name: str) -> bool:
        return any(name == w or (not rivals and name.lower() == w.lower()) for w in wanted)

    return [name for name in names if mine(name)]
