"""Counting: tags with their image counts (the tag list, autocomplete, a search's tags, a
selection's tags), folders with theirs, images per status, and the histogram behind them."""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Callable, Collection, Sequence

from sqlalchemy import (
    ColumnElement,
    Integer,
    SQLColumnExpression,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from joytag_desktop.library import dialect, mounts, score_rows
from joytag_desktop.library.database import Database
from joytag_desktop.library.query import Node, parse
from joytag_desktop.library.records import SelectionTag
from joytag_desktop.library.schema import (
    USER,
    Image,
    ImageTag,
    ModelTagThreshold,
    Root,
    Source,
    Status,
    Tag,
    TagHistogram,
    TagHistogramChange,
    TagThreshold,
)
from joytag_desktop.library.search import TagResolver, compile_node, counting_row
from joytag_desktop.library.search_index import SearchIndex
from joytag_desktop.library.searching import Searching
from joytag_desktop.library.settings import Settings
from joytag_desktop.library.taggers import LibraryTaggers
from joytag_desktop.library.tags import Tags
from joytag_desktop.library.thresholds import ThresholdRules, check_threshold

BIG_SELECTION = 5_000  # images: above this the posting lists count a selection's tags


class Counts:
    """Tag, folder and status counts, cached while the database does not change."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        tags: Tags,
        taggers: LibraryTaggers,
        searching: Searching,
        search_index: SearchIndex,
    ) -> None:
        self.database = database
        self.settings = settings
        self.tags = tags
        self.taggers = taggers
        self.searching = searching
        self.search_index = search_index
        self._completion_cache: tuple[tuple[int, float], list[str], list[int]] | None = None
        self._last_version: int | None = None
        self._names_cache: tuple[tuple, list[str], list[int]] | None = None

    def count_by_status(self) -> dict[str, int]:
        with self.database.Session() as session:
            rows = session.execute(select(Image.status, func.count()).group_by(Image.status)).all()
            return {status: 0 for status in Status.ALL} | dict(rows)

    def has_pending(self) -> bool:
        """Whether any image waits for tagging: one probe of the status index (the worker asks
        every few seconds; counting by status walks the whole library)."""
        with self.database.engine.connect() as connection:
            return bool(connection.execute(select(exists().where(Image.status == Status.PENDING))).scalar())

    def autocomplete(
        self, prefix: str, limit: int | None = 15, threshold: float | None = None
    ) -> list[tuple[str, int]]:
        """Tags starting with ``prefix`` and how many images have them at the threshold, most used first
        (``limit`` of them; None: all).

        Counts for the whole vocabulary are cached until the database changes, so typing stays
        instant; while the data is changing (tagging in progress) each call asks the histogram.
        """
        base = self.settings.threshold if threshold is None else check_threshold(threshold)
        prefix = prefix.lstrip("-")
        indexed = self._indexed_totals(threshold)
        if indexed is not None:
            names, counts = indexed[0], indexed[1]
            start = bisect.bisect_left(names, prefix)
            end = bisect.bisect_left(names, prefix + "\U0010ffff", lo=start)
            matches = sorted(range(start, end), key=lambda i: (-counts[i], names[i]))[:limit]
            return [(names[i], counts[i]) for i in matches]
        version = self.database.data_version()
        cached = self._completion_cache
        if version is not None and cached is not None and cached[0] == (version, base):
            names, counts = cached[1], cached[2]
            start = bisect.bisect_left(names, prefix)
            end = bisect.bisect_left(names, prefix + "\U0010ffff", lo=start)
            matches = sorted(range(start, end), key=lambda i: (-counts[i], names[i]))[:limit]
            return [(names[i], counts[i]) for i in matches]
        if version is not None and self._last_version == version:
            totals = dict(self.histogram_totals(threshold, ""))
            with self.database.Session() as session:
                names = list(session.scalars(select(Tag.name).order_by(Tag.name)))
            self._completion_cache = ((version, base), names, [totals.get(n, 0) for n in names])
            return self.autocomplete(prefix, limit, threshold)
        self._last_version = version
        return self.histogram_totals(threshold, prefix, limit, include_unused=True)

    def _indexed_totals(self, threshold: float | None) -> tuple[list[str], list[int]] | None:
        """Every tag name (sorted) and its exact count from the posting lists; None where SQL
        answers. The names come from the query context (read once per commit)."""
        context = self.searching.query_context()
        resolver = self.searching.resolver(None, threshold)
        rules, searched = resolver.rules, resolver.models
        with self.search_index.acquire(rules) as index:
            if index is None:
                return None
            totals = self.search_index.tag_totals(index, searched)
            # The context and totals objects themselves (not their ids): a new one means new names or counts.
            key = (context, totals, index.stamp, tuple(searched), json.dumps(rules.key()))
            cached = self._names_cache
            if cached is not None and cached[0][0] is context and cached[0][1] is totals and cached[0][2:] == key[2:]:
                return cached[1], cached[2]
            names = [name for _, name in context.tag_names]
            merged = self._related_totals(totals, lambda ids: self._indexed_count(index, ids, searched))
            counts = [merged.get(tag_id, totals.get(tag_id, 0)) for tag_id, _ in context.tag_names]
            self._names_cache = (key, names, counts)
            return names, counts

    def _related_totals(self, totals: dict[int, int], count: Callable[[list[int]], int]) -> dict[int, int]:
        """Counts of the tags that aliases or implications join (an alias counts as its target;
        a parent counts every image of its children), each counted once per image."""
        vocabulary = self.searching.vocabulary
        relations = vocabulary.relations() if vocabulary is not None else None
        if vocabulary is None or relations is None or relations.empty:
            return {}
        involved = set(relations.aliases) | set(relations.aliases.values()) | set(relations.parents)
        involved |= {p for parents in relations.parents.values() for p in parents}
        found: dict[int, int] = {}
        for target in {relations.canonical(t) for t in involved}:
            members = vocabulary.expand([target])
            found[target] = count(members) if any(totals.get(m, 0) for m in members) else 0
        for alias, target in relations.aliases.items():
            found[alias] = found.get(target, 0)
        return found

    @staticmethod
    def _indexed_count(index, ids: list[int], models: Sequence[int]) -> int:
        present = index.present(ids, models)
        return len(present) - present.intersection_cardinality(index.missing) if present else 0

    def histogram_totals(
        self, threshold: float | None, prefix: str, limit: int | None = None, include_unused: bool = False
    ) -> list[tuple[str, int]]:
        """Tag counts from the histogram: the largest count among the searched models at their
        thresholds, plus the user's additions, less the user's removals. Exact with one model and
        no hand edits of model tags; an estimate otherwise (an image two models both tag counts once
        in the larger count only)."""
        rules = self.settings.threshold_rules(threshold)
        searched = [m.id for m in self.taggers.models() if m.searched]
        histogram = score_rows.histogram_rows().c  # the histogram and its changes not yet folded
        limit_bucket = func.cast(
            func.round(self._threshold_sql(rules, histogram.model_id, histogram.tag_id) * 100), Integer
        )
        statement = (
            select(histogram.tag_id, histogram.model_id, func.sum(histogram.count))
            .join(Tag, Tag.id == histogram.tag_id)
            .join(TagThreshold, TagThreshold.tag_id == histogram.tag_id, isouter=True)
            .where(
                histogram.model_id.in_([USER, *searched]),
                histogram.count != 0,
                histogram.bucket >= case((histogram.model_id == USER, 0), else_=limit_bucket),
            )
            .group_by(histogram.tag_id, histogram.model_id, Tag.id, TagThreshold.tag_id)
        )
        with self.database.engine.connect() as connection:
            rows = connection.execute(statement).all()
            names = dict(connection.execute(select(Tag.id, Tag.name)).all())
        per_model: dict[tuple[int, int], int] = {}
        user: dict[int, int] = {}
        for tag_id, model_id, count in rows:
            if model_id == USER:
                user[tag_id] = int(count)
            else:
                per_model[tag_id, model_id] = int(count)
        best: dict[int, int] = dict(user)
        for (tag_id, _model), count in per_model.items():
            best[tag_id] = max(best.get(tag_id, 0), count + user.get(tag_id, 0))
        removals = self._removal_counts()
        by_id = {t: max(0, n - removals.get(t, 0)) for t, n in best.items()}
        by_id |= self._related_totals(by_id, lambda ids: self._sql_count(ids, threshold))
        totals = {names[t]: n for t, n in by_id.items() if t in names}
        if include_unused:
            for name in names.values():
                totals.setdefault(name, 0)
        found = [(n, c) for n, c in totals.items() if (c > 0 or include_unused) and n.startswith(prefix)]
        found.sort(key=lambda item: (-item[1], item[0]))
        return found[:limit] if limit else found

    def _sql_count(self, ids: list[int], threshold: float | None) -> int:
        """Images (not missing) where any of ``ids`` is present, by SQL."""
        resolver = self.searching.resolver(None, threshold)
        statement = select(func.count(func.distinct(ImageTag.image_id))).select_from(ImageTag)
        statement = statement.join(Image, Image.id == ImageTag.image_id).where(
            counting_row(ImageTag, ids, resolver), Image.status != Status.MISSING
        )
        with self.database.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    @staticmethod
    def _threshold_sql(
        rules: ThresholdRules, model_column: SQLColumnExpression, tag_column: SQLColumnExpression
    ) -> ColumnElement:
        """The threshold rules as SQL over a row's model and its tag (needs ``tags`` and a left join
        of ``tag_thresholds``): tag override, one-off threshold, model's category, model's own
        threshold for the tag (a primary-key probe, only where a model has them), library's."""
        per_model = [
            (and_(model_column == model_id, Tag.category == category), value)
            for model_id, table in rules.per_model.items()
            for category, value in table.items()
        ]
        steps: list[ColumnElement] = [case(*per_model)] if per_model else []
        if rules.per_model_tag:
            own = select(ModelTagThreshold.threshold).where(
                ModelTagThreshold.model_id == model_column, ModelTagThreshold.tag_id == tag_column
            )
            steps.append(own.scalar_subquery())
        fallback = func.coalesce(*steps, rules.base) if steps else literal(rules.base)
        if rules.override is not None:
            fallback = literal(rules.override)
        return func.coalesce(TagThreshold.threshold, fallback)

    def _removal_counts(self) -> dict[int, int]:
        """Per tag, present images where the user removed it by hand."""
        with self.database.engine.connect() as connection:
            return dict(
                connection.execute(
                    select(ImageTag.tag_id, func.count())
                    .join(Image, Image.id == ImageTag.image_id)
                    # a literal 0, so SQLite can use the partial index of the user's rows
                    .where(ImageTag.model_id == literal_column("0"), ImageTag.score < 0, Image.status != Status.MISSING)
                    .group_by(ImageTag.tag_id)
                ).all()
            )

    def tag_counts(
        self,
        threshold: float | None = None,
        contains: str = "",
        limit: int | None = None,
        categories: Collection[str] | None = None,
    ) -> list[tuple[str, int]]:
        """Every tag in use with its image count at the threshold (for the GUI's tag list), optionally
        only the tags of some categories (``tags list --category character``)."""
        vocabulary = self.searching.vocabulary
        aliases = vocabulary is not None and bool(vocabulary.relations().aliases)
        filtered = bool(contains) or bool(categories) or aliases  # aliases: cut after they are left out
        indexed = self._indexed_totals(threshold)
        if indexed is not None:
            rows = sorted(((n, c) for n, c in zip(indexed[0], indexed[1], strict=True) if c > 0),
                          key=lambda item: (-item[1], item[0]))  # fmt: skip
            if not filtered and limit is not None:
                rows = rows[:limit]
        else:
            rows = self.histogram_totals(threshold, "", None if filtered else limit)
        if aliases and vocabulary is not None:
            shown_elsewhere = {alias for alias, _ in vocabulary.aliases()}  # counted as their target
            rows = [row for row in rows if row[0] not in shown_elsewhere]
        if contains:
            needle = contains.lower()
            rows = [row for row in rows if needle in row[0].lower()]
        if categories:
            wanted = set(categories)
            of = self.tags.tag_categories(name for name, _ in rows)
            rows = [row for row in rows if of.get(row[0], "general") in wanted]
        return rows[:limit] if filtered else rows

    def _counting(self, resolver: TagResolver) -> ColumnElement[bool]:
        """SQL: an ``image_tags`` row makes its tag present (needs ``tags`` and ``tag_thresholds`` joined)."""
        removal = aliased(ImageTag)
        not_removed = ~exists().where(
            removal.tag_id == ImageTag.tag_id,
            removal.image_id == ImageTag.image_id,
            removal.model_id == USER,
            removal.score < 0,
        )
        threshold = self._threshold_sql(resolver.rules, ImageTag.model_id, ImageTag.tag_id)
        by_model = and_(ImageTag.model_id.in_(resolver.models), ImageTag.score >= threshold)
        return and_(or_(and_(ImageTag.model_id == USER, ImageTag.score > 0), by_model), not_removed)

    def result_tag_counts(
        self, query: str | Node, threshold: float | None = None, folder: str | None = None, limit: int = 2000
    ) -> list[tuple[str, int]]:
        """Tags of the images a search finds, with how many of them have each (like Hydrus' tag list)."""
        node, resolver = self.searching.compile(query, threshold)
        with self.search_index.acquire(resolver.rules) as index:
            if index is not None:
                extra = self.searching.folder_condition(folder) if folder else None
                hits = self.searching.evaluator(index, resolver).matches(node, extra)
                from joytag_desktop.library.search_index import result_counts

                counts = result_counts(index, hits, resolver.models)
                related = self._related_totals(counts, lambda ids: len(hits & index.present(ids, resolver.models)))
                counts = {t: n for t, n in (counts | related).items() if n}
            else:
                counts = None
        aliases = self.searching.vocabulary.relations().aliases if self.searching.vocabulary is not None else {}
        if counts is not None:
            counts = {t: n for t, n in counts.items() if t not in aliases}  # counted as their targets
            names = dict(self.searching.query_context().tag_names)
            rows = sorted(((names[t], c) for t, c in counts.items() if t in names), key=lambda r: (-r[1], r[0]))
            return rows[:limit]
        statement, _ = self.searching.statement(query, threshold, "added", None, 0, (Image.id,), folder)
        found = statement.order_by(None).subquery()
        node = parse(query) if isinstance(query, str) else query
        resolver = self.searching.resolver(node, threshold)
        total = func.count(func.distinct(ImageTag.image_id)).label("n")
        counted = (
            select(Tag.name, total)
            .select_from(ImageTag)
            .join(found, found.c.id == ImageTag.image_id)
            .join(Tag, Tag.id == ImageTag.tag_id)
            .join(TagThreshold, TagThreshold.tag_id == ImageTag.tag_id, isouter=True)
            .where(self._counting(resolver))
            .group_by(ImageTag.tag_id, Tag.id, TagThreshold.tag_id)
            .order_by(total.desc(), Tag.name)
            .limit(limit)
        )
        with self.database.engine.connect() as connection:
            rows = [(row.name, int(row.n)) for row in connection.execute(counted)]
        return self._shown_as_targets(rows) if aliases else rows

    def _shown_as_targets(self, rows: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """SQL's per-name counts with each alias folded into its target (the larger count: a
        lower bound where both names sit on different images; the posting lists count exactly)."""
        vocabulary = self.searching.vocabulary
        assert vocabulary is not None
        target_of = dict(vocabulary.aliases())
        merged: dict[str, int] = {}
        for name, count in rows:
            shown = target_of.get(name, name)
            merged[shown] = max(merged.get(shown, 0), count)
        return sorted(merged.items(), key=lambda r: (-r[1], r[0]))

    def folder_counts(self, only: str | Node | None = None) -> list[tuple[str, int]]:
        """Every folder holding images (missing ones left out), as an absolute path, and how many
        images it holds directly; with ``only`` (a query, e.g. what Safe view lets through), only
        the images it matches count."""
        statement = (
            select(Root.path, Image.folder, func.count())
            .join(Root, Root.id == Image.root_id)
            .where(Image.status != Status.MISSING)
            .group_by(Image.root_id, Root.path, Image.folder)
        )
        if only is not None:
            node, resolver = self.searching.compile(only, None)
            statement = statement.where(compile_node(node, resolver))
        with self.database.engine.connect() as connection:
            rows = connection.execute(statement).all()
        local = mounts.of(self.database.engine.dialect)
        return sorted((mounts.directory_of(local, root, folder), int(count)) for root, folder, count in rows)

    def selection_tags(self, image_ids: Sequence[int], threshold: float | None = None) -> list[SelectionTag]:
        """The union of the tags of ``image_ids``, with how many of them have each, most shared first.

        Counted by SQLite per chunk of ids (a 100,000-image selection never becomes millions of
        Python rows), under the threshold rules of every searched model.
        """
        resolver = self.searching.resolver(None, threshold)
        ids = list(dict.fromkeys(image_ids))
        if len(ids) > BIG_SELECTION:
            counted = self._big_selection_tags(ids, resolver)
            if counted is not None:
                return counted
        limit = self._threshold_sql(resolver.rules, ImageTag.model_id, ImageTag.tag_id)
        found: dict[str, SelectionTag] = {}
        with self.database.engine.connect() as connection:
            for start in range(0, len(ids), 20_000):
                statement = (
                    select(
                        Tag.name,
                        func.count(func.distinct(ImageTag.image_id)),
                        func.max(ImageTag.score),
                        func.sum(case((ImageTag.source == Source.MANUAL, 1), else_=0)),
                        func.min(limit),
                        TagThreshold.threshold.is_not(None),
                        Tag.category,
                    )
                    .select_from(ImageTag)
                    .join(Tag, Tag.id == ImageTag.tag_id)
                    .join(TagThreshold, TagThreshold.tag_id == ImageTag.tag_id, isouter=True)
                    .where(ImageTag.image_id.in_(ids[start : start + 20_000]), self._counting(resolver))
                    .group_by(ImageTag.tag_id, Tag.id, TagThreshold.tag_id)
                )
                for name, count, best, manual, threshold_in_force, overridden, category in connection.execute(
                    statement
                ):
                    entry = found.setdefault(
                        name, SelectionTag(name, 0, 0.0, 0, threshold_in_force, overridden, category)
                    )
                    entry.count += count
                    entry.best_score = max(entry.best_score, best)
                    entry.manual += manual
        return sorted(found.values(), key=lambda e: (-e.count, -e.best_score, e.name))

    def _big_selection_tags(self, ids: list[int], resolver: TagResolver) -> list[SelectionTag] | None:
        """A big selection's tags from the posting lists (None: no index yet): how many images have
        each and how many by hand, exact, in a fraction of a second at 100,000 images. The best
        score is not read (NaN): that would mean every score row of every selected image, minutes
        at that size, for a bar no one compares across 100,000 images."""
        from joytag_desktop.library.postings import bitmap
        from joytag_desktop.library.search_index import result_counts

        rules = resolver.rules
        with self.search_index.acquire(rules) as index:
            if index is None:
                return None
            selected = bitmap(ids)
            counts = result_counts(index, selected, resolver.models)
            names = dict(self.searching.query_context().tag_names)
            found = []
            for tag_id, count in counts.items():
                if tag_id not in names:
                    continue
                category = index.categories.get(tag_id, "general")
                limits = [index.threshold(m, tag_id) for m in resolver.models if (m, tag_id) in index.scores]
                added = index.added.get(tag_id)
                manual = selected.intersection_cardinality(added) if added is not None else 0
                if manual:
                    limits.append(rules.threshold(USER, tag_id, category))
                limit = min(limits) if limits else rules.threshold(USER, tag_id, category)
                found.append(
                    SelectionTag(names[tag_id], count, math.nan, manual, limit, rules.overridden(tag_id), category)
                )
        return sorted(found, key=lambda e: (-e.count, e.name))

    def rebuild_histogram(self) -> None:
        """Recompute the tag histogram from scratch (after bulk loads or to repair)."""
        with self.database.engine.begin() as connection:
            # PostgreSQL: no batch may log changes between the deletes and the recount (counted twice).
            dialect.serialize(connection, dialect.CHANGE_LOG_LOCK)
            connection.execute(delete(TagHistogram))
            connection.execute(delete(TagHistogramChange))
            bucket = dialect.HistogramBucket(ImageTag.score)
            counted = (
                select(ImageTag.tag_id, ImageTag.model_id, bucket.label("bucket"), func.count().label("count"))
                .join(Image, Image.id == ImageTag.image_id)
                .where(ImageTag.score >= 0, Image.status != Status.MISSING)
                .group_by(ImageTag.tag_id, ImageTag.model_id, bucket)
            )
            connection.execute(insert(TagHistogram).from_select(["tag_id", "model_id", "bucket", "count"], counted))
