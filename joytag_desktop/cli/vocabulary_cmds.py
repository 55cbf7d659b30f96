"""The ``tags`` actions that change the vocabulary: rename, merge, delete; aliases and implications,
one at a time or from booru CSV exports. ``search_cmds.run_tags`` hands them here."""

from __future__ import annotations

import argparse
import sys
from functools import partial
from pathlib import Path

from joytag_desktop.cli.progress import progress_bar

# action: (argument names, help)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "rename": (("OLD", "NEW"), "give a manual or imported tag a new name on every image"),
    "merge": (("FROM", "INTO"), "put INTO wherever FROM is, then take FROM off every image"),
    "delete": (("TAG",), "take a manual or imported tag off every image"),
    "alias": (("FROM", "TO"), "make FROM another name of TO (one tag in search, counts and export)"),
    "unalias": (("FROM",), "FROM is its own tag again"),
    "aliases": ((), "list the aliases (optionally those naming FILTER)"),
    "imply": (("CHILD", "PARENT"), "every image with CHILD also matches PARENT"),
    "unimply": (("CHILD", "PARENT"), "remove that implication"),
    "implications": ((), "list the implications (optionally those naming FILTER)"),
    "import-aliases": (("FILE",), "load a Danbooru/e621 tag_aliases CSV export (active rows)"),
    "import-implications": (("FILE",), "load a Danbooru/e621 tag_implications CSV export (active rows)"),
    "export-aliases": (("FILE",), "write the aliases as an e621-style tag_aliases CSV"),
    "export-implications": (("FILE",), "write the implications as an e621-style tag_implications CSV"),
    "exclude": (("MODEL", "TAG"), "MODEL never applies TAG (its stored scores go now)"),
    "include": (("MODEL", "TAG"), "MODEL may apply TAG again (from its next tagging of an image)"),
    "cap": (("MODEL", "CATEGORY", "N"), "at most N tags of CATEGORY per image from MODEL (N none: no cap)"),
    "model-rules": (("MODEL",), "MODEL's exclusions and caps"),
}
EXAMPLES = """\
  joytag-desktop tags rename kitty_cat cat    a tag added by hand or imported, renamed everywhere
  joytag-desktop tags merge moggy cat         moggy's images get cat; moggy goes
  joytag-desktop tags delete blurry           off every image (written to sidecars on the next export)
  joytag-desktop tags alias kitty cat         kitty and cat are one tag (models' names too)
  joytag-desktop tags imply cat animal        searching animal finds every cat
  joytag-desktop tags import-aliases tag_aliases-2024-05-01.csv
  joytag-desktop tags exclude wd-vit-v3 watermark   wd-vit-v3 never applies "watermark"
  joytag-desktop tags cap wd-vit-v3 character 2     at most the 2 best character tags per image
"""


def run(args: argparse.Namespace, library) -> int:
    """One vocabulary action (``args.action``); the words after it are ``args.tag`` and ``args.paths``."""
    names, _ = ACTIONS[args.action]
    words = [w for w in [args.tag, *args.paths] if w is not None]
    if args.action in ("aliases", "implications"):
        if len(words) > 1:
            args.subparser.error(f"tags {args.action} takes one filter at most")
        rows = (library.vocabulary.aliases if args.action == "aliases" else library.vocabulary.implications)(
            words[0] if words else ""
        )
        for left, right in rows if args.limit is None else rows[: args.limit]:
            print(f"{left}\t{right}")
        return 0
    if len(words) != len(names):
        args.subparser.error(f"tags {args.action} takes {' '.join(names)}")
    return HANDLERS[args.action](library, *words)


def _bar_edit(library, verb: str, edit, *words: str) -> int:
    with progress_bar(None, f"tags {verb} {' '.join(words)}", unit=" images") as bar:
        report = edit(*words, progress=partial(_advance, bar))
    print(f"{verb}: {' → '.join(words)} on {report.images} image(s)", file=sys.stderr)
    carried = getattr(report, "carried", None)
    if carried is not None:
        moved = len(carried.new_aliases) + len(carried.new_implications)
        if moved:
            print(f"  {moved} alias(es) and implication(s) now name {words[-1]}", file=sys.stderr)
        for line in carried.refused:
            print(f"  not carried: {line}", file=sys.stderr)
    return 0


