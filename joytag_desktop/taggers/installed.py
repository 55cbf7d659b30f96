"""Which model to use: ``--model`` (a folder, a catalogue name or its Hub id), the environment, or what is installed.

Torch-free, so ``models list`` and the GUI's first-run check answer at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from joytag_desktop import paths
from joytag_desktop.errors import ModelNotFoundError
from joytag_desktop.taggers.catalogue import DEFAULT_MODEL_NAME, entry, from_hub

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
