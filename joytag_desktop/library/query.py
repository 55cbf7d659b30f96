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
    text:"a dog on a beach", text:一只猫  the images a text model (SigLIP2) finds nearest to the words;
                                        sort "similarity" puts the nearest first
    rating:general, rating:<=sensitive  the image's rating (general < sensitive < questionable < explicit);
                       rating:none: not rated (no rating model has tagged it and none set by hand)
    stars:4, stars:>=3, stars:-1        the user's stars (-1: rejected; never rated counts as 0);
                                        sort "stars" (``-stars``: most stars first)
    label:red, label:none               colour label (red orange yellow green blue purple gray black white)
    pick:picked, pick:rejected          pick flag (picked, rejected, pending, none)

Bare words may contain punctuation (``:d``, ``^_^``, ``saber_(fate)``): parentheses are
grouping only where they cannot belong to a word, and a ``field:`` prefix only counts for
the known field names (``library.fields``, which also reads each field's value). ``quote_tag``
renders any tag so that it parses back to itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from joytag_desktop.library.terms import And, FieldTerm, Node, Not, Or, QueryError, TagTerm, parse_range

# Orders a search can be sorted in ("-date": newest first).
SORTS = ("path", "name", "date", "added", "size", "score", "similarity", "camera", "tags", "stars")


def _fields():
    """``library.fields``, imported at the first ``field:`` term: it brings SQLAlchemy, which the
    command line does not load before it runs a command."""
    from joytag_desktop.library import fields

    return fields


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


_LOOKS_LIKE_SCORE = re.compile(r"^(?:[<>=]|-?\.?[0-9])")
_SCORE_QUALIFIER = re.compile(r"^(>=|<=|>|<|=)?\s*[0-9]*\.?[0-9]+$|^[0-9]*\.?[0-9]*\.\.[0-9]*\.?[0-9]*$")


def _term(word: _Word, query: str) -> Node:
    segments = word.segments
    first_text, first_quoted = segments[0]
    position = word.position
    # field:value — the field name must be bare and known.
    if not first_quoted and ":" in first_text:
        name, _, rest = first_text.partition(":")
        fields = _fields()
        known = fields.FIELDS.get(name.lower()) if name else None
        if known is not None:
            value = rest + "".join(text for text, _ in segments[1:])
            where = position + len(name) + 1
            return known.parse(fields.FieldValue(name.lower(), value, query, where, _bare_term))
    # "exact tag" optionally followed by :qualifier
    if first_quoted:
        tail = "".join(text for text, _ in segments[1:])
        if not tail:
            return TagTerm(first_text, exact=True, position=position)
        if tail.startswith(":") and _SCORE_QUALIFIER.match(tail[1:]):
            return TagTerm(
                first_text, exact=True, score=parse_range(tail[1:], query, position, "score"), position=position
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
        return TagTerm(name, score=parse_range(qualifier, query, where, "score"), position=position)
    return TagTerm(text, position=position)


def _bare_term(text: str, query: str, position: int) -> Node:
    """A word without quotes, read as the grammar reads it (a category prefix reads its value so)."""
    return _term(_Word([(text, False)], position), query)


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
    bare_candidate = _BARE_SAFE.match(tag) and not tag.startswith(("-", "(")) and tag.lower() not in _fields().FIELDS
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
