"""``joytag-desktop models``: the catalogue of published taggers, what is installed, downloads."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from joytag_desktop import paths
from joytag_desktop.cli import arguments
from joytag_desktop.cli.progress import quiet_unless_terminal
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.catalogue import CATALOGUE, DEFAULT_MODEL_NAME, CatalogueEntry, names


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
        "  joytag-desktop tag --model wd-swinv2-v3 a.png then tag with it by name\n"
        "  joytag-desktop models download camie-v2 --accept-licence --models-dir /mnt/big/models\n"
        "  HF_ENDPOINT=https://mirror.example joytag-desktop models download wd-vit-v3\n"
        "A gated repository needs your Hugging Face token: `hf auth login`, or HF_TOKEN.",
    )
    download.add_argument(
        "name", nargs="?", default=DEFAULT_MODEL_NAME, choices=names(), metavar="NAME",
        help=f"which model (default {DEFAULT_MODEL_NAME}): {', '.join(names())}",
    )  # fmt: skip
    download.add_argument("--repo", help="another Hub repository with the same files (a fork or mirror)")
    download.add_argument(
        "--revision", help="branch, tag or commit to download (default: the catalogue's; files must match its pins)"
    )
    download.add_argument(
        "--accept-licence", "--accept-license", action="store_true",
        help="accept a licence that is not permissive (camie: GPL-3.0) or a gated one without being asked",
    )  # fmt: skip
    _add_place_options(download)
    download.set_defaults(handler=run_download)
    listing = arguments.command(actions, "list", "show the catalogue, what is installed and whether it loads")
    listing.add_argument("--pins", action="store_true", help="also say how each file is checked after download")
    listing.add_argument("--models-dir", type=Path, metavar="DIR", help="list this models folder instead")
    listing.set_defaults(handler=run_list)
    config = arguments.command(
        actions,
        "config",
        "show or set where models are downloaded to and from (shared with the window)",
        examples="examples:\n"
        "  joytag-desktop models config                               the folder and the endpoint\n"
        "  joytag-desktop models config --models-dir /mnt/big/models  download there from now on\n"
        "  joytag-desktop models config --endpoint ''                 back to HF_ENDPOINT or huggingface.co\n",
    )
    _add_place_options(config)
    config.set_defaults(handler=run_config)
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


def _add_place_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir", type=Path, metavar="DIR",
        help=f"the models folder (default: the setting, ${paths.MODELS_ENV}, or models/ in the data folder)",
    )  # fmt: skip
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="the Hugging Face Hub or a mirror (default: the setting, $HF_ENDPOINT, huggingface.co)",
    )


def _licence_accepted(item: CatalogueEntry, accepted: bool) -> None:
    """Show the licence; a GPL or gated one is confirmed at a terminal, or by --accept-licence."""
    from joytag_desktop.taggers.hub import DownloadError

    print(f"Licence: {item.licence_note()}")
    if not item.needs_consent or accepted:
        return
    question = f"Accept the {item.licence} licence of {item.name}{' (gated)' if item.gated else ''}? [y/N] "
    if sys.stdin.isatty() and input(question).strip().lower() in ("y", "yes"):
        return
    raise DownloadError(
        f"{item.name} is under {item.licence}{', gated' if item.gated else ''}: read it at "
        f"https://huggingface.co/{item.repo} and pass --accept-licence to download it"
    )


def run_download(args: argparse.Namespace) -> int:
    from joytag_desktop.taggers import recognise
    from joytag_desktop.taggers.hub import catalogue_entry, download_model, hub_endpoint

    item = catalogue_entry(args.name)
    root = args.models_dir or paths.models_dir()
    endpoint = hub_endpoint(args.endpoint)
    print(f"{args.name}: {args.repo or item.repo} on {endpoint}, about {item.download_mb:,} MB, into {root}")
    _licence_accepted(item, args.accept_licence)
    target = download_model(
        args.name, repo_id=args.repo, revision=args.revision, tqdm_class=quiet_unless_terminal(),
        endpoint=endpoint, report=lambda line: print(f"  checked {line}"), models_dir=args.models_dir,
    )  # fmt: skip
    tagger = recognise(target)
    print(f"Installed {tagger.describe()} at {target}. Tag with it: --model {args.name}")
    if args.models_dir and args.models_dir.expanduser() != paths.models_dir():
        print(f"  (not the models folder set: tag with --model {target}, or `models config --models-dir {root}`)")
    return 0


def run_config(args: argparse.Namespace) -> int:
    from joytag_desktop.taggers.hub import hub_endpoint

    if args.models_dir is not None:
        chosen = str(args.models_dir.expanduser().resolve()) if str(args.models_dir) else ""
        if chosen:  # a file or an unwritable place would break every later command that looks for models
            try:
                Path(chosen).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ModelFolderError(f"cannot use {chosen} as the models folder: {exc.strerror or exc}") from None
        paths.save_shared_setting(paths.MODELS_FOLDER_SETTING, chosen)
    if args.endpoint is not None:
        if args.endpoint:
            hub_endpoint(args.endpoint)  # refuses what is not an http(s) address
        paths.save_shared_setting(paths.HUB_ENDPOINT_SETTING, args.endpoint.strip().rstrip("/"))
    stored = paths.shared_settings()
    print(f"Models folder: {paths.models_dir()}" + ("" if stored.get(paths.MODELS_FOLDER_SETTING) else " (default)"))
    print(f"Hub endpoint:  {hub_endpoint()}" + ("" if stored.get(paths.HUB_ENDPOINT_SETTING) else " (not set)"))
    print(f"Settings file: {paths.data_dir() / paths.SETTINGS_FILE}")
    return 0


def _state(folder: Path) -> str:
    from joytag_desktop.taggers import recognise

    try:
        tagger = recognise(folder)
    except ModelFolderError as exc:
        return f"BROKEN: {exc}"
    return f"installed: {tagger.describe()}, {tagger.weights_bytes() / 1e6:,.0f} MB"


def run_list(args: argparse.Namespace) -> int:
    from joytag_desktop.taggers import pins
    from joytag_desktop.taggers.hub import check_plan

    root = args.models_dir.expanduser() if args.models_dir else paths.models_dir()
    print(f"Catalogue (download with `joytag-desktop models download NAME`; installed ones live in {root}):")
    for item in CATALOGUE:
        folder = root / item.name
        state = _state(folder) if folder.is_dir() else "not installed"
        print(f"  {item.name:18s} {item.repo}{'/' + item.subfolder if item.subfolder else ''}")
        print(f"  {'':18s} {item.download_mb:,} MB, {item.licence}; {item.good_at}")
        print(f"  {'':18s} {state}")
        print(f"  {'':18s} checked after download: {pins.summary(item.repo, item.patterns)}")
        if args.pins:
            for line in check_plan(item):
                print(f"  {'':18s} {line}")
    print("  (e6tag is not offered: its author never published trained weights.)")
    known = {item.name for item in CATALOGUE}
    others = [
        p
        for p in sorted(root.iterdir() if root.is_dir() else [])
        if p.is_dir() and not p.name.startswith(".") and p.name not in known
    ]
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
        calibrated = library.calibrated_models()
        print(f"Models of the library (global threshold {library.threshold:g}):")
        for model in models:
            flags = [word for word, on in (("tags new files", model.auto), ("searched", model.searched)) if on]
            print(f"  {model.name:20s} {model.format:8s} {model.images:10,d} images  {', '.join(flags) or 'off'}")
            if own.get(model.name):
                shown = ", ".join(f"{category} {value:g}" for category, value in sorted(own[model.name].items()))
                print(f"  {'':20s} thresholds: {shown}")
            if model.name in calibrated:
                print(f"  {'':20s} calibrated: its own threshold for {calibrated[model.name]:,} tags")
            if model.path:
                print(f"  {'':20s} {model.path}")
    return 0
