"""The published taggers the app can download: names, Hub repositories, files, sizes, licences.

Torch-free and import-light: ``models list`` and ``--help`` read it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

HUB_REPO = "fancyfeast/joytag"
DEFAULT_MODEL_NAME = "joytag"


@dataclass(frozen=True)
class CatalogueEntry:
    name: str  # the folder under models/ and the --model NAME
    family: str  # the registered tagger family its files make
    repo: str  # its Hub id
    files: tuple[str, ...]  # paths in the repository, relative to ``subfolder``
    download_mb: int
    licence: str
    good_at: str
    subfolder: str = ""  # JTP keeps each model in a folder of one repository
    gated: bool = False  # the Hub serves it only to signed-in users who accepted its terms (a token)

    @property
    def patterns(self) -> list[str]:
        prefix = f"{self.subfolder}/" if self.subfolder else ""
        return [prefix + name for name in self.files]


_WD_FILES = ("config.json", "model.safetensors", "selected_tags.csv")
_WD_GOOD_AT = "anime and illustration; Danbooru tags, characters and a rating"

CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(DEFAULT_MODEL_NAME, "joytag", HUB_REPO, ("config.json", "model.safetensors", "top_tags.txt"), 366,
                   "Apache-2.0", "photos and drawings alike; 5,813 Danbooru tags, deliberately unfiltered"),
    CatalogueEntry("wd-vit-v3", "wd", "SmilingWolf/wd-vit-tagger-v3", _WD_FILES, 378, "Apache-2.0",
                   f"{_WD_GOOD_AT} (ViT, the fastest WD)"),
    CatalogueEntry("wd-swinv2-v3", "wd", "SmilingWolf/wd-swinv2-tagger-v3", _WD_FILES, 392, "Apache-2.0",
                   f"{_WD_GOOD_AT} (SwinV2)"),
    CatalogueEntry("wd-convnext-v3", "wd", "SmilingWolf/wd-convnext-tagger-v3", _WD_FILES, 395, "Apache-2.0",
                   f"{_WD_GOOD_AT} (ConvNeXt)"),
    CatalogueEntry("wd-vit-large-v3", "wd", "SmilingWolf/wd-vit-large-tagger-v3", _WD_FILES, 1260, "Apache-2.0",
                   f"{_WD_GOOD_AT} (ViT-Large: better, 3x slower)"),
    CatalogueEntry("wd-eva02-large-v3", "wd", "SmilingWolf/wd-eva02-large-tagger-v3", _WD_FILES, 1260, "Apache-2.0",
                   f"{_WD_GOOD_AT} (EVA02-Large: the best WD, 3x slower)"),
    CatalogueEntry("jtp-pilot2", "jtp", "RedRocket/JointTaggerProject",
                   ("JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors", "tags.json"), 1797, "Apache-2.0",
                   "furry art; 9,083 e621 tags (JTP-1.1, gated head)", subfolder="JTP_PILOT2"),
    CatalogueEntry("jtp-pilot", "jtp", "RedRocket/JointTaggerProject",
                   ("JTP_PILOT-e4-vit_so400m_patch14_siglip_384.safetensors", "tags.json"), 1755, "Apache-2.0",
                   "furry art; 9,083 e621 tags (JTP-1)", subfolder="JTP_PILOT"),
    CatalogueEntry("camie-v2", "camie", "Camais03/camie-tagger-v2",
                   ("camie-tagger-v2.onnx", "camie-tagger-v2-metadata.json"), 797, "GPL-3.0",
                   "anime illustration; 70,527 Danbooru tags in 7 categories incl. artist and year"),
    CatalogueEntry("camie-v1", "camie", "Camais03/camie-tagger",
                   ("model_initial.onnx", "model_initial_metadata.json", "model/thresholds.json"), 856, "GPL-3.0",
                   "anime illustration; 70,527 tags, 7 categories, threshold profiles (initial stage)"),
    CatalogueEntry("pixai-v0.9", "pixai", "deepghs/pixai-tagger-v0.9-onnx",
                   ("model.onnx", "selected_tags.csv", "categories.json", "preprocess.json", "thresholds.csv"), 1296,
                   "Apache-2.0", "anime illustration; 13,461 Danbooru tags (2025), strongest at characters, "
                   "with their copyrights (EVA02-Large, ONNX)", gated=True),
)  # fmt: skip


def entry(name: str) -> CatalogueEntry | None:
    for item in CATALOGUE:
        if item.name == name:
            return item
    return None


def names() -> list[str]:
    return [item.name for item in CATALOGUE]


def from_hub(hub_id: str) -> list[CatalogueEntry]:
    """The catalogue models published in the Hub repository ``hub_id`` (JTP keeps two in one)."""
    return [item for item in CATALOGUE if item.repo == hub_id]
