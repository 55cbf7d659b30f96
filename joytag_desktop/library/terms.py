"""What a parsed query is made of (terms, ranges) and how a field's value is read (numbers, sizes,
dates, ranges), with the errors that point into the query. No database: the grammar (``query``), the
fields (``fields``) and both evaluators share these."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from joytag_desktop.errors import JoyTagError

COMPARISON = re.compile(r"^(>=|<=|>|<|=)?\s*(.+)$")
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


# --- values ------------------------------------------------------------------------------


def parse_number(text: str, query: str, position: int, what: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise QueryError(f"{what}: {text!r} is not a number", query, position) from None
    if not math.isfinite(number):
        raise QueryError(f"{what}: {text!r} is not a number", query, position)
    if what == "score" and not 0.0 <= number <= 1.0:
        raise QueryError(f"score: {text} is not between 0 and 1", query, position)
    return number


def parse_size(text: str, query: str, position: int) -> float:
    match = re.fullmatch(r"([0-9]*\.?[0-9]+)\s*([a-z]*)", text.lower())
    if not match or match.group(2) not in _SIZE_UNITS:
        raise QueryError(f"size: {text!r} is not a size like 500k or 2mb", query, position)
    return float(match.group(1)) * _SIZE_UNITS[match.group(2)]


def parse_date(text: str, query: str, position: int, end: bool) -> datetime:
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


def parse_range(value: str, query: str, position: int, kind: str) -> Range:
    """``>x``, ``>=x``, ``<x``, ``<=x``, ``=x``, ``x``, ``a..b``, ``a..``, ``..b`` for numbers, sizes, dates, scores."""

    def read_date(text: str, end: bool) -> datetime:
        return parse_date(text, query, position, end)

    def read_number(text: str) -> float:
        if kind == "size":
            return parse_size(text, query, position)
        return parse_number(text, query, position, kind)

    if not value:
        raise QueryError(f"{kind}: a value is missing", query, position)
    if ".." in value:
        low_text, _, high_text = value.partition("..")
        if not low_text and not high_text:
            raise QueryError(f"{kind}: a range needs at least one end", query, position)
        if kind == "date":
            return Range(
                read_date(low_text, False) if low_text else None,
                read_date(high_text, True) if high_text else None,
                high_strict=True,
            )
        low = read_number(low_text) if low_text else None
        high = read_number(high_text) if high_text else None
        if low is not None and high is not None and low > high:
            raise QueryError(f"{kind}: the range {value} is empty (write the low end first)", query, position)
        return Range(low, high)
    match = COMPARISON.match(value)
    op, operand = (match.group(1) or "=", match.group(2)) if match else ("=", value)
    if kind == "date":
        start, after = read_date(operand, False), read_date(operand, True)
        return {
            "=": Range(start, after, high_strict=True),
            ">": Range(after),
            ">=": Range(start),
            "<": Range(None, start, high_strict=True),
            "<=": Range(None, after, high_strict=True),
        }[op]
    number = read_number(operand)
    if kind == "score" and not 0.0 <= number <= 1.0:
        raise QueryError(f"score: {operand} is not between 0 and 1", query, position)
    return {
        "=": Range(number, number),
        ">": Range(number, low_strict=True),
        ">=": Range(number),
        "<": Range(None, number, high_strict=True),
        "<=": Range(None, number),
    }[op]
