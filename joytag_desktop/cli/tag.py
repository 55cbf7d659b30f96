"""``joytag-desktop tag``: tag files and folders without a library, printing results as they come."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from joytag_desktop.cli import arguments
from joytag_desktop.cli.engine_options import add_engine_arguments, load_engine
from joytag_desktop.cli.progress import progress_bar, say
from joytag_desktop.library.thresholds import SCORE_DECIMALS
from joytag_desktop.taggers.vocabulary import Policy, Selection, Vocabulary, rule_scores, select

if TYPE_CHECKING:
    from joytag_desktop.inference.engine import TagResult

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

EXAMPLES = """\
examples:
  joytag-desktop tag photo.jpg                    tags by the model's own thresholds, one line per image
  joytag-desktop tag ~/Pictures --format jsonl    every image below the folder, as JSON lines
  joytag-desktop tag --threshold 0 --format csv a.png > scores.csv   every tag with its score
  joytag-desktop tag --model wd-swinv2-v3 --mcut art/      a downloaded WD tagger, MCut thresholds
  joytag-desktop tag --model camie-v2 --profile category/high_precision art.png
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = arguments.command(
        subparsers,
        "tag",
        "tag image files and folders and print the results (no library needed)",
        "Tag images and print their tags. Folders are searched recursively. Results go to stdout, "
        "errors and progress to stderr.",
        EXAMPLES,
        rest="paths",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    parser.add_argument(
        "--threshold",
        type=arguments.threshold,
        metavar="T",
        help="lowest score to print, for every category (default: the model's own thresholds, e.g. JoyTag 0.4, "
        "WD general 0.35 / character 0.85, JTP 0.2, JTP-3 0.75 or its calibration.csv; 0 prints every tag)",
    )
    parser.add_argument(
        "--mcut", action="store_true", help="WD taggers: MCut thresholds for general and character tags"
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="camie-tagger threshold profile, e.g. overall/balanced (its default), category/high_precision",
    )
    parser.add_argument(
        "--format",
        choices=("text", "jsonl", "csv"),
        default="text",
        help="text: 'path: tag (score), character:name (score), …'; jsonl: one JSON object per image; "
        "csv: path,tag,category,score,error",
    )
    parser.add_argument(
        "--digits",
        type=int,
        choices=range(1, 18),
        metavar="N",
        help="decimals of the scores in jsonl and csv (default 4; with --preprocess reference: all of them, "
        "for comparing with the published implementation)",
    )
    add_engine_arguments(parser)
    parser.set_defaults(handler=run)


class ResultWriter:
    """Writes each result in the chosen format as soon as it is produced.

    In text format an image that failed is reported on stderr only, so stdout stays a list of
    tagged images; jsonl and csv keep a record with its error, for scripts that join on path.
    Categories other than general show as a ``category:`` prefix in text and in their own field
    elsewhere (a WD rating tag is already named ``rating:…``)."""

    def __init__(
        self,
        out: TextIO,
        fmt: str,
        vocabulary: Vocabulary,
        policy: Policy,
        selection: Selection,
        digits: int | None = None,
    ) -> None:
        self.out, self.fmt, self.vocabulary, self.policy, self.selection = out, fmt, vocabulary, policy, selection
        self.digits = digits  # None: full precision
        self.csv = csv.writer(out) if fmt == "csv" else None
        if self.csv:
            self.csv.writerow(["path", "tag", "category", "score", "error"])

    def _score(self, score: float) -> float:
        return float(score) if self.digits is None else round(float(score), self.digits)

    def _label(self, index: int) -> str:
        name, category = self.vocabulary.names[index], self.vocabulary.categories[index]
        if category == "general" or name.startswith(f"{category}:"):
            return name
        return f"{category}:{name}"

    def write(self, result: TagResult) -> None:
        scores: list[float] = (
            [] if result.scores is None else rule_scores(result.scores, self.policy, self.selection).tolist()
        )
        kept = [] if result.scores is None else select(result.scores, self.vocabulary, self.policy, self.selection)
        names, categories = self.vocabulary.names, self.vocabulary.categories
        path = str(result.path)
        if self.fmt == "jsonl":
            record = {
                "path": path,
                "tags": {names[i]: self._score(scores[i]) for i in kept},
                "categories": {names[i]: categories[i] for i in kept},
                "error": result.error,
            }
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.csv is not None:
            if result.error is not None:
                self.csv.writerow([path, "", "", "", result.error])
            for i in kept:
                self.csv.writerow([path, names[i], categories[i], self._score(scores[i]), ""])
        elif result.error is None:
            self.out.write(f"{path}: {', '.join(f'{self._label(i)} ({scores[i]:.3f})' for i in kept)}\n")
        else:
            return
        self.out.flush()


def selection_from(args: argparse.Namespace, policy: Policy) -> Selection:
    """--threshold, --mcut and --profile, checked against what the model offers."""
    if args.profile and args.profile not in policy.profiles:
        offered = ", ".join(policy.profiles) or "none (this model has no threshold profiles)"
        args.subparser.error(f"--profile {args.profile}: this model's profiles are {offered}")
    if args.mcut and not policy.mcut_categories:
        args.subparser.error("--mcut is for the WD taggers (it cuts general and character tags separately)")
    return Selection(threshold=args.threshold, mcut=args.mcut, profile=args.profile)


def _missing_paths(paths: list[Path]) -> list[Path]:
    """Arguments that name nothing at all (other failures, such as a path too long or a folder
    without permission, are reported per path while tagging)."""
    missing = []
    for path in paths:
        try:
            os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            missing.append(path)
        except OSError:
            pass
    return missing


def run(args: argparse.Namespace) -> int:
    from joytag_desktop.media.imaging import expand_paths

    args.paths = [Path(word) for word in args.paths]
    missing = _missing_paths(args.paths)
    if missing:
        # A mistyped argument, not an image that failed: a usage error, before any model loads.
        names = ", ".join(str(path) for path in missing[:3]) + (" …" if len(missing) > 3 else "")
        args.subparser.error(f"no such file or folder: {names}")
    unreadable: list[tuple[str, str]] = []
    files = list(expand_paths(args.paths, unreadable))
    for path, reason in unreadable:
        print(f"error: {path}: {reason}", file=sys.stderr)
    if not files:
        print("No supported images found in the given paths.", file=sys.stderr)
        return EXIT_SOME_FAILED if unreadable else EXIT_OK
    engine = load_engine(args)
    digits = args.digits or (None if args.preprocess == "reference" else SCORE_DECIMALS)
    writer = ResultWriter(
        sys.stdout, args.format, engine.vocabulary, engine.policy, selection_from(args, engine.policy), digits
    )
    failed = 0
    cancel = threading.Event()
    with progress_bar(len(files), "Tagging") as bar:
        try:
            for result in engine.tag_paths(files, cancel=cancel):
                if result.error is not None:
                    failed += 1
                    say(bar, f"error: {result.path}: {result.error}")
                writer.write(result)
                bar.update(1)
        except KeyboardInterrupt:
            cancel.set()
            print("Interrupted.", file=sys.stderr)
            return 130
    if failed:
        print(f"{failed} of {len(files)} image(s) could not be tagged.", file=sys.stderr)
    if unreadable:
        print(f"{len(unreadable)} folder(s) could not be read.", file=sys.stderr)
    return EXIT_SOME_FAILED if failed or unreadable else EXIT_OK
