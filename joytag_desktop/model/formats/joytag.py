"""JoyTag (fancyfeast/joytag): ``config.json`` + ``model.safetensors`` + ``top_tags.txt``.

The network, its config and the folder checks live in ``model/vit.py``, ``model/config.py`` and
``model/folder.py``; this module presents them through the common format interface.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from joytag_desktop.model.formats.base import SAFETENSORS, FastCfg, TaggerFolder, TaggerFormat, is_timm_config
from joytag_desktop.model.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from joytag_desktop.model.folder import ModelFolder

# JoyTag's own demo keeps tags at or above 0.4.
JOYTAG_POLICY = Policy(default=0.4)


def with_sigmoid(network: torch.nn.Module) -> torch.nn.Module:
    """JoyTag's ViT returning (scores, embedding); the sigmoid in float32 even under bf16 autocast."""
    import torch

    class JoyTagScores(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = network

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits, embedding = self.net.forward_with_embedding(x)
            return torch.sigmoid(logits.float()), embedding.float()

    return JoyTagScores().eval()


class JoyTagFormat(TaggerFormat):
    name = "joytag"
    title = "JoyTag"
    needs = "config.json, model.safetensors and top_tags.txt"
    markers = ("top_tags.txt",)

    def claims(self, folder: Path) -> bool:
        config = folder / "config.json"
        return (folder / "top_tags.txt").exists() or (config.exists() and not is_timm_config(config))

    def inspect(self, folder: Path) -> TaggerFolder:
        from joytag_desktop.model.folder import inspect_folder

        return tagger_folder(inspect_folder(folder))

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        from joytag_desktop.model.folder import load_model

        return with_sigmoid(load_model(tagger.details["folder"]).network)

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        from joytag_desktop.imaging import flatten_to_rgb
        from joytag_desktop.model.preprocess import reference_tensor

        return reference_tensor(flatten_to_rgb(image), tagger.image_size).numpy()

    def fast_cfg(self, tagger: TaggerFolder, route: str) -> FastCfg:
        from joytag_desktop.model.preprocess import MEAN, STD

        return FastCfg(MEAN, STD)


def tagger_folder(checked: ModelFolder) -> TaggerFolder:
    """A checked JoyTag folder in the common form."""
    from joytag_desktop.model.folder import WEIGHTS_FILE

    return TaggerFolder(
        path=checked.path,
        format=FORMAT,
        variant=f"ViT, {checked.config.num_blocks} blocks, width {checked.config.d_model}",
        vocabulary=Vocabulary.general_only(checked.tags),
        policy=JOYTAG_POLICY,
        image_size=checked.config.image_size,
        files={SAFETENSORS: checked.path / WEIGHTS_FILE},
        details={"folder": checked},
    )


FORMAT = JoyTagFormat()
