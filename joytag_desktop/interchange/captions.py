"""Caption files for training (``image.txt`` beside each image, as kohya-ss sd-scripts reads them)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from joytag_desktop.errors import JoyTagError
from joytag_desktop.interchange.exporting import ExportReport, Folders, chosen_images, gone, reason, stopped
from joytag_desktop.library.library import Library
from joytag_desktop.media.imaging import is_image_path
from joytag_desktop.metadata.keywords import HIERARCHY, is_bookkeeping
from joytag_desktop.metadata.xmp import atomic_write, read_limited

MAX_CAPTION_BYTES = 1024 * 1024


@dataclass
class CaptionOptions:
    threshold: float | None = None
    categories: frozenset[str] | None = None  # only tags of these categories (e.g. no ratings)
    spaces: bool = True  # underscores to spaces
    escape_parentheses: bool = False  # "saber_(fate)" -> "saber \\(fate\\)" for prompt parsers that need it
    exclude: set[str] = field(default_factory=set)
    prefix: list[str] = field(default_factory=list)  # e.g. a trigger word, always first
    overwrite: bool = False  # replace caption files the app did not write


def present_tags(
    library: Library, image_id: int, threshold: float | None = None, categories: frozenset[str] | None = None
) -> list[str]:
    """Tags that count for an image, best score first (manual and imported ones included),
    of ``categories`` only when given."""
    names = [
        library.vocabulary.shown_name(view.name)  # an alias is written as its target
        for view in library.image_tags(image_id, threshold)
        if view.present and (categories is None or view.category in categories)
    ]
    return list(dict.fromkeys(names))


def caption_words(tags: list[str], options: CaptionOptions) -> list[str]:
    """Caption words: hierarchical keywords by their leaf, other programs' bookkeeping left out."""
    words: list[str] = []
    for tag in [*options.prefix, *tags]:
        if tag in options.exclude or is_bookkeeping(tag):
            continue
        words.append(tag.rsplit(HIERARCHY, 1)[-1])
    return list(dict.fromkeys(words))


def caption_text(tags: list[str], options: CaptionOptions) -> str:
    """Comma-separated, as kohya-ss sd-scripts reads without extra flags. A keyword's own commas
    would split it in two there, so they become spaces."""
    out = []
    for word in caption_words(tags, options):
        if options.spaces and not re.fullmatch(r"[\W_]+", word):  # keep emoticons such as ^_^ as they are
            word = word.replace("_", " ")
        word = " ".join(word.replace(",", " ").split())
        if options.escape_parentheses:
            word = word.replace("(", "\\(").replace(")", "\\)")
        if word:
            out.append(word)
    return ", ".join(out)


def export_captions(
    library: Library,
    query: str = "",
    options: CaptionOptions | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    image_ids: list[int] | None = None,
) -> ExportReport:
    """``image.txt`` beside each image: comma-separated tags, best first."""
    options = options or CaptionOptions()
    report = ExportReport()
    images = chosen_images(library, image_ids, query, options.threshold)
    folders = Folders()
    for index, image in enumerate(images, start=1):
        if stopped(cancel, report):
            break
        target = Path(image.path).with_suffix(".txt")
        if gone(Path(image.path), report):
            if progress is not None:
                progress(index, len(images))
            continue
        try:
            stem = target.stem.lower()
            siblings = [n for n in folders.names(target.parent) if is_image_path(n) and Path(n).stem.lower() == stem]
            if len(siblings) > 1:  # a.jpg and a.png: a training script would give both the one a.txt
                report.skipped += 1
                report.errors.append((image.path, f"shares the caption file {target.name} with another image; skipped"))
                continue
            text = caption_text(present_tags(library, image.id, options.threshold, options.categories), options)
            previous = library.metadata_record(image.id, "caption")
            if target.exists():
                current = read_limited(target, MAX_CAPTION_BYTES, "caption file").decode("utf-8", errors="replace")
                ours = previous is not None and previous.file_mtime == target.stat().st_mtime
                if not ours and not options.overwrite:
                    report.skipped += 1
                    report.errors.append((str(target), "a caption written by someone else exists (use --overwrite)"))
                    continue
                if current.strip() == text:
                    report.unchanged += 1
                    continue
            elif not text:
                report.skipped += 1  # no tags (or tagging failed): no empty caption file
                continue
            if dry_run:
                report.planned.append((str(target), [text]))
                continue
            atomic_write(target, (text + "\n").encode("utf-8"))
            library.record_metadata_write(image.id, "caption", str(target), [text], target.stat().st_mtime)
            report.written += 1
        except (JoyTagError, OSError) as exc:
            report.errors.append((str(target), reason(exc, target)))
        if progress is not None:
            progress(index, len(images))
    return report
