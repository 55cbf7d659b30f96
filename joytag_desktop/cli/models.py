"""``joytag-desktop models``: download and list model folders."""

from __future__ import annotations

import argparse
import os

from joytag_desktop import paths
from joytag_desktop.cli import arguments
from joytag_desktop.cli.progress import quiet_unless_terminal
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.model.catalogue import HUB_REPO


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = arguments.command(subparsers, "models", "download or list tagger models")
    actions = parser.add_subparsers(dest="models_action", required=True, metavar="ACTION")
    download = arguments.command(
        actions,
        "download",
        f"download {HUB_REPO} from the Hugging Face Hub (with a progress bar)",
        examples=f"example:\n  joytag-desktop models download              {HUB_REPO} into the data folder\n",
    )
    download.add_argument("--repo", default=HUB_REPO, help=f"Hub repository (default {HUB_REPO})")
    download.add_argument("--revision", help="branch, tag or commit to download (default: the newest)")
    download.set_defaults(handler=run_download)
    listing = arguments.command(actions, "list", "show installed models and whether they load")
    listing.set_defaults(handler=run_list)


def run_download(args: argparse.Namespace) -> int:
    from joytag_desktop.model.folder import inspect_folder
    from joytag_desktop.model.hub import download_model

    print(f"Downloading {args.repo} into {paths.models_dir()} …")
    target = download_model(repo_id=args.repo, revision=args.revision, tqdm_class=quiet_unless_terminal())
    folder = inspect_folder(target)
    print(f"Installed {folder.name}: {folder.config.n_tags} tags, {folder.config.image_size} px, at {target}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from joytag_desktop.model.folder import inspect_folder, installed_models

    candidates = installed_models()
    from_env = os.environ.get(paths.MODEL_ENV)
    if from_env:
        candidates.insert(0, paths.Path(from_env).expanduser())
    if not candidates:
        print(f"No models installed in {paths.models_dir()}. Run `joytag-desktop models download`.")
        return 0
    for folder_path in candidates:
        try:
            folder = inspect_folder(folder_path)
        except ModelFolderError as exc:
            print(f"{folder_path}: BROKEN: {exc}")
            continue
        size_mb = (folder.path / "model.safetensors").stat().st_size / 1e6
        note = f" (from ${paths.MODEL_ENV})" if str(folder_path) == from_env else ""
        print(
            f"{folder.path}{note}: {folder.config.n_tags} tags, {folder.config.image_size} px, "
            f"{folder.config.num_blocks} blocks, {size_mb:.0f} MB"
        )
    return 0
