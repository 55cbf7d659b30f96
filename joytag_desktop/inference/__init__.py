"""Running taggers: device and precision, graph conversion and its cache, the runtimes, the decode
and batch pipeline and the engine that streams results.

Nothing here imports Qt, so the engine runs headless and on GPU machines without the GUI. The
names below are imported on first use: importing the package must not pull in torch.
"""

from __future__ import annotations

from joytag_desktop.lazy import lazy_exports

_EXPORTS = {
    "TaggingEngine": "engine",
    "TagResult": "engine",
}

__all__ = ["TagResult", "TaggingEngine"]  # the names _EXPORTS hands on
__getattr__ = lazy_exports(__name__, _EXPORTS)
