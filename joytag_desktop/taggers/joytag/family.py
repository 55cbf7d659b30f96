"""JoyTag (fancyfeast/joytag): ``config.json`` + ``model.safetensors`` + ``top_tags.txt``.

The family registers without torch; the folder checks (``folder.py``), the ViT (``network.py``)
and the reference preprocessing (``preprocess.py``) are imported when a folder is inspected or run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from joytag_desktop.taggers.contract import SAFETENSORS, FastCfg, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.joytag.layout import CONFIG_FILE, MEAN, STD, TAGS_FILE, WEIGHTS_FILE
from joytag_desktop.taggers.reading import is_siglip_config, is_timm_config
from joytag_desktop.taggers.registry import register_tagger, tagger_family
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from joytag_desktop.taggers.joytag.network import JoyTagViT

# JoyTag's own demo keeps tags at or above 0.4.
JOYTAG_POLICY = Policy(default=0.4)


def with_sigmoid(network: torch.nn.Module) -> torch.nn.Module:
    """JoyTag's ViT returning (scores, embedding); the sigmoid in float32 even under bf16 autocast."""
    import torch

    class JoyTagScores(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net: Any = network  # JoyTagViT: forward_with_embedding is its own, not nn.Module's

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            logits, embedding = self.net.forward_with_embedding(x)
            return torch.sigmoid(logits.float()), embedding.float()

    return JoyTagScores().eval()


# Tried last: its claim (any config.json that is not timm's) is the loosest.
@register_tagger(order=90)
class JoyTagFamily(TaggerFamily):
    name = "joytag"
    title = "JoyTag"
    needs = "config.json, model.safetensors and top_tags.txt"
    markers = (TAGS_FILE,)

    def claims(self, folder: Path) -> bool:
        config = folder / CONFIG_FILE
        foreign = is_timm_config(config) or is_siglip_config(config)
        return (folder / TAGS_FILE).exists() or (config.exists() and not foreign)

    def inspect(self, folder: Path) -> TaggerFolder:
        return inspect_folder(folder)

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        return with_sigmoid(load_network(tagger))

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        from joytag_desktop.media.imaging import flatten_to_rgb
        from joytag_desktop.taggers.joytag.preprocess import reference_tensor

        return reference_tensor(flatten_to_rgb(image), tagger.image_size).numpy()

    def fast_cfg(self, tagger: TaggerFolder, route: str) -> FastCfg:
        return FastCfg(MEAN, STD)


def inspect_folder(path: Path | str) -> TaggerFolder:
    """Check a JoyTag folder (its files, config and every tensor's shape) without loading weights;
    ModelFolderError names what is wrong."""
    from joytag_desktop.taggers.joytag.folder import check_folder

    folder = Path(path).expanduser()
    config, tags = check_folder(folder)
    return TaggerFolder(
        path=folder,
        family=tagger_family(JoyTagFamily.name),
        variant=f"ViT, {config.num_blocks} blocks, width {config.d_model}",
        vocabulary=Vocabulary.general_only(tags),
        policy=JOYTAG_POLICY,
        image_size=config.image_size,
        files={SAFETENSORS: folder / WEIGHTS_FILE},
        details={"config": config},
    )


def load_network(source: TaggerFolder | Path | str) -> JoyTagViT:
    """The bare ViT of a JoyTag folder (logits and embedding), weights loaded: float32, eval, CPU."""
    from joytag_desktop.taggers.joytag.folder import load_weights

    tagger = source if isinstance(source, TaggerFolder) else inspect_folder(source)
    return load_weights(tagger.files[SAFETENSORS], tagger.details["config"])
