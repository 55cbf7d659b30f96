"""Where the published models live: names and Hub repositories, without importing torch."""

from __future__ import annotations

HUB_REPO = "fancyfeast/joytag"
DEFAULT_MODEL_NAME = "joytag"
