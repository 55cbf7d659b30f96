"""The search language: parsing only (no database), in the spirit of beets and booru sites.

    cat outdoors            both tags (and)
    -indoors                not
    cat | dog, ( … )        or, grouping
    *_hair                  wildcards (* and ?)
    cat:>0.8, cat:0.5..0.9  score qualifiers
    "saber_(fate)"          quoting: exact tag, any punctuation
    camera:canon date:2023-01..2023-06 folder:holidays width:>2000 source:manual status:error ext:png
    character:*miku*, category:copyright   tags of one category (the model's own, or keyword)
    model:wd-swinv2-v3                  tagged by that model; its scores alone decide the tag terms
    like:photos/cat.jpg                 the 200 images most like that one (by a model's embedding);
                                        sort "similarity" puts the most alike first
    rating:general, rating:<=sensitive  the image's rating (general < sensitive < questionable < explicit);
                       rating:none: not rated (no rating model has tagged it and none set by hand)

Bare words may contain punctuation (``:d``, ``^_^``, ``saber_(fate)``): parentheses are
grouping only where they cannot belong to a word, and a ``field:`` prefix only counts for
the known field names below. ``quote_tag`` renders any tag so that it parses back to itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from joytag_desktop.errors import JoyTagError

# Orders a search can be sorted in ("-date": newest first).
SORTS = ("path", "name", "date", "added", "size", "score", "similarity")
TEXT_FIELDS = ("camera", "make", "cameramodel", "folder", "path", "name", "ext", "format")
NUMBER_FIELDS = ("width", "height", "size")
# A tag category as a prefix restricts a tag term (or pattern) to tags of that category.
TAG_CATEGORIES = ("general", "character", "copyright", "artist", "meta", "year", "keyword")
RATINGS = ("general", "sensitive", "questionable", "explicit")
FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, *TAG_CATEGORIES, "date", "source", "status", "tag", "model", "rating",
          "category", "like")  # fmt: skip
SOURCES = ("ai", "manual", "imported")
STATUSES = ("pending", "tagged", "error", "missing")
_COMPARISON = re.compile(r"^(>=|<=|>|<|=)?\s*(.+)$")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3}


class QueryError(JoyTagError):
    """A malformed query; ``position`` is the offending character's index."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.message, self.query, self.position = message, query, max(0, min(position, len(query)))
        super().__init__(f"{message} (at position {self.position + 1})")

    def pointer(self, width: int = 72) -> str:
        """The query with a caret under the error, for terminals; a long query is cut to a window
        of ``width`` characters around the error."""
        start = max(0, min(self.position - width // 2, len(self.query) - width))
        shown = self.query[start : start + width].replace("\n", " ")
        left = "…" if start > 0 else ""
        right = "…" if start + width < len(self.query) else ""
        caret = " " * (len(left) + self.position - start)
        return f"{left}{shown}{right}\n{caret}^ {self.message}"


# --- the tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A numeric (or date) interval; None ends are open. ``low_strict``/``high_strict`` exclude the ends."""

    low: float | datetime | None = None
    high: float | datetime | None = None
    low_strict: bool = False
    high_strict: bool = False


@dataclass(frozen=True)
class TagTerm:
    name: str
    exact: bool = False  # quoted: no wildcards, no case folding
    score: Range | None = None  # None: at the threshold in force
    position: int = 0
    category: str | None = None  # only tags of this category (character:*miku*)

    @property
    def is_wildcard(self) -> bool:
        return not self.exact and ("*" in self.name or "?" in self.name)


@dataclass(frozen=True)
class FieldTerm:
    field: str
    text: str | None = None
    range: Range | None = None
    position: int = 0


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...] = ()


Node = TagTerm | FieldTerm | Not | And | Or


# --- tokens -------------------------------------------------------------------------------


@dataclass
class _Word:
    segments: list[tuple[str, bool]] = field(default_factory=list)  # (text, was quoted)
    position: int = 0

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.segments)


@dataclass
class _Token:
    kind: str  # "(" ")" "|" "-" "word"
    position: int
    word: _Word | None = None


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    """Read a "…" string starting at ``start`` (the quote); return its text and the index after it."""
    out: list[str] = []
    index = start + 1
    while index < len(query):
        char = query[index]
        if char == "\\" and index + 1 < len(query):
            out.append(query[index + 1])
            index += 2
            continue
        if char == '"':
            return "".join(out), index + 1
        out.append(char)
        index += 1
    raise QueryError("unterminated quote", query, start)


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char.isspace():
            index += 1
        elif char in "()|":
            tokens.append(_Token(char, index))
            index += 1
        elif char == "-":
            if index + 1 == len(query) or query[index + 1].isspace():
                raise QueryError("'-' needs a term right after it (no space)", query, index)
            tokens.append(_Token("-", index))
            index += 1
        else:
            word, index = _read_word(query, index)
            tokens.append(_Token("word", word.position, word))
    return tokens


