"""What each catalogue file must be: its size in bytes and, where published, its SHA-256.

Keyed by Hub repository and path in it, so an entry another module adds for a pinned file is
checked too. A pin without a SHA-256 is checked by size only and reported as unverified; each
value says where it was read, and none is made up (docs/taggers.md, "Pinned files").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pin:
    size: int
    sha256: str = ""  # "": no published SHA-256 found; the size alone is checked
    source: str = ""  # where the values were read

    @property
    def verified(self) -> bool:
        return bool(self.sha256)


_CAMIE_V2 = "a third-party project's pinned assets (SHA-256 and size at revision 7d40c1b8)"
_JTP = "git-lfs pointer sizes on the repository's file pages (no SHA-256 found)"

PINS: dict[tuple[str, str], Pin] = {
    ("Camais03/camie-tagger-v2", "camie-tagger-v2.onnx"): Pin(
        788_983_561, "ab0aaf253e3d546090001bec9bebc776c354ab6800f442ab9167af87b4a953ac", _CAMIE_V2
    ),
    ("Camais03/camie-tagger-v2", "camie-tagger-v2-metadata.json"): Pin(
        7_771_946, "de9f962eb0fd86b7e30d0af4e8c7990205200d70e955d8ecae60f87d14eae66b", _CAMIE_V2
    ),
    ("RedRocket/JointTaggerProject", "JTP_PILOT/JTP_PILOT-e4-vit_so400m_patch14_siglip_384.safetensors"): Pin(
        1_754_826_116, source=_JTP
    ),
    ("RedRocket/JointTaggerProject", "JTP_PILOT2/JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors"): Pin(
        1_796_716_928, source=_JTP
    ),
}


def pin(repo: str, path: str) -> Pin | None:
    """The pin of ``path`` in ``repo``, or None: that file is checked against what the Hub states."""
    return PINS.get((repo, path))
