"""``joytag-desktop models``: the catalogue of published taggers, what is installed, downloads."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from joytag_desktop import paths
from joytag_desktop.cli import arguments
from joytag_desktop.cli.progress import quiet_unless_terminal
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.catalogue import CATALOGUE, DEFAULT_MODEL_NAME, names


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = arguments.command(subparsers, "models", "list, check and download tagger models")
    actions = parser.add_subparsers(dest="models_action", required=True, metavar="ACTION")
    download = arguments.command(
        actions,
        "download",
        "download a catalogue model from the Hugging Face Hub (with a progress bar)",
        examples="examples:\n"
        "  joytag-desktop models download                JoyTag into the data folder\n"
        "  joytag-desktop models download wd-swinv2-v3   SmilingWolf's WD SwinV2 v3\n"
        "  joytag-desktop tag --model wd-swinv2-v3 a.png then tag with it by name\n",
    )
    download.add_argument(
        "name", nargs="?", default=DEFAULT_MODEL_NAME, choices=names(), metavar="NAME",
        help=f"which model (default {DEFAULT_MODEL_NAME}): {', '.join(names())}",
    )  # fmt: skip
    download.add_argument("--repo", help="another Hub repository with the same files (a fork or mirror)")
    download.add_argument("--revision", help="branch, tag or commit to download (default: the newest)")
    download.set_defaults(handler=run_download)
    listing = arguments.command(actions, "list", "show the catalogue, what is installed and whether it loads")
    listing.set_defaults(handler=run_list)
    in_library = arguments.command(
        actions,
        "library",
        "show the library's models (which tag new files, which count in searches) or change that",
        examples="examples:\n"
        "  joytag-desktop models library                         each model, its images, thresholds\n"
        "  joytag-desktop models library --auto joytag wd-vit-v3 these two tag new files\n"
        "  joytag-desktop models library --no-search wd-vit-v3   its scores stay but do not count\n",
    )
    in_library.add_argument("--auto", nargs="+", metavar="NAME", help="the models that tag new and changed files")
    in_library.add_argument("--search", nargs="+", default=[], metavar="NAME", help="their scores count in searches")
    in_library.add_argument(
        "--no-search", nargs="+", default=[], metavar="NAME", help="their scores are kept but do not count"
    )
    in_library.set_defaults(handler=run_library)


def run_download(args: argparse.Namespace) -> int:
    from joytag_desktop.taggers import recognise
    from joytag_desktop.taggers.hub import catalogue_entry, download_model

    item = catalogue_entry(args.name)
    print(
        f"Downloading {args.name} ({args.repo or item.repo}, about {item.download_mb:,} MB) into {paths.models_dir()} …"
    )
    target = download_model(args.name, repo_id=args.repo, revision=args.revision, tqdm_class=quiet_unless_terminal())
    tagger = recognise(target)
    print(f"Installed {tagger.describe()} at {target}. Tag with it: --model {args.name}")
    return 0


def _state(folder: Path) -> str:
    from joytag_desktop.taggers import recognise

    try:
        tagger = recognise(folder)
    except ModelFolderError as exc:
        return f"BROKEN: {exc}"
    return f"installed: {tagger.describe()}, {tagger.weights_bytes() / 1e6:,.0f} MB"


def run_list(args: argparse.Namespace) -> int:
    root = paths.models_dir()
    print(f"Catalogue (download with `joytag-desktop models download NAME`; installed ones live in {root}):")
    for item in CATALOGUE:
        folder = root / item.name
        state = _state(folder) if folder.is_dir() else "not installed"
        print(f"  {item.name:18s} {item.repo}{'/' + item.subfolder if item.subfolder else ''}")
        print(f"  {'':18s} {item.download_mb:,} MB, {item.licence}; {item.good_at}")
        print(f"  {'':18s} {state}")
    print("  (e6tag is not offered: its author never published trained weights.)")
    known = {item.name for item in CATALOGUE}
    others = [p for p in sorted(root.iterdir()) if p.is_dir() and not p.name.startswith(".") and p.name not in known]
    from_env = os.environ.get(paths.MODEL_ENV)
    if from_env:
        others.insert(0, Path(from_env).expanduser())
    if others:
        print("Other model folders:")
        for folder in others:
            note = f" (from ${paths.MODEL_ENV})" if str(folder) == from_env else ""
            print(f"  {folder}{note}: {_state(folder)}")
    return 0


def run_library(args: argparse.Namespace) -> int:
    with arguments.open_library(args) as library:
        if args.auto:
            library.set_auto_models(args.auto)
        for name in args.search:
            library.set_model_searched(name, True)
        for name in args.no_search:
            library.set_model_searched(name, False)
        models = library.models()
        if not models:
            print("No model has tagged this library yet (tag with `joytag-desktop autotag --model NAME`).")
            return 0
        own = library.model_thresholds()
        print(f"Models of the library (global threshold {library.threshold:g}):")
        for model in models:
            flags = [word for word, on in (("tags new files", model.auto), ("searched", model.searched)) if on]
            print(f"  {model.name:20s} {model.format:8s} {model.images:10,d} images  {', '.join(flags) or 'off'}")
            if own.get(model.name):
                shown = ", ".join(f"{category} {value:g}" for category, value in sorted(own[model.name].items()))
                print(f"  {'':20s} thresholds: {shown}")
            if model.path:
                print(f"  {'':20s} {model.path}")
    return 0
