"""ACDSee's keyword tree: ``acdsee:categories``, one XMP text holding an XML document of nested
``<Category Assigned="1|0">name…</Category>`` elements (``Assigned="1"``: the image has that
category; ``0``: only a parent on the way to one). digiKam reads and writes it beside TagsList.

Here it is a list of ``|``-joined paths like ``lr:hierarchicalSubject``, so the keyword rules treat
it as one more hierarchical property; these functions turn that list into the XML and back.
"""

from __future__ import annotations

import logging
from xml.etree import ElementTree as ET

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

log = logging.getLogger(__name__)
SEPARATOR, LOOK_ALIKE = "|", "\u00a6"
MAX_DEPTH = 64  # real category trees are a handful of levels deep


def parse_categories(text: str) -> list[str]:
    """The assigned categories of an ACDSee XML text as ``|``-joined paths, in document order;
    [] for text that is not such a document (it is then left alone, never rewritten from nothing)."""
    if not text or not text.strip():
        return []
    try:
        root = SafeET.fromstring(text)
    except (ET.ParseError, DefusedXmlException) as exc:
        log.debug("ACDSee categories not read: %s", exc)
        return []
    entries: list[str] = []
    stack: list[tuple[ET.Element, tuple[str, ...]]] = [(child, ()) for child in reversed(list(root))]
    while stack:
        element, parents = stack.pop()
        if element.tag != "Category" or len(parents) >= MAX_DEPTH:
            continue
        name = (element.text or "").strip().replace(SEPARATOR, LOOK_ALIKE)
        if not name:
            continue
        path = (*parents, name)
        if element.get("Assigned") == "1":
            entries.append(SEPARATOR.join(path))
        stack.extend((child, path) for child in reversed(list(element)))
    return list(dict.fromkeys(entries))


def empty_branches(text: str) -> set[tuple[str, ...]]:
    """Paths of categories a tree holds with nothing assigned at or below them (kept on a rewrite:
    the user's own empty categories are not keywords to drop)."""
    try:
        root = SafeET.fromstring(text) if text and text.strip() else None
    except (ET.ParseError, DefusedXmlException):
        return set()
    found: set[tuple[str, ...]] = set()

    def walk(element: ET.Element, parents: tuple[str, ...]) -> bool:  # True: something assigned below
        if len(parents) >= MAX_DEPTH:
            return True
        name = (element.text or "").strip().replace(SEPARATOR, LOOK_ALIKE)
        path = (*parents, name)
        below = [walk(child, path) for child in element if child.tag == "Category"]
        used = element.get("Assigned") == "1" or any(below)
        if name and not used and not below:
            found.add(path)
        return used

    for child in root if root is not None else ():
        if child.tag == "Category":
            walk(child, ())
    return found


def categories_xml(entries: list[str], previous: str = "") -> str:
    """The ACDSee XML text for ``|``-joined paths (parents not listed themselves get ``Assigned="0"``);
    the empty categories of the ``previous`` tree stay."""
    root = ET.Element("Categories")
    nodes: dict[tuple[str, ...], ET.Element] = {}
    assigned = {tuple(p for p in entry.split(SEPARATOR) if p) for entry in entries}
    for path in sorted(assigned | empty_branches(previous), key=lambda p: [q.casefold() for q in p]):
        for depth in range(1, len(path) + 1):
            key = path[:depth]
            if key not in nodes:
                parent = nodes[key[:-1]] if depth > 1 else root
                node = ET.SubElement(parent, "Category", {"Assigned": "1" if key in assigned else "0"})
                node.text = key[-1]
                nodes[key] = node
    return ET.tostring(root, encoding="unicode")


def canonical(entries: list[str]) -> list[str]:
    """The entries in the order they read back after ``categories_xml`` (so a rewrite is stable)."""
    return parse_categories(categories_xml(entries)) if entries else []
