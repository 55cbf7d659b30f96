"""The registry of tagger families, and recognising a folder's family from its files.

Adding a tagger (JTP-3, a new WD release) is one module whose ``TaggerFamily`` subclass carries
``@register_tagger``, imported by ``taggers/__init__.py``, plus its fixture and catalogue entries;
tests/test_tagger_registry.py holds every registered family to the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers.contract import TaggerFamily, TaggerFolder

Family = TypeVar("Family", bound=TaggerFamily)

# name -> (order, the family); folders are offered to families by ascending order.
_FAMILIES: dict[str, tuple[int, TaggerFamily]] = {}


def register_tagger(order: int) -> Callable[[type[Family]], type[Family]]:
    """Class decorator: register one instance of the family under its ``name``.

    ``order``: where the family stands when a folder is recognised, lowest first. The more
    specific file sets go first; the loosest claim (JoyTag's: any config.json that is not timm's) last."""

    def register(cls: type[Family]) -> type[Family]:
        if cls.name in _FAMILIES:
            raise ValueError(f"a tagger family called {cls.name!r} is registered already")
        _FAMILIES[cls.name] = (order, cls())
        return cls

    return register


def list_taggers() -> list[str]:
    """The registered family names, in the order a folder is offered to them."""
    return [name for name, _ in sorted(_FAMILIES.items(), key=lambda item: (item[1][0], item[0]))]


def tagger_family(name: str) -> TaggerFamily:
    """The registered family called ``name``; KeyError if there is none."""
    return _FAMILIES[name][1]


def what_each_needs() -> str:
    families = [tagger_family(name) for name in list_taggers()]
    return "; ".join(f"{family.title}: {family.needs}" for family in families)


def recognise(path: Path | str) -> TaggerFolder:
    """Recognise and check a model folder without loading weights; ModelFolderError says what is wrong."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise ModelFolderError(f"model folder {folder} does not exist")
    if not folder.is_dir():
        raise ModelFolderError(f"model path {folder} is not a folder")
    for name in list_taggers():
        family = tagger_family(name)
        if family.claims(folder):
            return family.inspect(folder)
    raise ModelFolderError(
        f"model folder {folder} holds no tagger this app knows. Expected files — {what_each_needs()}"
    )
