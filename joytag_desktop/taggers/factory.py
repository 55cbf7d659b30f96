"""The one way to a tagger: a folder, a catalogue name, a catalogue model's Hub id, or the default."""

from __future__ import annotations

from pathlib import Path

from joytag_desktop.taggers.contract import TaggerFolder
from joytag_desktop.taggers.installed import resolve_model_path
from joytag_desktop.taggers.registry import recognise


def open_tagger(source: Path | str | None = None) -> TaggerFolder:
    """The checked tagger (weights not loaded) that ``source`` names.

    A folder as given (JoyTag, WD v3, JTP-1 or camie-tagger, as published); a catalogue name
    (``wd-swinv2-v3``) or its Hub id (``SmilingWolf/wd-swinv2-tagger-v3``), downloaded into the
    data folder; None: ``$JOYTAG_DESKTOP_MODEL``, else the downloaded JoyTag, else any installed
    model. ModelNotFoundError says how to get a missing model, ModelFolderError what is wrong with one.
    """
    return recognise(resolve_model_path(source))
