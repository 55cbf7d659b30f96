"""More like this and duplicates: ``similar`` and ``duplicates``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Collection
from pathlib import Path

from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library

SIMILAR_EXAMPLES = """\
examples:
  joytag-desktop similar photos/cat.jpg                    the 20 images most like it, best first
  joytag-desktop similar photos/cat.jpg --limit 50 --query 'rating:general -monochrome'
  joytag-desktop similar ~/Downloads/found.png             a file from elsewhere: tagged and compared
  joytag-desktop search 'like:photos/cat.jpg outdoors' --sort similarity
                                                           the same as a query term
  joytag-desktop similar --text "a dog on a beach"         search in words (a SigLIP2 model of the library)
  joytag-desktop similar --text 一只猫 --query folder:2023   any language SigLIP2 reads
  joytag-desktop search 'text:"a red umbrella" -people'    the same as a query term, nearest first
"""
DUPLICATES_EXAMPLES = """\
examples:
  joytag-desktop duplicates                       exact copies and the same picture re-encoded, resized,
                                                  mirrored or slightly cropped; what would go to the trash
  joytag-desktop duplicates --similar --similarity 0.97   also images that look alike (by embedding)
  joytag-desktop duplicates --keep oldest --trash          keep the oldest exact copy, trash the others
  joytag-desktop duplicates --trash --trash-kinds exact,near   also the same picture re-encoded, resized...
  joytag-desktop duplicates --query 'folder:phone' --format json
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    similar = arguments.command(
        subparsers,
        "similar",
        "list the images most like one image (by a model's embedding)",
        "List the library's images most like IMAGE, best first, with their cosine similarity. IMAGE may "
        "be a file outside the library: the model tags and embeds it first (loading the network).",
        SIMILAR_EXAMPLES,
    )
    similar.add_argument(
        "image", type=Path, nargs="?", metavar="IMAGE", help="an image of the library, or any image file"
    )
    similar.add_argument(
        "--text", metavar="WORDS", help="instead of an image: words, compared by the library's text model (SigLIP2)"
    )
    arguments.add_limit(similar, 20, "images")
    similar.add_argument(
        "--model", metavar="DIR|NAME",
        help="whose embeddings to compare: a model folder or a library model's name (default: the first searched)",
    )  # fmt: skip
    similar.add_argument("--query", metavar="QUERY", help="only images this query matches")
    similar.add_argument("--format", choices=("text", "jsonl"), default="text", help="text or JSON lines")
    similar.add_argument("--device", default="auto", help="for a file outside the library: cpu, cuda or auto")
    similar.set_defaults(handler=run_similar)

    duplicates = arguments.command(
        subparsers,
        "duplicates",
        "find duplicate images and (with --trash) move the extra copies to the trash",
        "Group exact copies (same bytes), near duplicates (the same picture re-encoded, resized, mirrored or "
        "slightly cropped: perceptual hashes) and, with --similar, images that look alike (a model's "
        "embeddings). Without --trash nothing is touched: the groups and what would go are listed. With "
        "--trash the copies not kept go to the system trash (never deleted) and leave the library: only "
        "byte-identical copies unless --trash-kinds names the others. Each copy is checked again right before "
        "it moves; one changed since the last scan stays, and is reported.",
        DUPLICATES_EXAMPLES,
    )
    duplicates.add_argument("--exact-only", action="store_true", help="only files with the same bytes")
    duplicates.add_argument("--similar", action="store_true", help="also images that look alike (by embedding)")
    duplicates.add_argument(
        "--distance", type=int, default=12, metavar="BITS",
        help="near duplicates: how many of the 64 hash bits may differ (default 12; 0-2: re-encodes only)",
    )  # fmt: skip
    duplicates.add_argument(
        "--similarity", type=float, default=0.95, metavar="S",
        help="--similar: the cosine similarity from which images count as alike (default 0.95)",
    )  # fmt: skip
    duplicates.add_argument("--model", metavar="NAME", help="--similar: whose embeddings (default: the first searched)")
    duplicates.add_argument("--query", metavar="QUERY", help="only among the images this query matches")
    duplicates.add_argument(
        "--keep", default="best", choices=("best", "largest", "oldest", "newest", "shortest-path"),
        help="which copy each group keeps (default best: most pixels, then the oldest, then the biggest file)",
    )  # fmt: skip
    duplicates.add_argument("--trash", action="store_true", help="move the copies not kept to the system trash")
    duplicates.add_argument(
        "--trash-kinds", default="exact", metavar="KINDS",
        help="kinds --trash moves: exact,near,similar (default exact)",
    )  # fmt: skip
    duplicates.add_argument("--format", choices=("text", "json"), default="text", help="text or one JSON document")
    duplicates.set_defaults(handler=run_duplicates)


