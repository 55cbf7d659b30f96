"""Progress on stderr for long command-line runs: drawn on a terminal only, cleared when done."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tqdm import tqdm

# Below this many items a progress bar is noise.
MIN_ITEMS_FOR_PROGRESS = 6


def shows_progress() -> bool:
    """Bars only on a terminal: a log file or a pipe would collect every carriage-return frame."""
    return sys.stderr.isatty()


def _terminal_size() -> dict[str, Any]:
    """Follow the terminal's width as it changes; a terminal that reports no size (a serial
    console, some emulators) gets 80x24, as tqdm would otherwise take it for "no room for a bar"."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        size = os.terminal_size((0, 0))
    if size.columns > 0 and size.lines > 1:
        return {"dynamic_ncols": True}
    return {"ncols": 80, "nrows": 24}


@contextlib.contextmanager
def progress_bar(total: int | None, description: str, unit: str = "img", **kwargs: Any) -> Iterator[tqdm]:
    """A tqdm bar on stderr that log lines print above (never into), gone when the work ends."""
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    disable = not shows_progress() or (total is not None and total < MIN_ITEMS_FOR_PROGRESS)
    if not disable:
        kwargs = {**_terminal_size(), **kwargs}
    bar = tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        disable=disable,
        mininterval=0.5,
        leave=False,
        **kwargs,
    )
    with bar, logging_redirect_tqdm(tqdm_class=tqdm):
        yield bar


def say(bar: tqdm | None, message: str) -> None:
    """A line on stderr that does not break into a bar being drawn."""
    if bar is not None and not bar.disable:
        bar.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)


def quiet_unless_terminal() -> type | None:
    """A tqdm class for libraries that draw their own bars (the Hub download): silent when stderr
    is not a terminal; None (the library's default bar) when it is."""
    if shows_progress():
        return None
    from tqdm import tqdm

    class Silent(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)

    return Silent
