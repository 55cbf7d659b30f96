"""The fields of the search language, one object each (as beets has a query class per field kind).

A field knows its name(s), how its value is read (``parse``), the SQL condition its terms compile to
(``condition``, for ``library.search``) and, where the posting lists can answer it, how they do
(``postings``, for ``library.fast_search``). Both evaluators look fields up in ``FIELDS`` only, so a
new field is one class here, not an ``if`` in each of them. Fields that restrict tag terms (``tag:``,
``character:``, ``category:``) parse into tag terms, which both evaluators answer as tag terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from pyroaring import BitMap
from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
)

from joytag_desktop.categories import CATEGORIES, RATINGS, SEARCHABLE_CATEGORIES
from joytag_desktop.library import dialect
from joytag_desktop.library.schema import Image, ImageModel, ImageTag, Source, Status
from joytag_desktop.library.terms import COMPARISON, FieldTerm, Node, QueryError, Range, TagTerm, parse_range
from joytag_desktop.metadata.marks import LABELS, PICKS, MarkError, check_label, check_pick

if TYPE_CHECKING:
    from joytag_desktop.library.postings import PostingIndex

SOURCES = ("ai", "manual", "imported")
STATUSES = Status.ALL
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class FieldValue:
    """A ``field:value`` as written: the field's name (lower case), its value, where the value starts
    in the query, and how the grammar reads a bare word (a category prefix reads its value so)."""

    name: str
    text: str
    query: str
    position: int
    read_word: Callable[[str, str, int], Node]

    def error(self, message: str) -> QueryError:
        return QueryError(message, self.query, self.position)

    def range(self, kind: str) -> Range:
        return parse_range(self.text, self.query, self.position, kind)


class Context(Protocol):
    """What a field asks of the search it is part of (``search.TagResolver`` is one)."""

    model_ids: dict[str, int]  # every model of the library, by name
    similar: dict[str, list[int]]  # like: terms resolved before compiling
    warnings: list[str]


class Field:
    """One field of the search language. ``native``: the posting lists answer it without SQL;
    ``narrows``: inside an AND it filters what the other terms left (cheaper than a whole set)."""

    names: tuple[str, ...] = ()
    native = False
    narrows = False

    def parse(self, value: FieldValue) -> Node:
        raise NotImplementedError

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        """The SQL condition on ``Image`` rows."""
        raise TypeError(f"{term.field}: its terms are tag terms")

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        """The images of the term among ``candidates`` (the universe, or what an AND left of it)."""
        raise TypeError(f"{term.field}: not answered by the posting lists")


# --- SQL building blocks ---------------------------------------------------------------------------


def in_range(column: SQLColumnExpression, bounds: Range) -> ColumnElement[bool]:
    return _between(column, bounds.low, bounds.high, bounds.low_strict, bounds.high_strict)


def _between(
    column: SQLColumnExpression, low: object, high: object, low_strict: bool, high_strict: bool
) -> ColumnElement[bool]:
    """``column`` within the ends that are not None (any value SQL compares the column with)."""
    clauses = []
    if low is not None:
        clauses.append(column > low if low_strict else column >= low)
    if high is not None:
        clauses.append(column < high if high_strict else column <= high)
    return and_(*clauses) if clauses else true()


def like_pattern(text: str) -> str:
    """The LIKE pattern of a text term: a caseless substring (``dialect.fold``) in which ``*`` and
    ``?`` are wildcards, as in tag terms, and %, _ and \\ are taken literally."""
    escaped = dialect.fold(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped.replace("*", "%").replace("?", "_") + "%"


def _contains(column: SQLColumnExpression, text: str) -> ColumnElement[bool]:
    """Substring of ``column`` beyond ASCII case (``name:ünï`` finds ``Ünïcödé.jpg``), whatever
    the database's collation: both sides are folded alike."""
    return dialect.Folded(column).like(like_pattern(text), escape="\\")


