"""The published JoyTag folder (fancyfeast/joytag): its files, its preprocessing constants, how to get one.

Torch-free, so the family registers and error messages are written without loading a network.
"""

from __future__ import annotations

from joytag_desktop import paths
from joytag_desktop.taggers.catalogue import HUB_REPO

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
TAGS_FILE = "top_tags.txt"
REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE, TAGS_FILE)

# The reference preprocessing normalises with CLIP's mean and standard deviation.
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)

HOW_TO_GET_A_MODEL = (
    "Download JoyTag with `joytag-desktop models download` (about 366 MB, needs internet), "
    f"or pass --model DIR (or set {paths.MODEL_ENV}) to a folder holding {', '.join(REQUIRED_FILES)} "
    f"from the Hugging Face repository {HUB_REPO}."
)
