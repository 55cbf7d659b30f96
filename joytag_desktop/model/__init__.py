"""The tagger models: folder format, network, preprocessing and the inference engine.

Nothing here imports Qt, so the engine runs headless and on GPU machines without the GUI. The
names below are imported on first use: importing a submodule (the catalogue, say) must not pull
in torch, so that commands which do not tag start at once.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ViTConfig": "config",
    "TaggingEngine": "engine",
    "TagResult": "engine",
    "LoadedModel": "folder",
    "ModelFolder": "folder",
    "inspect_folder": "folder",
    "load_model": "folder",
    "resolve_model_path": "folder",
    "JoyTagViT": "vit",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