def _advance(bar, done: int, total: int) -> None:
    bar.total = total
    bar.n = done
    bar.refresh()


def _alias(library, name: str, target: str) -> int:
    added = library.vocabulary.alias(name, target)
    print(f"alias: {name} → {target}" + ("" if added else " (already)"), file=sys.stderr)
    return 0


def _imply(library, child: str, parent: str) -> int:
    added = library.vocabulary.imply(child, parent)
    print(f"implication: {child} → {parent}" + ("" if added else " (already)"), file=sys.stderr)
    return 0


def _removed(what: str, done: bool) -> int:
    from joytag_desktop.library import LibraryError

    if not done:
        raise LibraryError(f"no such {what}")
    print(f"removed the {what}", file=sys.stderr)
    return 0


def _import(library, kind: str, file: str) -> int:
    from joytag_desktop.interchange import booru

    load = booru.import_aliases if kind == "aliases" else booru.import_implications
    report = load(library, Path(file))
    print(
        f"{kind}: {report.added} added, {report.unchanged} already there, {len(report.refused)} refused "
        f"(of {report.total} active rows)",
        file=sys.stderr,
    )
    for line in report.refused[:20]:
        print(f"  refused: {line}", file=sys.stderr)
    if len(report.refused) > 20:
        print(f"  … and {len(report.refused) - 20} more", file=sys.stderr)
    return 0


def _export(library, kind: str, file: str) -> int:
    from joytag_desktop.interchange import booru

    pairs = library.vocabulary.aliases() if kind == "aliases" else library.vocabulary.implications()
    print(f"{kind}: {booru.write_pairs(Path(file), pairs)} written to {file}", file=sys.stderr)
    return 0


def _exclude(library, model: str, tag: str, excluded: bool) -> int:
    removed = library.model_rules.set_excluded(library.model(model).id, tag, excluded)
    if excluded:
        print(f"{model} never applies {tag} ({removed} stored score(s) removed)", file=sys.stderr)
    else:
        print(f"{model} may apply {tag} again (retag to bring back its scores)", file=sys.stderr)
    return 0


def _cap(library, model: str, category: str, value: str) -> int:
    from joytag_desktop.library import LibraryError

    if value.lower() in ("none", "off"):
        cap = None
    elif value.isdigit():
        cap = int(value)
    else:
        raise LibraryError(f"a cap is a number of tags or none, not {value!r}")
    removed = library.model_rules.set_cap(library.model(model).id, category, cap)
    shown = "no cap" if cap is None else f"at most {cap}"
    print(f"{model}: {shown} {category} tag(s) per image ({removed} stored score(s) removed)", file=sys.stderr)
    return 0


def _model_rules(library, model: str) -> int:
    model_id = library.model(model).id
    for tag in library.model_rules.exclusions(model_id):
        print(f"exclude\t{tag}")
    for category, cap in sorted(library.model_rules.caps(model_id).items()):
        print(f"cap\t{category}\t{cap}")
    return 0


HANDLERS = {
    "rename": lambda lib, old, new: _bar_edit(lib, "rename", lib.renames.rename, old, new),
    "merge": lambda lib, old, new: _bar_edit(lib, "merge", lib.renames.merge, old, new),
    "delete": lambda lib, tag: _bar_edit(lib, "delete", lib.renames.delete, tag),
    "alias": _alias,
    "unalias": lambda lib, name: _removed(f"alias {name}", lib.vocabulary.unalias(name)),
    "imply": _imply,
    "unimply": lambda lib, c, p: _removed(f"implication {c} → {p}", lib.vocabulary.unimply(c, p)),
    "import-aliases": lambda lib, file: _import(lib, "aliases", file),
    "import-implications": lambda lib, file: _import(lib, "implications", file),
    "export-aliases": lambda lib, file: _export(lib, "aliases", file),
    "export-implications": lambda lib, file: _export(lib, "implications", file),
    "exclude": lambda lib, model, tag: _exclude(lib, model, tag, True),
    "include": lambda lib, model, tag: _exclude(lib, model, tag, False),
    "cap": _cap,
    "model-rules": _model_rules,
}