def run_similar(args: argparse.Namespace) -> int:
    from joytag_desktop.library.similar import SimilarityError

    if (args.image is None) == (args.text is None):
        args.subparser.error("name an IMAGE or give --text WORDS (one of them)")
    if args.text is not None:
        return _similar_text(args)
    with open_library(args) as library:
        source = args.image
        model, folder = library_model(library, args.model)
        if library.image_by_path(source) is None:
            if not source.is_file():
                raise SimilarityError(f"{source}: no such image file")
            embedder = outside_embedder(library, args.device, {model: folder} if model and folder else None)
        else:
            embedder = None
        matches = library.similar(source, limit=args.limit or 1_000_000, model=model, query=args.query)
        images = {image.id: image for image in library.images([m.image_id for m in matches])}
        if embedder is not None and args.format == "text":
            tags = embedder.tags.get(source, [])
            shown = ", ".join(f"{name} {score:.2f}" for name, score in tags) or "none above the threshold"
            print(f"# {source} (not in the library), tagged: {shown}", file=sys.stderr)
        for match in matches:
            image = images.get(match.image_id)
            if image is None:
                continue
            if args.format == "jsonl":
                print(json.dumps({"path": image.path, "similarity": round(match.similarity, 4)}))
            else:
                print(f"{match.similarity:.3f}  {image.path}")
        if not matches:
            print("no similar images (is the library tagged?)", file=sys.stderr)
    return 0


def _similar_text(args: argparse.Namespace) -> int:
    """``similar --text``: the images nearest to the words, with the cosine of the normalised embeddings."""
    from joytag_desktop.library.similar import SimilarityError

    if not args.text.strip():
        raise SimilarityError("--text: give some words, e.g. --text 'a dog on a beach'")
    with open_library(args) as library:
        text_embedder(library)
        allowed: Callable[[Collection[int]], Collection[int]] | None = None
        if args.query is not None and args.query.strip():
            from joytag_desktop.library.query import parse

            node = parse(args.query)

            def matching(ids: Collection[int]) -> Collection[int]:
                return library.matching(node, ids)

            allowed = matching

        matches = library.similarity.nearest_text(args.text, args.limit or 1_000_000, args.model, allowed)
        images = {image.id: image for image in library.images([m.image_id for m in matches])}
        for match in matches:
            image = images.get(match.image_id)
            if image is None:
                continue
            if args.format == "jsonl":
                print(json.dumps({"path": image.path, "similarity": round(match.similarity, 4)}, ensure_ascii=False))
            else:
                print(f"{match.similarity:.3f}  {image.path}")
        if not matches:
            print("no images match", file=sys.stderr)
    return 0


def text_embedder(library) -> None:
    """Lets ``library`` search in words: its text model's text tower loads when words come up."""
    from joytag_desktop.worker.text_search import TextEmbedder

    def announce(what: str) -> None:
        print(f"# {what}", file=sys.stderr, flush=True)

    library.similarity.text_encoder = TextEmbedder(announce)


def outside_embedder(library, device: str = "auto", folders: dict[str, Path] | None = None):
    """Lets ``library`` compare files from outside it (``similar FILE``, ``like:FILE``): the model
    loads only when such a file comes up, and says so on stderr, since loading takes seconds."""
    from joytag_desktop.worker.on_the_fly import OnTheFly

    def announce(what: str) -> None:
        print(f"# {what}", file=sys.stderr, flush=True)

    embedder = OnTheFly(device, library.threshold, folders, announce, library.model_options)
    library.similarity.embedder = embedder
    return embedder


def library_model(library, given: str | None) -> tuple[str | None, Path | None]:
    """``--model`` as the library's model name, and the folder to load it from when it was given
    as one: every other command takes a model folder, so this one does too. A folder's model is
    found by its weights' fingerprint (the same weights elsewhere), else by where it was loaded from."""
    from joytag_desktop.library.similar import SimilarityError

    if given is None:
        return None, None
    models = library.similarity.known_models()
    if any(m.name == given for m in models):
        return given, None
    from joytag_desktop.taggers.installed import named_model

    folder = named_model(given)
    if not folder.is_dir():
        return given, None  # neither: the library's "no model named" lists the names it has
    from joytag_desktop.taggers import recognise

    fingerprint = recognise(folder).fingerprint()
    where = folder.resolve()
    found = next((m for m in models if m.fingerprint == fingerprint), None) or next(
        (m for m in models if m.path and Path(m.path).resolve() == where), None
    )
    if found is None:
        known = ", ".join(m.name for m in models) or "none yet"
        raise SimilarityError(
            f"the model in {folder} has not tagged this library (it has: {known}); tag with it first:"
            f" `joytag-desktop autotag --model {folder}`"
        )
    return found.name, folder


