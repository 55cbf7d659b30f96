"""What the grid shows: the search in force, run off the GUI thread and applied to the grid in place.

The search bar, the folder panel, the tag list and the menus ask for a search; the library answers
on the background pool. A new search shows its first page at once (the posting lists find it in
milliseconds even among a million images) and the rest follows; a refresh (the same search again)
keeps the user's place. An answer that a newer search has overtaken is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import QObject, Signal

from joytag_desktop.gui.context import WindowContext
from joytag_desktop.gui.grid import PATH_ROLE, Row, RowPlan, plan_rows
from joytag_desktop.gui.results import ResultsPanel
from joytag_desktop.gui.safe_view import SafeView
from joytag_desktop.gui.search_bar import like_term
from joytag_desktop.gui.tag_list import TagListPanel
from joytag_desktop.gui.thresholds import ThresholdController
from joytag_desktop.library.query import And, Node, Not, QueryError, field_terms, parse, quote_tag
from joytag_desktop.library.similar import NoTextModel
from joytag_desktop.library.terms import TagTerm

if TYPE_CHECKING:
    from joytag_desktop.worker.on_the_fly import OnTheFly

log = logging.getLogger("joytag_desktop.gui")
# A new search shows this many images first, then the rest of the list follows.
FIRST_PAGE = 600


def _unsaid(key: SearchKey, notes: list[str], warnings: list[str]) -> list[str]:
    """The library's warnings less "no tag matches 'dog'" for each plain word when a note already
    says that no tag matches every word (a sentence of words made one English warning a word)."""
    words = plain_words(parse(key.query)) if notes and key.query else None
    if not words:
        return warnings
    said = {f"no tag matches {word!r}" for word in words}
    return [warning for warning in warnings if warning not in said]


def plain_words(node: Node) -> list[str] | None:
    """The words of a query made only of plain words (``sunset beach``, ``一只猫``): no quotes,
    wildcards, scores, fields or operators; None otherwise (the query language decides)."""
    terms = node.children if isinstance(node, And) else (node,)
    words = []
    for term in terms:
        if not isinstance(term, TagTerm) or term.exact or term.score is not None or term.category is not None:
            return None
        if any(c in term.name for c in "*?"):
            return None
        words.append(term.name)
    return words or None


def words_term(text: str) -> str:
    """``text`` as one ``text:"…"`` term."""
    return 'text:"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class SearchKey:
    """What the grid shows: a new key is a new search; the same key again is a refresh."""

    query: str
    sort: str
    folder: str
    threshold: float
    safe: SafeView = field(default_factory=SafeView)

    def node(self) -> Node:
        """The query as the library runs it: with Safe view hiding, only the images it allows."""
        node = parse(self.query)
        return And((node, self.safe.allowed())) if self.safe.hides else node


@dataclass(frozen=True)
class Answer:
    """A search's answer, planned off the GUI thread as changes to the rows it was planned from."""

    plan: RowPlan
    warnings: list[str]
    veiled: set[int]  # Safe view blurs these
    more: bool  # only the first page: the rest follows
    planned_from: list[Row]
    captions: dict[int, str]  # a like: search's similarity, shown before each name
    hidden: int | None = None  # how many matches Safe view leaves out (None: not counted again)


