"""The library's tables (SQLAlchemy 2.0 typed ORM).

Tag scores live in one narrow table, ``image_tags``, one row per (image, tag, model): a model's
score (``model_id`` of a row in ``models``), or the user's word (``model_id`` 0, the ``USER``
pseudo-model): 1.0 for a manual or imported addition, -1.0 for a manual removal. Retagging with
one model replaces only that model's rows, so the other models' scores and every hand correction
survive. A tag is present on an image when the user added it, or when no manual removal says
otherwise and any searched model's score passes that model's threshold for the tag's category
(see ``library.thresholds``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The stored codes live in library.codes (no SQLAlchemy there); callers still import them from here.
from joytag_desktop.library.codes import PRESENT_SCORE, REMOVED_SCORE, USER, Source, Status  # noqa: F401
from joytag_desktop.library.mounts import StoredPath


class Base(DeclarativeBase):
    pass


class Root(Base):
    """A folder the user added to the library."""

    __tablename__ = "roots"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(StoredPath, unique=True)
    watched: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(DateTime)
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime)
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    # The root's identity, the same on every machine whatever its mount point (see RootMount).
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)

    images: Mapped[list[Image]] = relationship(back_populates="root", passive_deletes=True)


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (Index("ix_images_root_folder", "root_id", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(StoredPath, unique=True)
    # For folder: and name: searches: the folder relative to the root's parent (so it starts with the
    # root's own name, never with /home/user), and the file name.
    folder: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    ext: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    # The picture's bytes alone (joytag_desktop.media.hashing): equal on both sides of a content change, the
    # change was metadata only and the taggings stay. None: unknown. Written with content_hash, always.
    picture_hash: Mapped[str | None] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    format: Mapped[str | None] = mapped_column(String(16))
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    camera_make: Mapped[str | None] = mapped_column(Text)
    camera_model: Mapped[str | None] = mapped_column(Text)
    orientation: Mapped[int | None] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(8), default=Status.PENDING, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(Text)
    tagged_at: Mapped[datetime | None] = mapped_column(DateTime)  # ``model``/``tagged_at``: the latest tagging
    added_at: Mapped[datetime] = mapped_column(DateTime)
    sidecar_mtime: Mapped[float | None] = mapped_column(Float)
    # Index into RATINGS: the highest any model's rating outputs gave, or the one set by hand.
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rating_manual: Mapped[bool] = mapped_column(Boolean, default=False)
    # The user's marks (``metadata.marks``), read from and written to the files: stars -1 (rejected)
    # to 5, a colour label (red, orange, yellow…), a pick (picked, rejected, pending); None: not set.
    stars: Mapped[int | None] = mapped_column(SmallInteger)
    label: Mapped[str | None] = mapped_column(String(8))
    pick: Mapped[str | None] = mapped_column(String(8))

    root: Mapped[Root] = relationship(back_populates="images")

    @property
    def displayed_size(self) -> tuple[int | None, int | None]:
        """Width and height as the picture is shown: EXIF orientations 5-8 turn it a quarter."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


class Model(Base):
    """A tagger that has tagged (or is to tag) the library's images."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(primary_key=True)  # 1 and up; 0 is the user (USER)
    name: Mapped[str] = mapped_column(Text, unique=True)  # catalogue name or folder name: model:NAME
    format: Mapped[str] = mapped_column(String(16))  # joytag, wd, jtp, camie
    version: Mapped[str] = mapped_column(Text, default="")  # the format's variant (v3, ViT…; PILOT2…)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")  # vocabulary + weights identity
    path: Mapped[str | None] = mapped_column(Text)  # the folder it was last loaded from
    auto: Mapped[bool] = mapped_column(Boolean, default=False)  # tags new and changed files
    searched: Mapped[bool] = mapped_column(Boolean, default=True)  # its scores count in searches
    added_at: Mapped[datetime] = mapped_column(DateTime)


class ImageModel(Base):
    """That a model has tagged an image (and when), with the pooled embedding it computed."""

    __tablename__ = "image_models"
    __table_args__ = (Index("ix_image_models_model", "model_id", "image_id"), {"sqlite_with_rowid": False})

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    tagged_at: Mapped[datetime] = mapped_column(DateTime)
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # index into RATINGS, for models with rating outputs
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)  # float16 little-endian


class ModelThreshold(Base):
    """A model's threshold for one category (published defaults, changed by the user)."""

    __tablename__ = "model_thresholds"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)


class ModelTagThreshold(Base):
    """A model's own threshold for one tag (JTP-3's published calibration; above 1: never output
    by the model's rule). Below the user's thresholds: see ``library.thresholds``."""

    __tablename__ = "model_tag_thresholds"
    __table_args__ = ({"sqlite_with_rowid": False},)

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    # general, character, copyright, artist, meta, rating, year (as the models define them), or
    # keyword for imported keywords (hierarchical ones are stored as Places|Europe|Paris).
    category: Mapped[str] = mapped_column(String(16), default="general")
    # A model has stored a score of it (it is a model's vocabulary, not only a keyword or a hand tag).
    scored: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ImageTag(Base):
    __tablename__ = "image_tags"
    # Rows are clustered by image (primary key image_id, model_id, tag_id), so a model's hundred
    # scores of a new image land on a page or two; "which images have tag T" is the search index's
    # question (library.postings), not the database's. Only the user's rows (few) keep a tag-first
    # index, and only they fire triggers: a model's rows are logged and counted per batch
    # (library.score_rows; migration 0011).
    __table_args__ = (
        Index(
            "ix_image_tags_user",
            "tag_id",
            "score",
            sqlite_where=text("model_id = 0"),
            postgresql_where=text("model_id = 0"),
        ),
        {"sqlite_with_rowid": False},
    )

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # USER (0) or models.id
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[int] = mapped_column(SmallInteger, default=Source.AI)
    score: Mapped[float] = mapped_column(Float)


