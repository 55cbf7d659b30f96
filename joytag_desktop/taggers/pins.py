"""What each catalogue file must be: its size in bytes and, where published, its SHA-256.

Keyed by Hub repository and path in it, so an entry another module adds for a pinned file is
checked too. A pin without a SHA-256 is checked by size only and reported as unverified; each
value says where it was read, and none is made up (docs/taggers.md, "Pinned files").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    size: int | None  # None: the Hub's pages round it ("378 MB"); the SHA-256 decides then
    sha256: str = ""  # "": no published SHA-256 found; the size alone is checked
    source: str = ""  # where the values were read

    @property
    def verified(self) -> bool:
        return bool(self.sha256)


_LFS_PAGE = "the SHA256 of the file's Git LFS details on its Hugging Face page"
_THIRD_PARTY = "a third-party project's pinned assets (size and SHA-256 at this revision)"
_JTP = "git-lfs pointer sizes on the repository's file pages (no SHA-256 found for this repository)"
_WD_TAGS_SIZE = "a third-party project's pinned size at this revision (no SHA-256 found)"
_CONFIG_SIZE = "the exact byte count on the repository's file list at this revision (no SHA-256 published)"
_WD_VIT = "SmilingWolf/wd-vit-tagger-v3"
_WD_SWINV2 = "SmilingWolf/wd-swinv2-tagger-v3"
_WD_CONVNEXT = "SmilingWolf/wd-convnext-tagger-v3"
_WD_EVA02 = "SmilingWolf/wd-eva02-large-tagger-v3"
_CAMIE_V2 = "Camais03/camie-tagger-v2"
_JTP_REPO = "RedRocket/JointTaggerProject"

PINS: dict[tuple[str, str], Pin] = {
    ("fancyfeast/joytag", "model.safetensors"): Pin(
        None, "5304065c0e4fb26b265194fa2209b8dddfa2b9a7239397c1ae0f47649f91e293", _LFS_PAGE
    ),
    (_WD_VIT, "model.safetensors"): Pin(
        None, "ee78db0cd9f1c7e01578cc89661a10c73675d60c30e235e505c391f57ea4d4e5", _LFS_PAGE
    ),
    (_WD_VIT, "selected_tags.csv"): Pin(308_468, source=_WD_TAGS_SIZE),
    (_WD_VIT, "config.json"): Pin(684, source=_CONFIG_SIZE),
    (_WD_SWINV2, "config.json"): Pin(637, source=_CONFIG_SIZE),
    (_WD_CONVNEXT, "config.json"): Pin(559, source=_CONFIG_SIZE),
    (_WD_EVA02, "config.json"): Pin(634, source=_CONFIG_SIZE),
    ("SmilingWolf/wd-vit-large-tagger-v3", "config.json"): Pin(708, source=_CONFIG_SIZE),
    (_WD_SWINV2, "model.safetensors"): Pin(
        None, "39fe04000d5907a0a7616df54af744d43fbd70b5fba7abc3135d3675734c03ef", _LFS_PAGE
    ),
    (_WD_SWINV2, "selected_tags.csv"): Pin(
        308_468, "298633d94d0031d2081c0893f29c82eab7f0df00b08483ba8f29d1e979441217", _THIRD_PARTY
    ),
    (_WD_CONVNEXT, "model.safetensors"): Pin(
        None, "77ad172eb1f7a697dc629bef7da7d50402e93ef0b1c86d7f69a865d31be64022", _LFS_PAGE
    ),
    (_WD_EVA02, "model.safetensors"): Pin(
        None, "74f05b0aad869d9f91fbc597bc8d157d98abdead573d5c23509a195dbb8a7ef5", _LFS_PAGE
    ),
    (_WD_EVA02, "selected_tags.csv"): Pin(308_468, source=_WD_TAGS_SIZE),
    (_CAMIE_V2, "camie-tagger-v2.onnx"): Pin(
        788_983_561, "ab0aaf253e3d546090001bec9bebc776c354ab6800f442ab9167af87b4a953ac", _THIRD_PARTY
    ),
    (_CAMIE_V2, "camie-tagger-v2-metadata.json"): Pin(
        7_771_946, "de9f962eb0fd86b7e30d0af4e8c7990205200d70e955d8ecae60f87d14eae66b", _THIRD_PARTY
    ),
    (_JTP_REPO, "JTP_PILOT/JTP_PILOT-e4-vit_so400m_patch14_siglip_384.safetensors"): Pin(1_754_826_116, source=_JTP),
    (_JTP_REPO, "JTP_PILOT2/JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors"): Pin(1_796_716_928, source=_JTP),
}


def pin(repo: str, path: str) -> Pin | None:
    """The pin of ``path`` in ``repo``, or None: that file is checked against what the Hub states."""
    return PINS.get((repo, path))


def pin_counts(repo: str, paths: list[str]) -> tuple[int, int]:
    """How many of a model's files are pinned by SHA-256, and how many by size only."""
    found = [pin(repo, path) for path in paths]
    by_sha = sum(1 for item in found if item is not None and item.verified)
    by_size = sum(1 for item in found if item is not None and not item.verified)
    return by_sha, by_size


def summary(repo: str, paths: list[str]) -> str:
    """How a model's files are pinned, in a few words (``models list``; the Models window says it
    in the window's language from ``pin_counts``)."""
    by_sha, by_size = pin_counts(repo, paths)
    parts = [f"{by_sha} of {len(paths)} files pinned by SHA-256"]
    if by_size:
        parts.append(f"{by_size} by size only (SHA-256 unverified)")
    return ", ".join(parts)
