"""Progress on stderr for long command-line runs."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

# Below this many items a progress bar is noise.
MIN_ITEMS_FOR_PROGRESS = 6


def progress_bar(total: int | None, description: str, unit: str = "img", **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr, silent for a handful of items."""
    disable = total is not None and total < MIN_ITEMS_FOR_PROGRESS
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        disable=disable,
        dynamic_ncols=True,
        mininterval=0.5,
        leave=False,
        **kwargs,
    )