class SearchController(QObject):
    selection_moved = Signal()  # the new rows moved the selection or the current image: details follow
    veil_changed = Signal()  # which images Safe view blurs may have changed: the viewer follows

    def __init__(
        self,
        context: WindowContext,
        results: ResultsPanel,
        tag_panel: TagListPanel,
        thresholds: ThresholdController,
        on_the_fly: OnTheFly,
    ) -> None:
        super().__init__(context.window)
        self.context, self.library, self.background = context, context.library, context.background
        self.results, self.tag_panel, self.thresholds, self.on_the_fly = results, tag_panel, thresholds, on_the_fly
        self.search_bar, self.grid, self.grid_model = results.search_bar, results.grid, results.grid_model
        self.generation = 0  # each search counts up; an answer for an older one is dropped
        self.last_explicit = True
        self.shown_key: SearchKey | None = None
        self.current_query = ""
        self.folder = ""
        self.safe_view = SafeView()
        self._closing = False
        self.search_bar.search_requested.connect(self.run)
        self.search_bar.image_dropped.connect(self.more_like_this)
        tag_panel.add_tag.connect(self.add_tag)
        tag_panel.exclude_tag.connect(self.exclude_tag)
        tag_panel.search_tag.connect(self.search_for_tag)

    # --- asking ------------------------------------------------------------------------------------

    def search_for(self, query: str) -> None:
        self.search_bar.set_query(query)
        self.run(explicit=True)

    def search_for_tag(self, tag: str) -> None:
        self.search_for(quote_tag(tag))

    def add_tag(self, tag: str) -> None:
        self._add_to_search(quote_tag(tag))

    def exclude_tag(self, tag: str) -> None:
        self._add_to_search("-" + quote_tag(tag))

    def _add_to_search(self, term: str) -> None:
        text = self.search_bar.query()
        self.search_for(f"{text} {term}".strip())

    def more_like_this(self, path: str) -> None:
        """Images like ``path`` (of the library, or a file dropped from elsewhere), most alike first."""
        self.search_bar.set_sort("similarity")
        self.search_for(like_term(path))

    def more_like_current(self) -> None:
        index = self.grid.currentIndex()
        if index.isValid():
            self.more_like_this(index.data(PATH_ROLE))

    def show_folder(self, folder: str) -> None:
        self.folder = folder
        self.run(explicit=True)

    def set_safe_view(self, state: SafeView) -> None:
        self.safe_view = state

    def refresh(self) -> None:
        """Search again the way the last search was asked: a half-typed word stays a half-typed word."""
        self.run(explicit=self.last_explicit)

    def close(self) -> None:
        """The window closes: answers still on their way are dropped."""
        self._closing = True

    def key(self) -> SearchKey:
        safe = self.safe_view if self.safe_view.enabled else SafeView()
        return SearchKey(self.search_bar.query(), self.search_bar.sort(), self.folder, self.thresholds.value, safe)

    # --- searching ---------------------------------------------------------------------------------

    def run(self, explicit: bool = True) -> None:
        """Search (or refresh) off the GUI thread; the grid is updated in place.

        ``explicit``: the user asked (Return, a click); otherwise it is the pause after typing, and
        a half-typed word that matches nothing leaves the grid as it is.
        """
        self.search_bar.timer.stop()
        self.last_explicit = explicit
        key = self.key()
        self.generation += 1
        # A new search (not a refresh, which must keep the place) shows its first page at once.
        first_page = key != self.shown_key and not key.safe.blurs
        limit = FIRST_PAGE if first_page else None
        self.background.submit(
            partial(self._search, key, self.grid_model.rows, limit, explicit),
            partial(self._found, key, explicit, self.generation),
            partial(self._failed, key, self.generation),
        )

    def _search(self, key: SearchKey, old_rows: list[Row], limit: int | None, explicit: bool = True) -> Answer:
        """In the background. The library's rules (its saved threshold, each model's category
        thresholds) decide; key.threshold only tells that a slider change needs a new search."""
        node, sort, notes = self._in_words(key, explicit)
        rows, warnings = self.library.search_rows(node, sort=sort, folder=key.folder, limit=limit)
        warnings = notes + _unsaid(key, notes, warnings)
        veiled: set[int] = set()
        if key.safe.blurs and rows:
            above, _ = self.library.search_rows(And((node, Not(key.safe.allowed()))), folder=key.folder)
            veiled = {row[0] for row in above}
        more = limit is not None and len(rows) == limit
        hidden = self._hidden_by_safe_view(key)
        return Answer(
            plan_rows(old_rows, cast(list[Row], rows)), warnings, veiled, more, old_rows, self._captions(node), hidden
        )

    def _in_words(self, key: SearchKey, explicit: bool) -> tuple[Node, str, list[str]]:
        """In the background: the query to run, its sort and a note. Plain words of which one is
        no tag (``sunset over the sea``) search in words when Return was pressed and the library
        has a text model (SigLIP2); a text: search ranks nearest first unless another order was
        chosen. Tag searches stay as they are."""
        node, sort = key.node(), key.sort
        words = plain_words(parse(key.query)) if explicit and key.query else None
        if words is not None and not all(self.library.tags.lookup(word, False) for word in words):
            try:
                self.library.similarity.text_model()
            except NoTextModel:
                note = self.tr("no tag matches every word; to search in words, add SigLIP2 in Tagging ▸ Models…")
                return node, sort, [note]
            query = words_term(" ".join(words))
            node = And((parse(query), key.safe.allowed())) if key.safe.hides else parse(query)
            return node, "similarity" if sort == "path" else sort, [self.tr("searched in words, nearest first")]
        if sort == "path" and field_terms(node, "text"):
            sort = "similarity"
        return node, sort, []

    def _hidden_by_safe_view(self, key: SearchKey) -> int:
        """In the background: the matches Safe view leaves out, so the window can say so."""
        if not key.safe.hides:
            return 0
        return self.library.count(And((parse(key.query), Not(key.safe.allowed()))), folder=key.folder or None)

    def _rest(self, key: SearchKey, shown: list[Row], explicit: bool = True) -> Answer:
        """In the background: the whole list after the first page, planned as rows added to it."""
        node, sort, notes = self._in_words(key, explicit)
        rows, warnings = self.library.search_rows(node, sort=sort, folder=key.folder)
        warnings = notes + _unsaid(key, notes, warnings)
        return Answer(plan_rows(shown, cast(list[Row], rows)), warnings, set(), False, shown, self._captions(node))

    def _captions(self, node: Node) -> dict[int, str]:
        """A like: search shows each image's similarity before its name."""
        found = self.library.like_similarities(node)
        return {image_id: f"{value:.2f}" for image_id, value in found.items()}

    def _found(self, key: SearchKey, explicit: bool, generation: int, answer: Answer) -> None:
        if generation != self.generation or self._closing:
            return  # a newer search is on its way
        self.grid_model.set_veiled(answer.veiled)
        self.grid_model.set_captions(answer.captions)
        if answer.hidden is not None:
            self.results.safe_notice.show_hidden(answer.hidden)
        self.veil_changed.emit()
        plan = answer.plan
        if not explicit and not plan.rows and self.search_bar.word_in_progress():
            self.results.show_no_match_yet(self.search_bar.query().split(" ")[-1])
            return
        if self.grid_model.rows is not answer.planned_from:
            plan = plan_rows(self.grid_model.rows, plan.rows)
        self.show_rows(key, plan)
        if answer.more:
            self.background.submit(
                partial(self._rest, key, self.grid_model.rows, explicit),
                partial(self._found, key, explicit, generation),
                partial(self._failed, key, generation),
            )
            return
        self.results.show_count(len(plan.rows), answer.warnings)
        self.load_tag_list(key, len(plan.rows))
        self._say_outside_tags(key)

    def _failed(self, key: SearchKey, generation: int, exc: Exception) -> None:
        if generation != self.generation:
            return
        if isinstance(exc, QueryError):
            self.results.show_query_error(exc.message, exc.position, key.query)
        elif isinstance(exc, NoTextModel):
            self.results.show_search_problem(
                self.tr("No text model is installed: add SigLIP2 in Tagging ▸ Models… to search in words")
            )
        else:
            self.context.show_error(exc)

    def show_rows(self, key: SearchKey, plan: RowPlan) -> None:
        """Apply a search plan; the same search again keeps the place (see ResultsPanel.show_rows)."""
        refresh = self.shown_key is not None and key == self.shown_key
        selection_moved = self.results.show_rows(plan, refresh)
        self.shown_key = key
        self.current_query = key.query
        if selection_moved:
            self.selection_moved.emit()

    def _say_outside_tags(self, key: SearchKey) -> None:
        """After a search by a file from outside the library, what the model saw in it."""
        for term in field_terms(key.node(), "like"):
            tags = self.on_the_fly.tags.get(Path(term.text or ""))
            if tags:
                names = ", ".join(name for name, _ in tags[:12])
                self.context.status_bar.showMessage(
                    self.tr("{name} is not in the library; the model tagged it: {tags}").format(
                        name=Path(term.text or "").name, tags=names
                    )
                )

    # --- the tag list ------------------------------------------------------------------------------

    def load_tag_list(self, key: SearchKey | None = None, results: int | None = None) -> None:
        """Count the tags of what the grid shows (in the background) into the tag list."""
        key = key or self.shown_key or self.key()
        count = len(self.grid_model.rows) if results is None else results
        self.background.submit(partial(self._count_tags, key), partial(self._show_tags, key, count), self._tags_failed)

    def _count_tags(self, key: SearchKey) -> tuple[list[tuple[str, int]], dict[str, str]]:
        if not key.query and not key.folder and not key.safe.hides:
            rows = self.library.tag_counts(limit=2000)  # from the histogram: instant
        else:
            node = self._in_words(key, self.last_explicit)[0]  # a search in words counts its own images
            rows = self.library.result_tag_counts(node, folder=key.folder or None)
        return rows, self.library.tag_categories(name for name, _ in rows)

    def _show_tags(self, key: SearchKey, count: int, result: tuple[list[tuple[str, int]], dict[str, str]]) -> None:
        if key == (self.shown_key or key):
            self.tag_panel.set_counts(result[0], count, result[1])

    @staticmethod
    def _tags_failed(exc: Exception) -> None:
        log.warning("tag counts: %s", exc)