def run_duplicates(args: argparse.Namespace) -> int:
    from joytag_desktop.cli.progress import progress_bar
    from joytag_desktop.library.duplicates import KINDS, find_duplicates, move_to_trash

    if not 0 <= args.distance <= 32:
        args.subparser.error("--distance: a number of bits from 0 to 32")
    if not -1.0 <= args.similarity <= 1.0:
        args.subparser.error("--similarity: a cosine similarity from -1 to 1")
    movable = {kind.strip() for kind in args.trash_kinds.split(",") if kind.strip()}
    if not movable or not movable <= set(KINDS):
        args.subparser.error(f"--trash-kinds: a comma-separated list of {', '.join(KINDS)}")
    kinds = ["exact"] if args.exact_only else ["exact", "near"] + (["similar"] if args.similar else [])
    with open_library(args) as library:
        with progress_bar(None, "Comparing") as bar:

            def progress(stage: str, done: int, total: int) -> None:
                bar.total, bar.n = total, done
                bar.set_description(stage, refresh=False)
                bar.refresh()

            groups = find_duplicates(
                library, kinds, args.distance, args.similarity, args.model, args.query, args.keep, progress
            )
        # byte-identical copies move by default, also inside a near group; other copies only by name
        extra = [image for group in groups for image in group.others if group.copy_kind(image.id) in movable]
        listed = [
            (group, image) for group in groups for image in group.others if group.copy_kind(image.id) not in movable
        ]
        if args.format == "json":
            print(json.dumps([_group_json(g, movable) for g in groups], indent=1))
        else:
            for number, group in enumerate(groups, 1):
                label = group.kind + (f", similarity ≥ {group.similarity:.3f}" if group.similarity is not None else "")
                print(f"group {number} ({label}):")
                for image in group.images:
                    if image.id == group.keep:
                        mark = "keep"
                    elif group.copy_kind(image.id) not in movable:
                        mark = "listed"
                    else:
                        mark = "trash" if args.trash else "would trash"
                    print(f"  {mark:<11} {_describe(image)}{_link_text(group, image.id)}")
        freed = sum(image.size for image in extra)
        if listed:
            kinds = sorted({group.copy_kind(image.id) for group, image in listed}, key=KINDS.index)
            named = ",".join(sorted(movable | set(kinds), key=KINDS.index))
            print(
                f"{len(listed)} {'/'.join(kinds)} copies in {len({id(g) for g, _ in listed})} groups are only listed,"
                f" not moved: judge them, or name them with --trash-kinds {named}",
                file=sys.stderr,
            )
        if not args.trash:
            print(
                f"{len(groups)} groups; {len(extra)} copies ({freed / 1e6:.1f} MB) would go to the trash"
                " (add --trash to move them)",
                file=sys.stderr,
            )
            return 0
        moving = {image.id for image in extra}
        plan = [(g.keep, [i.id for i in g.others if i.id in moving]) for g in groups]
        shown = {image.id: image for group in groups for image in group.images}
        report = move_to_trash(library, [(keep, ids) for keep, ids in plan if ids], shown=shown)
        for path, reason in report.skipped:
            print(f"joytag-desktop: left {path}: {reason}", file=sys.stderr)
        for path, reason in report.failed:
            print(f"joytag-desktop: could not move {path} to the trash: {reason}", file=sys.stderr)
        print(f"moved {len(report.moved)} copies to the trash", file=sys.stderr)
    return 1 if report.failed or report.skipped else 0


def _link_text(group, image_id: int) -> str:
    """How close a copy is to the kept one (or, in a chain, to the member it was paired with)."""
    if image_id == group.keep:
        return ""
    found = group.closest(image_id, group.keep)
    if found is None:
        return ""
    other, link = found
    target = "" if other == group.keep else f" to {Path(next(i.path for i in group.images if i.id == other)).name}"
    if link.kind == "near":
        return f"  ({int(link.value or 0)} bits{target})"
    if link.kind == "similar":
        return f"  (similarity {link.value:.3f}{target})"
    return f"  (same bytes{target})"


def _describe(image) -> str:
    size = f"{image.width}x{image.height}" if image.width and image.height else "?x?"
    date = image.date.strftime("%Y-%m-%d %H:%M") if image.date else "no date"
    return f"{size:>11} {image.size / 1e6:7.2f} MB  {(image.format or '?'):<5} {date}  {image.path}"


def _link_json(group, image_id: int) -> dict | None:
    """A copy's closest confirmed link: to whom (the kept file when paired directly), what kind, how far."""
    found = None if image_id == group.keep else group.closest(image_id, group.keep)
    if found is None:
        return None
    other, link = found
    to = next(i.path for i in group.images if i.id == other)
    value = {"near": {"bits": int(link.value or 0)}, "similar": {"similarity": link.value}}.get(link.kind, {})
    return {"to": to, "kind": link.kind, **value}


def _group_json(group, movable: set[str]) -> dict:
    return {
        "kind": group.kind,
        "similarity": group.similarity,
        "keep": next(i.path for i in group.images if i.id == group.keep),
        "images": [
            {
                "path": i.path, "size": i.size, "width": i.width, "height": i.height, "format": i.format,
                "date": i.date.isoformat() if i.date else None, "keep": i.id == group.keep,
                "link": _link_json(group, i.id),
                "trash": i.id != group.keep and group.copy_kind(i.id) in movable,
            }
            for i in group.images
        ],
    }  # fmt: skip