def _known(column: SQLColumnExpression, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` on a column that may be NULL, as plain true/false: an image without camera
    data is not a Canon, so ``-camera:canon`` finds it (SQL's NULL would drop it from both)."""
    return and_(column.is_not(None), condition)


def image_date() -> ColumnElement:
    """The EXIF date taken, else the file's modification time (local time), comparable as text."""
    return dialect.ImageDate(Image.taken_at, Image.mtime)


# EXIF orientations 5-8 turn the picture a quarter: the displayed width is the stored height.
_QUARTER_TURNS = (5, 6, 7, 8)


def displayed_width() -> ColumnElement:
    return case((Image.orientation.in_(_QUARTER_TURNS), Image.height), else_=Image.width)


def displayed_height() -> ColumnElement:
    return case((Image.orientation.in_(_QUARTER_TURNS), Image.width), else_=Image.height)


# --- fields that restrict tag terms ------------------------------------------------------------------


class TagField(Field):
    """``tag:name``: exactly that tag (no wildcards, no case folding), as a quoted term."""

    names = ("tag",)

    def parse(self, value: FieldValue) -> Node:
        if not value.text:
            raise value.error("tag: a tag name is missing")
        return TagTerm(value.text, exact=True, position=value.position)


class CategoryPrefix(Field):
    """``character:*miku*``: the tag term (or pattern) among tags of that category; alone, every tag of it."""

    names = SEARCHABLE_CATEGORIES

    def parse(self, value: FieldValue) -> Node:
        if not value.text:
            return TagTerm("*", position=value.position, category=value.name)
        term = value.read_word(value.text, value.query, value.position)
        assert isinstance(term, TagTerm)
        return TagTerm(term.name, term.exact, term.score, value.position, value.name)


class CategoryField(Field):
    """``category:copyright``: images with any tag of that category."""

    names = ("category",)

    def parse(self, value: FieldValue) -> Node:
        category = value.text.lower()
        if category not in CATEGORIES:
            raise value.error(f"category: {value.text!r} is not one of {', '.join(SEARCHABLE_CATEGORIES)}")
        return TagTerm("*", position=value.position, category=category)


# --- image fields ----------------------------------------------------------------------------------


class TextField(Field):
    """A substring of one or more text columns (case-insensitive); ``nullable`` columns say false,
    not NULL, where the image has no value."""

    def __init__(self, name: str, *columns: str, nullable: bool = True) -> None:
        self.names = (name,)
        self.columns = columns
        self.nullable = nullable

    def parse(self, value: FieldValue) -> Node:
        if not value.text:
            raise value.error(f"{value.name}: a value is missing")
        return FieldTerm(value.name, text=value.text, position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        found = []
        for name in self.columns:
            column = getattr(Image, name)
            matches = _contains(column, term.text or "")
            found.append(_known(column, matches) if self.nullable else matches)
        return found[0] if len(found) == 1 else or_(*found)


class ExtensionField(TextField):
    """``ext:png``: the file's extension, exactly (a leading dot and the case do not matter)."""

    def __init__(self) -> None:
        super().__init__("ext", "ext", nullable=False)

    def parse(self, value: FieldValue) -> Node:
        if not value.text:
            raise value.error("ext: a value is missing")
        return FieldTerm("ext", text=value.text.lstrip(".").lower(), position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        return Image.ext == (term.text or "")


class FormatField(TextField):
    """``format:jpeg``: the decoder's format name, exactly (any case)."""

    def __init__(self) -> None:
        super().__init__("format", "format")

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        return _known(Image.format, func.lower(Image.format) == (term.text or "").lower())


class NumberField(Field):
    """``width:>2000``, ``size:<500k``: a range of a number (sizes with units)."""

    def __init__(self, name: str, column: Callable[[], SQLColumnExpression], kind: str | None = None) -> None:
        self.names = (name,)
        self.column = column
        self.kind = kind or name

    def parse(self, value: FieldValue) -> Node:
        return FieldTerm(value.name, range=value.range(self.kind), position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        assert term.range is not None
        column = self.column()
        return _known(column, in_range(column, term.range))


def _date_bound(value: float | datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S.000") if isinstance(value, datetime) else None


def _milliseconds(value: datetime) -> int:
    """A date bound as the date key: SQL compares with the bound's text to the second."""
    return (value.replace(microsecond=0) - _EPOCH) // timedelta(milliseconds=1)


class DateField(Field):
    """``date:2023-01..2023-06``: the date taken, else the file's modification time."""

    names = ("date",)
    native = True
    narrows = True

    def parse(self, value: FieldValue) -> Node:
        return FieldTerm("date", range=value.range("date"), position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        assert term.range is not None
        bounds = term.range  # compared as text: the date column is text in SQL
        low, high = _date_bound(bounds.low), _date_bound(bounds.high)
        return _between(image_date(), low, high, bounds.low_strict, bounds.high_strict)

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        assert term.range is not None
        bounds = term.range
        low = _milliseconds(bounds.low) + bounds.low_strict if isinstance(bounds.low, datetime) else None
        high = _milliseconds(bounds.high) - bounds.high_strict if isinstance(bounds.high, datetime) else None
        return index.dated(low, high, candidates)


class ChoiceField(Field):
    """A value out of a fixed list (``status:error``, ``source:manual``)."""

    def __init__(self, name: str, choices: tuple[str, ...]) -> None:
        self.names = (name,)
        self.choices = choices

    def parse(self, value: FieldValue) -> Node:
        if value.text.lower() not in self.choices:
            raise value.error(f"{value.name}: {value.text!r} is not one of {', '.join(self.choices)}")
        return FieldTerm(value.name, text=value.text.lower(), position=value.position)


class StatusField(ChoiceField):
    native = True

    def __init__(self) -> None:
        super().__init__("status", STATUSES)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        return Image.status == (term.text or "")

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        return index.status.get(term.text or "", BitMap())


class SourceField(ChoiceField):
    """Images with a tag that came from there (a model, the user's hand, an import)."""

    def __init__(self) -> None:
        super().__init__("source", SOURCES)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        source = Source.BY_NAME[term.text or ""]
        if source == Source.AI:  # a probe of the image's rows (keyed by image first)
            return exists().where(ImageTag.image_id == Image.id, ImageTag.source == source)
        # The user's rows: their partial index (a literal 0, which SQLite matches to the index's WHERE).
        user = ImageTag.model_id == literal_column("0")
        return Image.id.in_(select(ImageTag.image_id).where(user, ImageTag.source == source))


class RatingField(Field):
    """``rating:general``, ``rating:<=sensitive``, ``rating:sensitive..explicit`` (indices into
    RATINGS); ``rating:none``: not rated (no rating model has tagged it and none set by hand)."""

    names = ("rating",)
    native = True

    def parse(self, value: FieldValue) -> Node:
        if value.text.strip().lower() == "none":
            return FieldTerm("rating", text="none", position=value.position)
        return FieldTerm("rating", range=self._levels(value), position=value.position)

    @staticmethod
    def _levels(value: FieldValue) -> Range:
        def level(text: str) -> int:
            text = text.strip().lower()
            if text not in RATINGS:
                raise value.error(f"rating: {text!r} is not one of {', '.join(RATINGS)}")
            return RATINGS.index(text)

        if ".." in value.text:
            low, _, high = value.text.partition("..")
            return Range(level(low) if low else None, level(high) if high else None)
        stripped = value.text.strip()
        operator, text = None, ""
        if stripped:
            match = COMPARISON.match(stripped)
            if match is None:  # a quoted value with a line break inside ("gen\neral")
                raise value.error(f"rating: {stripped!r} is not one of {', '.join(RATINGS)}")
            operator, text = match.groups()
        if not text:
            raise value.error("rating: a rating is missing (general, sensitive, questionable, explicit)")
        at = level(text)
        return {
            None: Range(at, at), "=": Range(at, at), ">": Range(at, low_strict=True), ">=": Range(at),
            "<": Range(high=at, high_strict=True), "<=": Range(high=at),
        }[operator]  # fmt: skip

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        if term.text == "none":
            return Image.rating.is_(None)
        assert term.range is not None
        return _known(Image.rating, in_range(Image.rating, term.range))

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        if term.text == "none":
            return candidates - BitMap.union(*index.ratings)
        assert term.range is not None
        levels = [index.ratings[level] for level in range(len(RATINGS)) if _within(level, term.range)]
        return BitMap.union(*levels) if levels else BitMap()


def _within(value: float, bounds: Range) -> bool:
    """``value`` inside ``bounds``, a range of numbers (the rating levels ``RatingField`` reads)."""
    low, high = bounds.low, bounds.high
    if isinstance(low, datetime) or isinstance(high, datetime):  # a number never compares with a date
        raise TypeError(f"{bounds} is a range of dates, not of numbers")
    if low is not None and (value <= low if bounds.low_strict else value < low):
        return False
    return not (high is not None and (value >= high if bounds.high_strict else value > high))


class ModelField(Field):
    """``model:wd-swinv2-v3``: tagged by that model (its current tagging of the image's content)."""

    names = ("model",)
    native = True

    def parse(self, value: FieldValue) -> Node:
        if not value.text:
            raise value.error("model: a model name is missing (see `joytag-desktop models list`)")
        return FieldTerm("model", text=value.text, position=value.position)

    @staticmethod
    def _model_id(term: FieldTerm, context: Context) -> int | None:
        model_id = context.model_ids.get(term.text or "")
        if model_id is None:
            context.warnings.append(f"no model named {term.text!r} has tagged this library")
        return model_id

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        model_id = self._model_id(term, context)
        if model_id is None:
            return false()
        return exists().where(ImageModel.image_id == Image.id, ImageModel.model_id == model_id)

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        model_id = self._model_id(term, context)
        return BitMap() if model_id is None else index.tagged_by.get(model_id, BitMap())


class LikeField(Field):
    """``like:photos/cat.jpg``: the images most like that one (resolved before the query runs)."""

    names = ("like",)
    native = True

    def parse(self, value: FieldValue) -> Node:
        if not value.text:
            raise value.error("like: an image path is missing")
        return FieldTerm("like", text=value.text, position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        ids = context.similar.get(term.text or "", [])
        return Image.id.in_(dialect.listed_ids(dialect.json_ids(ids)))

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        return BitMap(context.similar.get(term.text or "", []))


_SCORE = re.compile(r"^(>=|<=|>|<|=)?\s*[0-9]*\.?[0-9]+$|^[0-9]*\.?[0-9]*\.\.[0-9]*\.?[0-9]*$")


def words_key(text: str) -> str:
    """Where a ``text:`` term's images are kept among the resolved terms (apart from like: paths)."""
    return "text:" + text


class WordsField(Field):
    """``text:"a dog on a beach"``: the images a text model (SigLIP2) finds nearest to the words,
    in any language its tokenizer reads (resolved before the query runs, as like: is). ``text:>0.8``
    stays the Danbooru tag "text" with a score."""

    names = ("text",)
    native = True

    def parse(self, value: FieldValue) -> Node:
        if _SCORE.match(value.text):
            bounds = parse_range(value.text, value.query, value.position, "score")
            return TagTerm("text", score=bounds, position=max(0, value.position - len("text:")))
        if not value.text.strip():
            raise value.error('text: the words are missing, e.g. text:"a dog on a beach"')
        return FieldTerm("text", text=value.text, position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        ids = context.similar.get(words_key(term.text or ""), [])
        return Image.id.in_(dialect.listed_ids(dialect.json_ids(ids)))

    def postings(self, term: FieldTerm, index: PostingIndex, context: Context, candidates: BitMap) -> BitMap:
        return BitMap(context.similar.get(words_key(term.text or ""), []))


class StarsField(Field):
    """``stars:4``, ``stars:>=3``, ``stars:1..3``, ``stars:-1`` or ``stars:rejected``: the user's stars;
    never rated counts as 0 (``stars:0``, ``stars:none``: not rated), rejected as -1."""

    names = ("stars",)

    def parse(self, value: FieldValue) -> Node:
        text = value.text.strip().lower()
        if text in ("rejected", "reject"):
            return FieldTerm("stars", range=Range(-1, -1), position=value.position)
        if text == "none":
            return FieldTerm("stars", range=Range(0, 0), position=value.position)
        bounds = value.range("stars")
        for end in (bounds.low, bounds.high):
            if isinstance(end, float) and (end != int(end) or not -1 <= end <= 5):
                raise value.error(f"stars: {end:g} is not a whole number from -1 (rejected) to 5")
        return FieldTerm("stars", range=bounds, position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        assert term.range is not None
        return in_range(func.coalesce(Image.stars, 0), term.range)


class MarkChoiceField(Field):
    """``label:red``, ``pick:picked``; ``none``: not set."""

    def __init__(self, name: str, check: Callable[[str], str | None], choices: tuple[str, ...]) -> None:
        self.names = (name,)
        self.check = check
        self.choices = choices

    def parse(self, value: FieldValue) -> Node:
        text = value.text.strip().lower()
        if text != "none":
            try:
                text = self.check(text) or ""
            except MarkError:
                raise value.error(
                    f"{value.name}: {value.text!r} is not one of {', '.join(self.choices)}, none"
                ) from None
        return FieldTerm(value.name, text=text, position=value.position)

    def condition(self, term: FieldTerm, context: Context) -> ColumnElement[bool]:
        column = getattr(Image, self.names[0])
        return column.is_(None) if term.text == "none" else _known(column, column == term.text)


def _registry(*fields: Field) -> dict[str, Field]:
    table: dict[str, Field] = {}
    for one in fields:
        for name in one.names:
            if name in table:
                raise ValueError(f"two fields are named {name!r}")
            table[name] = one
    return table


# Every field by each of its names (lower case).
FIELDS: dict[str, Field] = _registry(
    TextField("camera", "camera_make", "camera_model"),
    TextField("make", "camera_make"),
    TextField("cameramodel", "camera_model"),
    TextField("folder", "folder", nullable=False),
    TextField("path", "path", nullable=False),
    TextField("name", "name", nullable=False),
    ExtensionField(),
    FormatField(),
    NumberField("width", displayed_width),
    NumberField("height", displayed_height),
    NumberField("size", lambda: Image.size),
    CategoryPrefix(),
    DateField(),
    SourceField(),
    StatusField(),
    TagField(),
    ModelField(),
    RatingField(),
    StarsField(),
    MarkChoiceField("label", check_label, LABELS),
    MarkChoiceField("pick", check_pick, PICKS),
    CategoryField(),
    LikeField(),
    WordsField(),
)