def _read_word(query: str, start: int) -> tuple[_Word, int]:
    """A term: bare characters and quoted parts, up to whitespace, '|' or a ')' it did not open."""
    word = _Word(position=start)
    bare: list[str] = []
    depth = 0
    index = start
    while index < len(query):
        char = query[index]
        if char.isspace() or char == "|":
            break
        if char == '"':
            if bare:
                word.segments.append(("".join(bare), False))
                bare = []
            text, index = _read_quoted(query, index)
            word.segments.append((text, True))
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                break
            depth -= 1
        bare.append(char)
        index += 1
    if bare:
        word.segments.append(("".join(bare), False))
    return word, index


# --- terms --------------------------------------------------------------------------------


def _parse_number(text: str, query: str, position: int, what: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise QueryError(f"{what}: {text!r} is not a number", query, position) from None
    if not math.isfinite(number):
        raise QueryError(f"{what}: {text!r} is not a number", query, position)
    if what == "score" and not 0.0 <= number <= 1.0:
        raise QueryError(f"score: {text} is not between 0 and 1", query, position)
    return number


def _parse_size(text: str, query: str, position: int) -> float:
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([a-z]*)", text.lower())
    if not match or match.group(2) not in _SIZE_UNITS:
        raise QueryError(f"size: {text!r} is not a size like 500k or 2mb", query, position)
    return float(match.group(1)) * _SIZE_UNITS[match.group(2)]


def _parse_date(text: str, query: str, position: int, end: bool) -> datetime:
    """YYYY, YYYY-MM or YYYY-MM-DD; ``end`` gives the first instant after the period."""
    try:
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 1:
            start, after = date(parts[0], 1, 1), date(parts[0] + 1, 1, 1)
        elif len(parts) == 2:
            start = date(parts[0], parts[1], 1)
            after = date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
        elif len(parts) == 3:
            start = date(*parts)
            after = start + timedelta(days=1)
        else:
            raise ValueError
    except (ValueError, OverflowError):
        raise QueryError(f"date: {text!r} is not a date like 2023, 2023-06 or 2023-06-30", query, position) from None
    return datetime.combine(after if end else start, datetime.min.time())


def _parse_range(value: str, query: str, position: int, kind: str) -> Range:
    """``>x``, ``>=x``, ``<x``, ``<=x``, ``=x``, ``x``, ``a..b``, ``a..``, ``..b`` for numbers, sizes, dates, scores."""

    def convert(text: str, end: bool) -> float | datetime:
        if kind == "date":
            return _parse_date(text, query, position, end)
        if kind == "size":
            return _parse_size(text, query, position)
        return _parse_number(text, query, position, kind)

    if not value:
        raise QueryError(f"{kind}: a value is missing", query, position)
    if ".." in value:
        low_text, _, high_text = value.partition("..")
        if not low_text and not high_text:
            raise QueryError(f"{kind}: a range needs at least one end", query, position)
        low = convert(low_text, False) if low_text else None
        if kind == "date":
            return Range(low, convert(high_text, True) if high_text else None, high_strict=True)
        high = convert(high_text, False) if high_text else None
        if low is not None and high is not None and low > high:
            raise QueryError(f"{kind}: the range {value} is empty (write the low end first)", query, position)
        return Range(low, high)
    match = _COMPARISON.match(value)
    op, operand = (match.group(1) or "=", match.group(2)) if match else ("=", value)
    if kind == "date":
        start, after = convert(operand, False), convert(operand, True)
        return {
            "=": Range(start, after, high_strict=True),
            ">": Range(after),
            ">=": Range(start),
            "<": Range(None, start, high_strict=True),
            "<=": Range(None, after, high_strict=True),
        }[op]
    number = convert(operand, False)
    if kind == "score" and not 0.0 <= number <= 1.0:
        raise QueryError(f"score: {operand} is not between 0 and 1", query, position)
    return {
        "=": Range(number, number),
        ">": Range(number, low_strict=True),
        ">=": Range(number),
        "<": Range(None, number, high_strict=True),
        "<=": Range(None, number),
    }[op]


_LOOKS_LIKE_SCORE = re.compile(r"^(?:[<>=]|-?\.?[0-9])")
_SCORE_QUALIFIER = re.compile(r"^(>=|<=|>|<|=)?\s*[0-9]*\.?[0-9]+$|^[0-9]*\.?[0-9]*\.\.[0-9]*\.?[0-9]*$")


def _term(word: _Word, query: str) -> Node:
    segments = word.segments
    first_text, first_quoted = segments[0]
    position = word.position
    # field:value — the field name must be bare and known.
    if not first_quoted and ":" in first_text:
        name, _, rest = first_text.partition(":")
        if name.lower() in FIELDS and name:
            value = rest + "".join(text for text, _ in segments[1:])
            return _field_term(name.lower(), value, query, position + len(name) + 1)
    # "exact tag" optionally followed by :qualifier
    if first_quoted:
        tail = "".join(text for text, _ in segments[1:])
        if not tail:
            return TagTerm(first_text, exact=True, position=position)
        if tail.startswith(":") and _SCORE_QUALIFIER.match(tail[1:]):
            return TagTerm(
                first_text, exact=True, score=_parse_range(tail[1:], query, position, "score"), position=position
            )
        raise QueryError("unexpected text after a quoted tag", query, position)
    text = word.text
    if any(quoted for _, quoted in segments):
        return TagTerm(text, exact=True, position=position)
    # tag:qualifier, split at the last colon; a tag may itself contain colons (":d", "re:zero…").
    name, colon, qualifier = text.rpartition(":")
    if colon and name and (_SCORE_QUALIFIER.match(qualifier) or _LOOKS_LIKE_SCORE.match(qualifier)):
        # A qualifier that starts like a score (>, <, =, a digit) must be one: `cat:>0.8x` is a
        # mistake to point at, not a tag named "cat:>0.8x" that silently matches nothing.
        where = position + len(name) + 1
        if not _SCORE_QUALIFIER.match(qualifier):
            raise QueryError(f"score: {qualifier!r} is not a score like >0.8 or 0.5..0.9", query, where)
        return TagTerm(name, score=_parse_range(qualifier, query, where, "score"), position=position)
    return TagTerm(text, position=position)


def _rating_range(value: str, query: str, position: int) -> Range:
    """``general``, ``<=sensitive``, ``>general``, ``sensitive..explicit`` as a range of RATINGS indices."""

    def level(text: str) -> int:
        text = text.strip().lower()
        if text not in RATINGS:
            raise QueryError(f"rating: {text!r} is not one of {', '.join(RATINGS)}", query, position)
        return RATINGS.index(text)

    if ".." in value:
        low, _, high = value.partition("..")
        return Range(level(low) if low else None, level(high) if high else None)
    operator, text = _COMPARISON.match(value.strip()).groups() if value.strip() else (None, "")
    if not text:
        raise QueryError("rating: a rating is missing (general, sensitive, questionable, explicit)", query, position)
    at = level(text)
    return {
        None: Range(at, at), "=": Range(at, at), ">": Range(at, low_strict=True), ">=": Range(at),
        "<": Range(high=at, high_strict=True), "<=": Range(high=at),
    }[operator]  # fmt: skip


def _field_term(name: str, value: str, query: str, position: int) -> Node:
    if name == "tag":
        if not value:
            raise QueryError("tag: a tag name is missing", query, position)
        return _term(_Word([(value, True)], position), query)
    if name in TAG_CATEGORIES or name == "category":
        category = value.lower() if name == "category" else name
        if name == "category" and category not in (*TAG_CATEGORIES, "rating"):
            raise QueryError(f"category: {value!r} is not one of {', '.join(TAG_CATEGORIES)}", query, position)
        if name == "category" or not value:
            return TagTerm("*", position=position, category=category)
        term = _term(_Word([(value, False)], position), query)
        assert isinstance(term, TagTerm)
        return TagTerm(term.name, term.exact, term.score, position, category)
    if name == "like":
        if not value:
            raise QueryError("like: an image path is missing", query, position)
        return FieldTerm(name, text=value, position=position)
    if name == "model":
        if not value:
            raise QueryError("model: a model name is missing (see `joytag-desktop models list`)", query, position)
        return FieldTerm(name, text=value, position=position)
    if name == "rating":
        if value.strip().lower() == "none":
            return FieldTerm(name, text="none", position=position)
        return FieldTerm(name, range=_rating_range(value, query, position), position=position)
    if name in TEXT_FIELDS:
        if not value:
            raise QueryError(f"{name}: a value is missing", query, position)
        return FieldTerm(name, text=value.lstrip(".").lower() if name == "ext" else value, position=position)
    if name in NUMBER_FIELDS:
        return FieldTerm(
            name, range=_parse_range(value, query, position, "size" if name == "size" else name), position=position
        )
    if name == "date":
        return FieldTerm(name, range=_parse_range(value, query, position, "date"), position=position)
    allowed = SOURCES if name == "source" else STATUSES
    if value.lower() not in allowed:
        raise QueryError(f"{name}: {value!r} is not one of {', '.join(allowed)}", query, position)
    return FieldTerm(name, text=value.lower(), position=position)


# --- grammar ------------------------------------------------------------------------------


# Real queries have a handful of terms and a level or two of parentheses; these limits keep a
# pasted or generated query from exhausting Python's stack or SQLite's expression depth (1000).
MAX_NESTING = 64
MAX_TERMS = 200


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.index = 0
        self.depth = 0
        self.terms = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            raise QueryError("unmatched ')'", self.query, token.position)
        return node

    def or_expr(self) -> Node:
        branches = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "|":
            self.take()
            if isinstance(branches[-1], And) and not branches[-1].children:
                raise QueryError("'|' needs a term on its left", self.query, token.position)
            branches.append(self.and_expr())
            if isinstance(branches[-1], And) and not branches[-1].children:
                raise QueryError("'|' needs a term on its right", self.query, token.position)
        return branches[0] if len(branches) == 1 else Or(tuple(branches))

    def and_expr(self) -> Node:
        terms: list[Node] = []
        while (token := self.peek()) is not None and token.kind not in ("|", ")"):
            terms.append(self.unary())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def unary(self) -> Node:
        token = self.take()
        if token.kind in ("-", "("):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise QueryError(
                    f"the query nests '(' and '-' more than {MAX_NESTING} deep", self.query, token.position
                )
            try:
                return self._nested(token)
            finally:
                self.depth -= 1
        assert token.word is not None
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(f"the query has more than {MAX_TERMS} terms", self.query, token.position)
        return _term(token.word, self.query)

    def _nested(self, token: _Token) -> Node:
        if token.kind == "-":
            following = self.peek()
            if following is None or following.kind in ("|", ")"):
                raise QueryError("'-' needs a term after it", self.query, token.position)
            return Not(self.unary())
        inner = self.or_expr()  # token is "("
        closing = self.peek()
        if closing is None or closing.kind != ")":
            raise QueryError("'(' is never closed", self.query, token.position)
        self.take()
        if isinstance(inner, And) and not inner.children:
            raise QueryError("empty parentheses", self.query, token.position)
        return inner


def parse(query: str) -> Node:
    """Parse a query; an empty query is ``And(())`` (everything). Raises QueryError."""
    return _Parser(query).parse()


_BARE_SAFE = re.compile(r"^[^\s\"|*?]+$")


def quote_tag(tag: str) -> str:
    """Render ``tag`` as a query term that matches exactly that tag, also with ``:>0.5`` appended."""
    bare_candidate = _BARE_SAFE.match(tag) and not tag.startswith(("-", "(")) and tag.lower() not in FIELDS
    try:
        node = parse(tag) if bare_candidate else None
    except QueryError:
        node = None
    if node == TagTerm(tag, position=0):
        return tag
    escaped = tag.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def tag_terms(node: Node) -> list[TagTerm]:
    """The positive tag terms of a query, in order (used for sorting by score)."""
    if isinstance(node, TagTerm):
        return [node]
    if isinstance(node, (And, Or)):
        return [term for child in node.children for term in tag_terms(child)]
    return []


def field_terms(node: Node, name: str) -> list[FieldTerm]:
    """Every ``name:`` field term of a query, negated ones too."""
    if isinstance(node, FieldTerm):
        return [node] if node.field == name else []
    if isinstance(node, Not):
        return field_terms(node.child, name)
    if isinstance(node, (And, Or)):
        return [term for child in node.children for term in field_terms(child, name)]
    return []


def mentions_status(node: Node, status: str) -> bool:
    if isinstance(node, FieldTerm):
        return node.field == "status" and node.text == status
    if isinstance(node, Not):
        return mentions_status(node.child, status)
    if isinstance(node, (And, Or)):
        return any(mentions_status(child, status) for child in node.children)
    return False
