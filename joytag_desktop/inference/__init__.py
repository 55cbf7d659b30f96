"""Running taggers: device and precision, graph conversion and its cache, the runtimes, the decode
and batch pipeline and the engine that streams results.

Nothing here imports Qt, so the engine runs headless and on GPU machines without the GUI. The
names below are imported on first use: importing the package must not pull in torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from joytag_desktop.lazy import lazy_exports

if TYPE_CHECKING:  # what the type checker sees; at run time the names load on first use (torch)
    from joytag_desktop.inference.engine import TaggingEngine, TagResult

_EXPORTS = {
    "TaggingEngine": "engine",
    "TagResult": "engine",
}

__all__ = ["TagResult", "TaggingEngine"]
__getattr__ = lazy_exports(__name__, _EXPORTS)
