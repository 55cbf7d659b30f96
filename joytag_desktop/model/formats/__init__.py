"""The published tagger formats, one module each, and recognising a folder's format from its files.

Adding a tagger (JTP-3, a new WD release) is one module with a ``TaggerFormat`` subclass, listed in
``FORMATS``, and its fixture; the contract tests iterate ``FORMATS``.
"""

from __future__ import annotations

from pathlib import Path

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.model.formats.base import TaggerFolder, TaggerFormat
from joytag_desktop.model.formats.camie import CamieFormat
from joytag_desktop.model.formats.joytag import FORMAT as JOYTAG
from joytag_desktop.model.formats.jtp import JtpFormat
from joytag_desktop.model.formats.wd import WdFormat

# In the order folders are tried: the more specific file sets first.
FORMATS: tuple[TaggerFormat, ...] = (CamieFormat(), WdFormat(), JtpFormat(), JOYTAG)


def format_named(name: str) -> TaggerFormat:
    for fmt in FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def what_each_needs() -> str:
    return "; ".join(f"{fmt.title}: {fmt.needs}" for fmt in FORMATS)


def inspect_tagger(path: Path | str) -> TaggerFolder:
    """Recognise and check a model folder without loading weights; ModelFolderError says what is wrong."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelFolderError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFolderError(f"model path {folder} is not a folder")
    for fmt in FORMATS:
        if fmt.claims(folder):
            return fmt.inspect(folder)
    raise ModelFolderError(
        f"model folder {folder} holds no tagger this app knows. Expected files — {what_each_needs()}"
    )


__all__ = ["FORMATS", "TaggerFolder", "TaggerFormat", "format_named", "inspect_tagger", "what_each_needs"]