class TagSibling(Base):
    """An alias (Hydrus' sibling): ``tag_id`` is another name of ``target_id``, the one shown.

    One step only: a target is never itself an alias (``library.vocabulary`` refuses chains)."""

    __tablename__ = "tag_siblings"
    __table_args__ = (Index("ix_tag_siblings_target", "target_id"), {"sqlite_with_rowid": False})

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))


class TagParent(Base):
    """An implication (Hydrus' parent): every image with ``child_id`` also matches ``parent_id``.

    Chains resolve transitively; cycles are refused (``library.vocabulary``)."""

    __tablename__ = "tag_parents"
    __table_args__ = (Index("ix_tag_parents_parent", "parent_id"), {"sqlite_with_rowid": False})

    child_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class ModelExclusion(Base):
    """A tag a model is never to apply (as wd14-tagger users list them): its scores are not stored."""

    __tablename__ = "model_exclusions"
    __table_args__ = ({"sqlite_with_rowid": False},)

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)


class ModelCap(Base):
    """At most ``cap`` tags of one category per image from one model, the highest scores kept (as monbooru)."""

    __tablename__ = "model_caps"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    cap: Mapped[int] = mapped_column(Integer)


class TagThreshold(Base):
    """A per-tag threshold that overrides the global one."""

    __tablename__ = "tag_thresholds"

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    threshold: Mapped[float] = mapped_column(Float)


class TagHistogram(Base):
    """Per tag and model (USER too), how many present (non-missing) images have a score in each
    0.01 bucket (removals are not counted).

    Kept exact by triggers, so tag counts at any threshold cost a few rows, not a scan.
    """

    __tablename__ = "tag_histogram"
    __table_args__ = ({"sqlite_with_rowid": False},)

    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class TagHistogramChange(Base):
    """What a batch of a model's rows added to (or took from) ``tag_histogram``, appended with the
    rows and folded into it now and then (``library.score_rows``): the histogram is ordered by tag,
    so updating it in place cost a written page per stored score. Counts are the two tables' sum."""

    __tablename__ = "tag_histogram_changes"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(Integer)
    model_id: Mapped[int] = mapped_column(SmallInteger)
    bucket: Mapped[int] = mapped_column(SmallInteger)
    count: Mapped[int] = mapped_column(Integer)


class Setting(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MetadataWrite(Base):
    """What the app last wrote for an image to one target (xmp, embedded, caption).

    Merging removes only keywords the app wrote itself; a target whose file is newer than
    ``file_mtime`` was changed by another program and is re-read before the next write.
    """

    __tablename__ = "metadata_writes"

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    target: Mapped[str] = mapped_column(String(16), primary_key=True)
    path: Mapped[str] = mapped_column(StoredPath)
    keywords: Mapped[str] = mapped_column(Text)  # JSON list
    file_mtime: Mapped[float | None] = mapped_column(Float)
    written_at: Mapped[datetime] = mapped_column(DateTime)
    # The file's star/label/pick fields as the last sync left them (JSON object; None: never synced):
    # a field that differs now was changed by another program (``metadata.marks.changes_since``).
    marks: Mapped[str | None] = mapped_column(Text)


class ImageHash(Base):
    """Perceptual hashes of an image's content (and of its mirror image), for near duplicates."""

    __tablename__ = "image_hashes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))  # the content they were computed from
    phash: Mapped[int] = mapped_column(BigInteger)  # 64 bits as a signed integer
    dhash: Mapped[int] = mapped_column(BigInteger)
    phash_mirror: Mapped[int] = mapped_column(BigInteger)
    dhash_mirror: Mapped[int] = mapped_column(BigInteger)


class RootMount(Base):
    """Where one machine (``mounts.machine_name()``) finds a root, and whether it is mounted there
    now: a root unmounted on one machine is offline there only."""

    __tablename__ = "root_mounts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    root_id: Mapped[int] = mapped_column(ForeignKey("roots.id", ondelete="CASCADE"), primary_key=True)
    machine: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    online: Mapped[bool] = mapped_column(Boolean)


class Claim(Base):
    """A worker's lease on tagging one image with one model, until ``expires`` (the database
    server's clock, seconds since the epoch)."""

    __tablename__ = "claims"
    __table_args__ = (Index("ix_claims_worker", "worker"), {"sqlite_with_rowid": False})

    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    worker: Mapped[str] = mapped_column(String(32))
    expires: Mapped[float] = mapped_column(Float)


class WorkerRow(Base):
    """A tagging process's last report (``seen``: the server's clock), for ``status`` and the GUI."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    machine: Mapped[str] = mapped_column(Text)
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(Text)
    models: Mapped[str] = mapped_column(Text)
    started: Mapped[float] = mapped_column(Float)
    seen: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    done: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
