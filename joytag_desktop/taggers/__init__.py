"""The taggers: a registry of families (one module each), the folder contract, the catalogue, Hub
downloads, installed models and vocabularies.

Importing the package registers every family: the modules below import no torch (a family loads
its network only when asked to build it), so commands that do not tag start at once. Running a
tagger is ``joytag_desktop.inference``'s business.
"""

from __future__ import annotations

# Each family module registers itself on import (timm's way): ``registry.py`` orders them.
from joytag_desktop.taggers import camie, joytag, jtp, jtp3, pixai, siglip2, wd  # noqa: F401
from joytag_desktop.taggers.contract import TaggerFamily, TaggerFolder
from joytag_desktop.taggers.factory import open_tagger
from joytag_desktop.taggers.registry import list_taggers, recognise, register_tagger, tagger_family

__all__ = [
    "TaggerFamily",
    "TaggerFolder",
    "list_taggers",
    "open_tagger",
    "recognise",
    "register_tagger",
    "tagger_family",
]
