"""Compiling a parsed query into SQL (SQLAlchemy Core, bound parameters only)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select

from joytag_desktop.library import dialect
from joytag_desktop.library.dialect import json_ids
from joytag_desktop.library.fields import FIELDS, image_date, in_range
from joytag_desktop.library.query import SORTS, mentions_status
from joytag_desktop.library.resolver import TagResolver, glob_to_like  # noqa: F401 - glob_to_like re-exported
from joytag_desktop.library.schema import USER, Image, ImageTag, Status
from joytag_desktop.library.terms import And, FieldTerm, Node, Not, Or, Range, TagTerm


def _rows_exist(
    build: Callable[[type[ImageTag]], ColumnElement[bool]], correlate_to: SQLColumnExpression | None
) -> ColumnElement[bool]:
    """Image has an image_tags row meeting ``build(table)``.

    Correlated: a primary-key probe (image_id, model_id, tag_id) per image. Otherwise: membership in
    the set of images the rows name (a scan of the table).
    """
    if correlate_to is not None:
        probe = aliased(ImageTag)
        return exists().where(probe.image_id == correlate_to, build(probe))
    return Image.id.in_(select(ImageTag.image_id).where(build(ImageTag)))


def _ids_condition(column: SQLColumnExpression, ids: list[int]) -> ColumnElement[bool]:
    return column.in_(ids) if len(ids) > 1 else column == ids[0]


def _not_removed(table: type[ImageTag]) -> ColumnElement[bool]:
    """The row's tag was not removed by hand on the row's image (a removal overrides every model)."""
    removal = aliased(ImageTag)
    return ~exists().where(
        removal.tag_id == table.tag_id,
        removal.image_id == table.image_id,
        removal.model_id == USER,
        removal.score < 0,
    )


def counting_row(table: type[ImageTag], ids: list[int], resolver: TagResolver) -> ColumnElement[bool]:
    """The row makes one of ``ids`` present: the user's addition, or a searched model's score at
    or above its threshold for the tag, not removed by hand."""
    user = and_(table.model_id == USER, table.score > 0, _ids_condition(table.tag_id, ids))
    models = [
        and_(table.model_id == model_id, _ids_condition(table.tag_id, group), table.score >= threshold)
        for (model_id, threshold), group in resolver.groups(ids).items()
    ]
    return and_(or_(user, *models), _not_removed(table))


def _scored_row(table: type[ImageTag], ids: list[int], score: Range, resolver: TagResolver) -> ColumnElement[bool]:
    """A searched model's score (or the user's 1.0) for one of ``ids`` in ``score``, not removed by hand."""
    models = _ids_condition(table.model_id, [USER, *resolver.models])
    return and_(_ids_condition(table.tag_id, ids), models, in_range(table.score, score), _not_removed(table))


def _tag_clause(term: TagTerm, resolver: TagResolver) -> ColumnElement[bool]:
    ids = resolver.lookup(term.name, term.exact, term.category)
    if not ids:
        kind = "tag pattern" if term.is_wildcard else "tag"
        where = f" in category {term.category}" if term.category else ""
        resolver.warnings.append(f"no {kind} matches {term.name!r}{where}")
        return false() if term.score is None or term.score.low is not None else true()
    if term.score is None:
        return _rows_exist(lambda t: counting_row(t, ids, resolver), resolver.correlate_to)
    score = term.score
    if score.low is None:  # "cat:<0.2": no row at or above the upper bound (a missing row is score 0)
        at_least = Range(score.high, low_strict=not score.high_strict)
        return not_(_rows_exist(lambda t: _scored_row(t, ids, at_least, resolver), resolver.correlate_to))
    return _rows_exist(lambda t: _scored_row(t, ids, score, resolver), resolver.correlate_to)


def in_folder(root_id: int, relative: str) -> ColumnElement[bool]:
    """Images of a root in the folder ``relative`` (as stored: from the root's parent) or below it.

    A range on the (root, folder) index, so no LIKE escaping and no full scan.
    """
    below = relative.rstrip("/") + "/"
    return and_(
        Image.root_id == root_id,
        or_(Image.folder == relative, and_(Image.folder >= below, Image.folder < below + "\U0010ffff")),
    )


def compile_node(node: Node, resolver: TagResolver) -> ColumnElement[bool]:
    if isinstance(node, TagTerm):
        return _tag_clause(node, resolver)
    if isinstance(node, FieldTerm):
        return FIELDS[node.field].condition(node, resolver)
    if isinstance(node, Not):
        return not_(compile_node(node.child, resolver))
    if isinstance(node, And):
        return and_(true(), *(compile_node(child, resolver) for child in node.children))
    if isinstance(node, Or):
        return or_(*(compile_node(child, resolver) for child in node.children))
    raise TypeError(f"unknown query node {node!r}")


def tag_count(resolver: TagResolver) -> ColumnElement[int]:
    """How many tags an image shows (its additions, and the searched models' scores at their
    thresholds, less its removals): the count ``library.tag_totals`` keeps from the posting lists."""
    ids = resolver.lookup("*", False, None)
    if not ids:
        return literal(0)
    counted = aliased(ImageTag)
    return (
        select(func.count(func.distinct(counted.tag_id)))
        .where(counted.image_id == Image.id, counting_row(counted, ids, resolver))
        .scalar_subquery()
    )


def build_select(
    node: Node,
    resolver: TagResolver,
    sort: str = "path",
    score_tag_ids: list[int] | None = None,
    columns: tuple = (Image.id,),
    hits: ColumnElement[bool] | None = None,
) -> Select:
    """SELECT ``columns`` of images matching ``node`` in ``sort`` order; missing files are left out
    unless asked for. ``hits``: the matching images as the search index found them (a condition on
    ``Image.id``), where SQL only orders them.

    Each tag term is a probe of the primary key (image, model, tag) per image: the scores are keyed
    by image (migration 0011), and "which images have tag T" is the search index's question.
    """
    if hits is not None:
        where = hits
    else:
        resolver.correlate_to = Image.id
        try:
            where = compile_node(node, resolver)
        finally:
            resolver.correlate_to = None
        if not mentions_status(node, Status.MISSING):
            where = and_(Image.status != Status.MISSING, where)
    statement = select(*columns).where(where)
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        raise ValueError(f"unknown sort {sort!r}: use one of {', '.join(SORTS)} (prefix - to reverse)")
    if key == "score":
        if score_tag_ids:
            best = (
                select(func.max(ImageTag.score))
                .where(
                    ImageTag.image_id == Image.id,
                    ImageTag.tag_id.in_(score_tag_ids),
                    ImageTag.model_id.in_([USER, *resolver.models]),
                )
                .scalar_subquery()
            )
            order = best.asc() if descending else best.desc()  # best first by default
        else:
            order = Image.path.asc()
        return statement.order_by(order, Image.id)
    if key == "similarity":  # the like: term's order (the images outside it after, by path)
        ranked = resolver.similarity_order
        rank = func.coalesce(dialect.IdRank(json_ids(ranked), Image.id), len(ranked))
        return statement.order_by(rank.desc() if descending else rank.asc(), Image.path, Image.id)
    if key == "camera":  # make, then model, regardless of case; images without a camera last
        unknown = case((and_(Image.camera_make.is_(None), Image.camera_model.is_(None)), 1), else_=0)
        make, model = dialect.SortText(Image.camera_make), dialect.SortText(Image.camera_model)
        parts = [make.desc(), model.desc()] if descending else [make.asc(), model.asc()]
        return statement.order_by(unknown.asc(), *parts, Image.id)
    if key == "tags":
        count = tag_count(resolver)
        return statement.order_by(count.desc() if descending else count.asc(), Image.id)
    if key == "stars":  # never rated counts as 0; ties by folder and name
        stars = func.coalesce(Image.stars, 0)
        return statement.order_by(stars.desc() if descending else stars.asc(), Image.path, Image.id)
    column = {
        "path": Image.path,
        "name": Image.name,
        "date": image_date(),
        "added": Image.id,
        "size": Image.size,
    }[key]
    return statement.order_by(column.desc() if descending else column.asc(), Image.id)
