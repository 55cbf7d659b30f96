"""The published taggers the app can download: names, Hub repositories, files, sizes, licences.

Torch-free and import-light: ``models list`` and ``--help`` read it at once.
"""

from __future__ import annotations

from dataclasses import dataclass

HUB_REPO = "fancyfeast/joytag"
DEFAULT_MODEL_NAME = "joytag"
# Licences that ask nothing of a user who runs the model: others are shown and confirmed first.
PERMISSIVE_LICENCES = frozenset({"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "CC-BY-4.0"})


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
    # Optional, after the fields above so that entries written before them still read the same:
    gated: bool = False  # the Hub asks for a login and the licence accepted before the files
    revision: str = "main"  # a commit where the files' pins were read (taggers/pins.py)

    @property
    def patterns(self) -> list[str]:
        prefix = f"{self.subfolder}/" if self.subfolder else ""
        return [prefix + name for name in self.files]

    @property
    def needs_consent(self) -> bool:
        """A licence to read and accept before downloading: not a permissive one, or a gated repository."""
        return self.gated or self.licence not in PERMISSIVE_LICENCES

    def licence_note(self) -> str:
        """The licence as the download shows it, with where to read it."""
        gated = "; gated: the Hub asks for a login and the licence accepted" if self.gated else ""
        return f"{self.licence} (read it at https://huggingface.co/{self.repo}){gated}"


_WD_FILES = ("config.json", "model.safetensors", "selected_tags.csv")
_IMMICH_FILES = ("config.json", "visual/model.onnx", "visual/preprocess_cfg.json", "textual/model.onnx",
                 "textual/tokenizer.json", "textual/tokenizer_config.json")  # fmt: skip
_HF_SIGLIP_FILES = ("config.json", "model.safetensors", "preprocessor_config.json", "tokenizer.json",
                    "tokenizer_config.json")  # fmt: skip
_WD_GOOD_AT = "anime and illustration; Danbooru tags, characters and a rating"

CATALOGUE: tuple[CatalogueEntry, ...] = (
    CatalogueEntry(DEFAULT_MODEL_NAME, "joytag", HUB_REPO, ("config.json", "model.safetensors", "top_tags.txt"), 366,
                   "Apache-2.0", "photos and drawings alike; 5,813 Danbooru tags, deliberately unfiltered"),
    CatalogueEntry("wd-vit-v3", "wd", "SmilingWolf/wd-vit-tagger-v3", _WD_FILES, 378, "Apache-2.0",
                   f"{_WD_GOOD_AT} (ViT, the fastest WD)",
                   revision="7f6b584d0bd3f55c4531f14ba3d4761b2bccdc0f"),
    CatalogueEntry("wd-swinv2-v3", "wd", "SmilingWolf/wd-swinv2-tagger-v3", _WD_FILES, 392, "Apache-2.0",
                   f"{_WD_GOOD_AT} (SwinV2)",
                   revision="627aef95638667ddcaa3ac8ae625e88ea5b02f51"),
    CatalogueEntry("wd-convnext-v3", "wd", "SmilingWolf/wd-convnext-tagger-v3", _WD_FILES, 395, "Apache-2.0",
                   f"{_WD_GOOD_AT} (ConvNeXt)",
                   revision="d39e46de298d27340111b64965e20b8185c407e6"),
    CatalogueEntry("wd-vit-large-v3", "wd", "SmilingWolf/wd-vit-large-tagger-v3", _WD_FILES, 1260, "Apache-2.0",
                   f"{_WD_GOOD_AT} (ViT-Large: better, 3x slower)"),
    CatalogueEntry("wd-eva02-large-v3", "wd", "SmilingWolf/wd-eva02-large-tagger-v3", _WD_FILES, 1260, "Apache-2.0",
                   f"{_WD_GOOD_AT} (EVA02-Large: the best WD, 3x slower)",
                   revision="b25b82a03f7282e41aa2f257a52c7583b710bd1c"),
    CatalogueEntry("jtp-pilot2", "jtp", "RedRocket/JointTaggerProject",
                   ("JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors", "tags.json"), 1797, "Apache-2.0",
                   "furry art; 9,083 e621 tags (JTP-1.1, gated head)", subfolder="JTP_PILOT2"),
    CatalogueEntry("jtp-pilot", "jtp", "RedRocket/JointTaggerProject",
                   ("JTP_PILOT-e4-vit_so400m_patch14_siglip_384.safetensors", "tags.json"), 1755, "Apache-2.0",
                   "furry art; 9,083 e621 tags (JTP-1)", subfolder="JTP_PILOT"),
    # ~1,002 MB: 501 M parameters in bfloat16 (backbone from the published code, head sizes from a
    # published loader); the file's exact size is not in any stored copy of the repository.
    CatalogueEntry("jtp3-hydra", "jtp3", "RedRocket/JTP-3",
                   ("models/jtp-3-hydra.safetensors", "data/jtp-3-hydra-tags.csv"), 1002, "Apache-2.0",
                   "furry art; 7,504 e621 tags with species, implications (JTP-3, any aspect ratio)"),
    CatalogueEntry("camie-v2", "camie", "Camais03/camie-tagger-v2",
                   ("camie-tagger-v2.onnx", "camie-tagger-v2-metadata.json"), 797, "GPL-3.0",
                   "anime illustration; 70,527 Danbooru tags in 7 categories incl. artist and year",
                   revision="7d40c1b85b86ab4f607b2caf26b1b50c99db743e"),
    CatalogueEntry("camie-v1", "camie", "Camais03/camie-tagger",
                   ("model_initial.onnx", "model_initial_metadata.json", "model/thresholds.json"), 856, "GPL-3.0",
                   "anime illustration; 70,527 tags, 7 categories, threshold profiles (initial stage)"),
    # SigLIP2: embedding models (no tags) for search in words. Sizes are fp32 parameter counts x 4
    # (vision + text towers), not yet read from the Hub: the download pins will say the exact bytes.
    CatalogueEntry("siglip2-so400m-384", "siglip2", "immich-app/ViT-SO400M-16-SigLIP2-384__webli", _IMMICH_FILES,
                   4540, "Apache-2.0", "search in words, any language (Immich's export; the best SigLIP2, slow)"),
    CatalogueEntry("siglip2-b16-224", "siglip2", "immich-app/ViT-B-16-SigLIP2__webli", _IMMICH_FILES, 1500,
                   "Apache-2.0", "search in words, any language (Immich's export; base size, 4x faster)"),
    CatalogueEntry("siglip2-so400m-384-hf", "siglip2", "google/siglip2-so400m-patch16-384", _HF_SIGLIP_FILES, 4550,
                   "Apache-2.0", "search in words (Google's original, transformers layout)"),
    CatalogueEntry("siglip2-base-224-hf", "siglip2", "google/siglip2-base-patch16-224", _HF_SIGLIP_FILES, 1500,
                   "Apache-2.0", "search in words (Google's original, transformers layout, base size)"),
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
