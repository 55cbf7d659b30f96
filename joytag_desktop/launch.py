"""The program's entry point: the window when no command is given (or ``gui``), else the command.

The command line never imports the GUI (it answers without Qt); this module is the one place that
knows both, and it imports the window only when it opens it.
"""

from __future__ import annotations

from collections.abc import Sequence

from joytag_desktop.cli.main import main as run_command


def open_window(database: str | None) -> int:
    from joytag_desktop.gui.app import run_gui

    return run_gui(database)


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(argv, open_window=open_window)
