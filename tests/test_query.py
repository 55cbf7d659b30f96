"""The query language parser: every form, clear errors with positions, every tag quotable."""

from __future__ import annotations

from datetime import datetime

import pytest

from helpers.fixture_files import FORMAT_DIR
from joytag_desktop.library.query import parse, quote_tag
from joytag_desktop.library.terms import And, FieldTerm, Not, Or, QueryError, Range, TagTerm


def tag(name: str, **kw) -> TagTerm:
    return TagTerm(name, **kw)


def strip_positions(node):
    if isinstance(node, TagTerm):
        return TagTerm(node.name, node.exact, node.score)
    if isinstance(node, FieldTerm):
        return FieldTerm(node.field, node.text, node.range)
    if isinstance(node, Not):
        return Not(strip_positions(node.child))
    return type(node)(tuple(strip_positions(c) for c in node.children))


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", And(())),
        ("cat", tag("cat")),
        ("cat outdoors", And((tag("cat"), tag("outdoors")))),
        ("cat -indoors", And((tag("cat"), Not(tag("indoors"))))),
        ("cat | dog", Or((tag("cat"), tag("dog")))),
        ("cat|dog", Or((tag("cat"), tag("dog")))),
        ("a b | c", Or((And((tag("a"), tag("b"))), tag("c")))),
        (
            "(cat | dog) -(indoors | night)",
            And((Or((tag("cat"), tag("dog"))), Not(Or((tag("indoors"), tag("night")))))),
        ),
        ("*_hair", tag("*_hair")),
        ("cat:>0.8", tag("cat", score=Range(0.8, low_strict=True))),
        ("cat:>=0.5", tag("cat", score=Range(0.5))),
        ("cat:<0.2", tag("cat", score=Range(None, 0.2, high_strict=True))),
        ("cat:0.5..0.9", tag("cat", score=Range(0.5, 0.9))),
        ("saber_(fate)", tag("saber_(fate)")),
        ("(saber_(fate) | :d)", Or((tag("saber_(fate)"), tag(":d")))),
        (":d ^_^ photoshop_(medium)", And((tag(":d"), tag("^_^"), tag("photoshop_(medium)")))),
        ("re:zero_kara_hajimeru_isekai_seikatsu", tag("re:zero_kara_hajimeru_isekai_seikatsu")),
        ('"saber_(fate)":>0.5', tag("saber_(fate)", exact=True, score=Range(0.5, low_strict=True))),
        ('"-_-"', tag("-_-", exact=True)),
        ('"a \\"b\\""', tag('a "b"', exact=True)),
        ("tag:camera", tag("camera", exact=True)),
        ("camera:canon", FieldTerm("camera", "canon")),
        ('folder:"my holidays"', FieldTerm("folder", "my holidays")),
        ("width:>2000", FieldTerm("width", range=Range(2000, low_strict=True))),
        ("height:100..200", FieldTerm("height", range=Range(100, 200))),
        ("size:<2mb", FieldTerm("size", range=Range(None, 2 * 1024**2, high_strict=True))),
        (
            "date:2023-01..2023-06",
            FieldTerm("date", range=Range(datetime(2023, 1, 1), datetime(2023, 7, 1), high_strict=True)),
        ),
        ("date:2023", FieldTerm("date", range=Range(datetime(2023, 1, 1), datetime(2024, 1, 1), high_strict=True))),
        ("date:>2023-05-31", FieldTerm("date", range=Range(datetime(2023, 6, 1)))),
        ("source:manual", FieldTerm("source", "manual")),
        ("status:ERROR", FieldTerm("status", "error")),
        ("ext:.PNG", FieldTerm("ext", "png")),
    ],
)
def test_query_forms(query: str, expected) -> None:
    assert strip_positions(parse(query)) == expected


@pytest.mark.parametrize(
    "query,message,position",
    [
        ("cat (dog", "'(' is never closed", 4),
        ("cat )", "unmatched ')'", 4),
        ("| cat", "'|' needs a term on its left", 0),
        ("cat |", "'|' needs a term on its right", 4),
        ('cat "dog', "unterminated quote", 4),
        ("width:>abc", "not a number", 6),
        ("status:done", "not one of", 7),
        ("source:robot", "not one of", 7),
        ("date:2023-13", "not a date", 5),
        ("cat - dog", "'-' needs a term", 4),
        ("()", "empty parentheses", 0),
        ("size:lots", "not a size", 5),
        ('rating:"gen\neral"', "not one of", 7),  # a line break inside a quoted value
    ],
)
def test_parse_errors_point_at_the_problem(query: str, message: str, position: int) -> None:
    with pytest.raises(QueryError) as error:
        parse(query)
    assert message in error.value.message
    assert error.value.position == position
    caret_line = error.value.pointer().splitlines()[1]
    assert caret_line.index("^") == position


TRICKY = [
    ":d",
    ":o",
    ";d",
    "^_^",
    ">_<",
    "-_-",
    "+_+",
    "@_@",
    "=_=",
    "o_o",
    "0_0",
    ":3",
    ":<",
    ":/",
    "d:",
    "xd",
    "saber_(fate)",
    "photoshop_(medium)",
    "(9)",
    ":)",
    ":(",
    "\\m/",
    "|_|",
    "*",
    "?",
    "a b",
    'say "hi"',
    "camera",
    "status:x",
    "cat:>0.5",
    "re:zero",
    "!",
    "#",
    "...",
    "-",
    "(",
    ")",
    "\\",
    "ok_(hand)_(gesture)",
]


def vocabulary() -> list[str]:
    tags = []
    for model in ("tiny-released-shape", "tiny-learned-pos"):
        tags += (FORMAT_DIR / model / "top_tags.txt").read_text().splitlines()
    return tags + TRICKY


@pytest.mark.parametrize("name", vocabulary())
def test_every_tag_is_searchable(name: str) -> None:
    node = parse(quote_tag(name))
    assert isinstance(node, TagTerm) and node.name == name and node.score is None
    if node.exact is False:
        assert not node.is_wildcard
    qualified = parse(f"{quote_tag(name)}:>0.5")
    assert isinstance(qualified, TagTerm) and qualified.name == name
    assert qualified.score == Range(0.5, low_strict=True)
