"""Answering a parsed query from the posting lists (``library.postings``) instead of SQL.

Tag terms (and, or, not, wildcards and categories expanded to tag sets, ``model:`` restrictions,
the user's additions and removals, score qualifiers like ``cat:>0.8`` and a one-off threshold, both
from the score codes of ``library.graded``) and the fields ``library.fields`` marks native
(``status:``, ``rating:``, ``model:``, ``date:``, ``like:``) are evaluated on bitmaps. Everything
else (camera, folder, path, name, ext, format, size, width, height, source) is compiled by
``library.search``
and run by SQLite, on the candidate images when an AND already narrowed them: the same SQL, so
the same semantics; only slower.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyroaring import BitMap

from joytag_desktop.library.codes import USER, Status
from joytag_desktop.library.graded import inside, scored
from joytag_desktop.library.postings import PostingIndex
from joytag_desktop.library.query import mentions_status
from joytag_desktop.library.resolver import TagResolver
from joytag_desktop.library.terms import And, FieldTerm, Node, Not, Or, Range, TagTerm

if TYPE_CHECKING:  # tag terms alone need neither (the quick search path runs without SQLAlchemy)
    from sqlalchemy import ColumnElement
    from sqlalchemy.sql import Select

    from joytag_desktop.library.fields import Field


def _field_named(name: str) -> Field:
    """A field of the search language (``library.fields``, which brings SQLAlchemy: only fields need it)."""
    from joytag_desktop.library.fields import FIELDS

    return FIELDS[name]


def compile_node(node: Node, resolver: TagResolver) -> ColumnElement[bool]:
    """``node`` as an SQL condition (``library.search``, imported with its first SQL term)."""
    from joytag_desktop.library.search import compile_node as compiled

    return compiled(node, resolver)


# Below this many candidates an SQL term is run on the candidates only (bound as one JSON text).
SQL_ON_CANDIDATES = 200_000


def native(node: Node) -> bool:
    """Whether the posting lists answer ``node`` alone (no SQL)."""
    if isinstance(node, TagTerm):
        return True
    if isinstance(node, FieldTerm):
        return _field_named(node.field).native
    if isinstance(node, Not):
        return native(node.child)
    if isinstance(node, (And, Or)):
        return all(native(child) for child in node.children)
    return False


@dataclass
class Evaluator:
    """One query over one (current, held) index; SQL through the Library's two callables."""

    index: PostingIndex
    resolver: TagResolver
    sql_ids: Callable[[ColumnElement[bool], BitMap | None], BitMap]  # (condition, candidates) -> image ids
    sql_rows: Callable[[Select], list[tuple]]
    # (tags, images) -> (image, tag, model, score) of their stored rows
    stored_scores: Callable[[list[int], BitMap], list[tuple[int, int, int, float]]]
    checked: int = 0  # rows whose stored score was read to settle a code at a range's end (tests read it)

    def matches(self, node: Node, extra: ColumnElement[bool] | None = None) -> BitMap:
        """The images matching ``node`` (and the SQL condition ``extra``); missing files are left
        out unless the query asks for them, as in ``build_select``."""
        universe = self.index.universe
        found = self.evaluate(node, universe) & universe
        if not mentions_status(node, Status.MISSING):
            found -= self.index.missing
        if extra is not None and found:
            found = self._sql(extra, found)
        return found

    def evaluate(self, node: Node, universe: BitMap) -> BitMap:
        if isinstance(node, TagTerm):
            return self._tag(node, universe)
        if isinstance(node, FieldTerm):
            return self._field(node, universe)
        if isinstance(node, Not):
            return universe - self.evaluate(node.child, universe)
        if isinstance(node, Or):
            return BitMap.union(*(self.evaluate(child, universe) for child in node.children))
        if isinstance(node, And):
            return self._and(node.children, universe)
        raise TypeError(f"unknown query node {node!r}")

    def _and(self, children: tuple[Node, ...], universe: BitMap) -> BitMap:
        """Intersect the tag terms (smallest first), subtract the negated ones, then filter what is
        left by the narrowing fields (date) and by the SQL terms, on the candidates only."""
        positive = [c for c in children if _as_set(c) and not isinstance(c, Not) and not _narrows(c)]
        negative = [c.child for c in children if isinstance(c, Not) and _as_set(c.child)]
        narrowing = [c for c in children if _narrows(c)]
        rest = [c for c in children if not _as_set(c) and not (isinstance(c, Not) and _as_set(c.child))]
        sets = sorted((self.evaluate(c, universe) for c in positive), key=len)
        found = BitMap.intersection(*sets) if len(sets) > 1 else (sets[0] if sets else universe)
        for child in negative:
            found = found - self.evaluate(child, universe)
        for child in narrowing:
            assert isinstance(child, FieldTerm)
            found = _field_named(child.field).postings(child, self.index, self.resolver, found)
        for child in rest:
            if not found:
                # The SQL terms still compile, so their warnings (an unknown tag) are shown.
                compile_node(child, self.resolver)
                continue
            found = self._sql(compile_node(child, self.resolver), found)
        return found

    def _sql(self, condition: ColumnElement[bool], candidates: BitMap) -> BitMap:
        if len(candidates) <= SQL_ON_CANDIDATES:
            return self.sql_ids(condition, candidates)
        return self.sql_ids(condition, None) & candidates

    def _tag(self, term: TagTerm, universe: BitMap) -> BitMap:
        ids = self.resolver.lookup(term.name, term.exact, term.category)
        if not ids:
            kind = "tag pattern" if term.is_wildcard else "tag"
            where = f" in category {term.category}" if term.category else ""
            self.resolver.warnings.append(f"no {kind} matches {term.name!r}{where}")
            return BitMap() if term.score is None or term.score.low is not None else universe
        if term.score is not None:
            score = term.score
            complement = score.low is None  # "cat:<0.2": no score at or above 0.2 (a missing row is 0)
            if complement:
                score = Range(score.high, low_strict=not score.high_strict)
            found = self._in_range(ids, [USER, *self.resolver.models], score)
            parts = [members - self.index.removed.get(tag_id, BitMap()) for tag_id, members in found.items()]
            found_all = BitMap.union(*parts) if parts else BitMap()
            return universe - found_all if complement else found_all
        override = self.resolver.rules.override
        if override is None:
            return self.index.present(ids, self.resolver.models)
        return self._present_at(ids, override)

    def _present_at(self, ids: list[int], override: float) -> BitMap:
        """``present`` under a one-off threshold. A tag with its own threshold keeps its postings (its
        own threshold comes first); for the others each model's postings at the library's threshold
        are corrected by the band of scores between that threshold and ``override`` (read from the
        score codes): a narrow band costs little whatever the tag's size."""
        rules, index = self.resolver.rules, self.index
        own = [tag_id for tag_id in ids if rules.overridden(tag_id)]
        parts = [index.present(own, self.resolver.models)] if own else []
        others = [tag_id for tag_id in ids if not rules.overridden(tag_id)]
        bands: dict[tuple[int, float], list[int]] = {}
        for tag_id in others:
            for model_id in self.resolver.models:
                bands.setdefault((model_id, index.threshold(model_id, tag_id)), []).append(tag_id)
        found: dict[int, list[BitMap]] = {tag_id: [] for tag_id in others}
        for (model_id, threshold), tag_ids in bands.items():
            low, high = sorted((threshold, override))
            band = self._in_range(tag_ids, [model_id], Range(low, high, high_strict=True)) if low < high else {}
            for tag_id in tag_ids:
                members = index.scores.get((model_id, tag_id), BitMap())
                if tag_id in band:
                    members = members | band[tag_id] if override < threshold else members - band[tag_id]
                found[tag_id].append(members)
        for tag_id, members in found.items():
            present = BitMap.union(*members, index.added.get(tag_id, BitMap()))
            if tag_id in index.removed:
                present -= index.removed[tag_id]
            parts.append(present)
        return BitMap.union(*parts) if parts else BitMap()

    def _in_range(self, ids: list[int], models: list[int], score: Range) -> dict[int, BitMap]:
        """Per tag, the images with a score of ``models`` in ``score``: from the codes, and the rows at
        a range's end settled by their stored scores (one statement for all of them)."""
        found, unsure = scored(self.index.graded, ids, models, score)
        if unsure:
            images = BitMap.union(*unsure.values())
            self.checked += len(images)
            for image_id, tag_id, model_id, value in self.stored_scores(list(unsure), images):
                if model_id in models and image_id in unsure.get(tag_id, ()) and inside(value, score):
                    found[tag_id].add(image_id)
        return found

    def _field(self, term: FieldTerm, universe: BitMap) -> BitMap:
        field = _field_named(term.field)
        if field.native:
            return field.postings(term, self.index, self.resolver, universe)
        return self.sql_ids(compile_node(term, self.resolver), None)


def _as_set(node: Node) -> bool:
    """Evaluated as a whole set (natively)."""
    return native(node)


def _narrows(node: Node) -> bool:
    """A field term that filters what the other terms of an AND left (``date:``)."""
    return isinstance(node, FieldTerm) and _field_named(node.field).narrows
