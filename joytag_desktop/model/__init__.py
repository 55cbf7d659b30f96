"""The tagger models: folder format, network, preprocessing and the inference engine.

Nothing here imports Qt, so the engine runs headless and on GPU machines without the GUI. The
names below are imported on first use: importing a submodule (the catalogue, say) must not pull
in torch, so that commands which do not tag start at once.
"""

from __future__ import annotations

from joytag_desktop.lazy import lazy_exports

_EXPORTS = {
    "ViTConfig": "config",
    "TaggingEngine": "engine",
    "TagResult": "engine",
    "LoadedModel": "folder",
    "ModelFolder": "folder",
    "inspect_folder": "folder",
    "load_model": "folder",
    "resolve_model_path": "installed",
    "inspect_tagger": "formats",
    "TaggerFolder": "formats",
    "JoyTagViT": "vit",
}

__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
