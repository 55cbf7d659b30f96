"""The JoyTag model: folder format, network, preprocessing and the inference engine.

Nothing here imports Qt, so the engine runs headless and on GPU machines without the GUI.
"""

from joytag_desktop.model.config import ViTConfig
from joytag_desktop.model.engine import TaggingEngine, TagResult
from joytag_desktop.model.folder import LoadedModel, ModelFolder, inspect_folder, load_model, resolve_model_path
from joytag_desktop.model.vit import JoyTagViT

__all__ = [
    "JoyTagViT",
    "LoadedModel",
    "ModelFolder",
    "TagResult",
    "TaggingEngine",
    "ViTConfig",
    "inspect_folder",
    "load_model",
    "resolve_model_path",
]
