"""Which model to use: ``--model`` (a folder, a catalogue name or its Hub id), the environment, or what is installed.

Torch-free, so ``models list`` and the GUI's first-run check answer at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from joytag_desktop import paths
from joytag_desktop.errors import ModelNotFoundError
from joytag_desktop.taggers.catalogue import CATALOGUE, DEFAULT_MODEL_NAME, CatalogueEntry, entry, from_hub

if TYPE_CHECKING:
    from joytag_desktop.taggers.contract import TaggerFolder

HOW_TO_GET_A_MODEL = (
    "Download one with `joytag-desktop models download NAME` (`joytag-desktop models list` shows them; "
    "JoyTag is about 366 MB and needs internet), "
    f"or pass --model DIR (or set {paths.MODEL_ENV}) to a model folder as published on the Hugging Face Hub."
)


def installed_models() -> list[Path]:
    """Model folders in the data directory (valid or not: callers inspect them)."""
    root = paths.models_dir()
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def named_model(given: str | Path) -> Path:
    """A folder path as given, or the installed folder of a catalogue name (``wd-swinv2-v3``) or of
    its Hub id (``SmilingWolf/wd-swinv2-tagger-v3``) where no such folder exists."""
    text = str(given)
    path = Path(text).expanduser()
    if path.exists():
        return path
    hub_entries = from_hub(text)
    if len(hub_entries) > 1:
        raise ModelNotFoundError(
            f"{text} holds several models: name one of {', '.join(item.name for item in hub_entries)}"
        )
    if hub_entries:
        text = hub_entries[0].name
    elif os.sep in text or "/" in text or text.startswith(".") or entry(text) is None:
        return path
    installed = paths.models_dir() / text
    if installed.is_dir():
        return installed
    raise ModelNotFoundError(
        f"{text} is not downloaded yet: run `joytag-desktop models download {text}` "
        f"(or pass --model DIR to a folder holding it)"
    )


def resolve_model_path(explicit: Path | str | None = None) -> Path:
    """The folder to use: --model, then $JOYTAG_DESKTOP_MODEL, then the downloaded JoyTag, then any installed."""
    for given in (explicit, os.environ.get(paths.MODEL_ENV)):
        if given:
            return named_model(given)
    default = paths.models_dir() / DEFAULT_MODEL_NAME
    if default.is_dir():
        return default
    candidates = installed_models()
    if candidates:
        return candidates[0]
    raise ModelNotFoundError(f"No tagger model is installed. {HOW_TO_GET_A_MODEL}")


def catalogue_names(tagger: TaggerFolder) -> list[str]:
    """The catalogue models a recognised folder holds (usually one; none for a tagger of a known
    family that the catalogue does not list): the family, then the published weights' file names,
    then the folder's path (the Hub's cache names the repository), then the variant its files state."""
    same = [item for item in CATALOGUE if item.family == tagger.family.name]
    if len(same) <= 1:
        return [item.name for item in same]
    weights = {path.name for path in tagger.files.values()}
    by_files = [item for item in same if weights & {Path(name).name for name in item.files}]
    if len(by_files) == 1:
        return [by_files[0].name]
    candidates = by_files or same
    parts = [part.lower() for part in tagger.path.parts]
    by_path = [
        item
        for item in candidates
        if item.name in parts or any(item.repo.split("/")[-1].lower() in part for part in parts)
    ]
    if len(by_path) == 1:
        return [by_path[0].name]
    candidates = by_path or candidates
    stated = f"{tagger.variant} {tagger.path.name}".lower().replace("_", "-")
    hits = [item for item in candidates if _variant_key(item) in stated]
    longest = max((len(_variant_key(item)) for item in hits), default=0)
    return [item.name for item in hits if len(_variant_key(item)) == longest]


def _variant_key(item: CatalogueEntry) -> str:
    """What tells an entry from its family's others: ``wd-vit-large-v3`` → ``vit-large``."""
    return item.name.removeprefix(f"{item.family}-").removesuffix("-v3")
