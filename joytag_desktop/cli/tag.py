"""``joytag-desktop tag``: tag files and folders without a library, printing results as they come."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
from pathlib import Path
from typing import TextIO

from joytag_desktop.cli.progress import progress_bar
from joytag_desktop.imaging import expand_paths
from joytag_desktop.model.engine import TagResult

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tag",
        help="tag image files and folders and print the results",
        description="Tag images with JoyTag and print the tags. Folders are searched recursively.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="image files or folders")
    parser.add_argument(
        "--threshold", type=_threshold, default=0.4, help="lowest score to print (default 0.4; 0 prints every tag)"
    )
    parser.add_argument(
        "--format", choices=("text", "jsonl", "csv"), default="text", help="output format (default text)"
    )
    add_engine_arguments(parser)
    parser.set_defaults(handler=run)


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, metavar="DIR", help="model folder (default: the downloaded JoyTag)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--batch-size", type=_positive_int, metavar="N", help="images per batch")
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16", "float16"),
        default="auto",
        help="auto: bf16 on GPUs and on CPUs with native bf16, else float32",
    )
    parser.add_argument(
        "--preprocess",
        choices=("fast", "reference"),
        default="fast",
        help="fast: reduced-size JPEG decoding (GPU decoding on CUDA); reference: exactly the published steps",
    )


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("threshold must be between 0 and 1")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class ResultWriter:
    """Writes each result in the chosen format as soon as it is produced."""

    def __init__(self, out: TextIO, fmt: str, tags: list[str], threshold: float) -> None:
        self.out, self.fmt, self.tags, self.threshold = out, fmt, tags, threshold
        self.csv = csv.writer(out) if fmt == "csv" else None
        if self.csv:
            self.csv.writerow(["path", "tag", "score", "error"])

    def write(self, result: TagResult) -> None:
        pairs = result.tags_above(self.tags, self.threshold)
        path = str(result.path)
        if self.fmt == "jsonl":
            record = {"path": path, "tags": dict(pairs), "error": result.error}
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif self.csv is not None:
            if result.error is not None:
                self.csv.writerow([path, "", "", result.error])
            for tag, score in pairs:
                self.csv.writerow([path, tag, repr(score), ""])
        elif result.error is not None:
            self.out.write(f"{path}: ERROR: {result.error}\n")
        else:
            self.out.write(f"{path}: {', '.join(f'{tag} ({score:.3f})' for tag, score in pairs)}\n")
        self.out.flush()


def run(args: argparse.Namespace) -> int:
    from joytag_desktop.cli.main import load_engine

    unreadable: list[tuple[str, str]] = []
    files = list(expand_paths(args.paths, unreadable))
    for path, reason in unreadable:
        print(f"error: {path}: {reason}", file=sys.stderr)
    if not files:
        print("No supported images found in the given paths.", file=sys.stderr)
        return EXIT_SOME_FAILED if unreadable else EXIT_OK
    engine = load_engine(args)
    writer = ResultWriter(sys.stdout, args.format, engine.tags, args.threshold)
    failed = 0
    cancel = threading.Event()
    with progress_bar(len(files), "Tagging") as bar:
        try:
            for result in engine.tag_paths(files, cancel=cancel):
                if result.error is not None:
                    failed += 1
                    bar.write(f"error: {result.path}: {result.error}", file=sys.stderr)
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
