"""The command line starts light (issue 33): a command imports its own module only, ``--version``
answers before any parser is built, and neither loads numpy, SQLAlchemy or torch.

Speed itself is measured by ``benchmarks/bench_cli_startup.py``; these tests check what is imported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from joytag_desktop.cli import main as cli_main

HEAVY = ("numpy", "sqlalchemy", "torch", "usearch", "PySide6")
_PROBE = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('LOADED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr))\n"
    "from joytag_desktop.launch import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def loaded(*argv: str, home: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(home)}
    env.pop("JOYTAG_DESKTOP_DB", None)
    result = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, env=env, timeout=120)
    heavy = result.stderr.rsplit("LOADED=", 1)[1].strip()
    return result, set(filter(None, heavy.split(",")))


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


def test_the_command_table_names_every_command_of_the_full_parser() -> None:
    full = _commands(cli_main.build_parser())
    assert set(full) == set(cli_main.COMMANDS) | {"gui"}
    for name, module in cli_main.COMMANDS.items():  # each command: its own module's parsers only
        siblings = [other for other, where in cli_main.COMMANDS.items() if where == module]
        assert _commands(cli_main.build_parser(name)) == siblings
    assert _commands(cli_main.build_parser("gui")) == ["gui"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["search", "cat"], "search"),
        (["--db", "x.sqlite3", "-v", "tags", "list"], "tags"),
        (["--db=x.sqlite3", "duplicates"], "duplicates"),
        (["--verbose", "gui"], "gui"),
        ([], None),
        (["--help"], None),
        (["--db"], None),
        (["--d", "x", "search"], None),  # an abbreviated option: the full parser reads it
        (["cat"], None),  # not a command: the full parser says so
    ],
)
def test_the_command_is_found_after_the_global_options(argv: list[str], expected: str | None) -> None:
    assert cli_main.chosen_command(argv) == expected


def test_version_loads_nothing_heavy(tmp_path: Path) -> None:
    result, heavy = loaded("--version", home=tmp_path / "home")
    assert result.returncode == 0 and result.stdout.startswith("joytag-desktop "), result.stderr
    assert heavy == set(), heavy


def test_help_of_one_command_loads_nothing_heavy(tmp_path: Path) -> None:
    result, heavy = loaded("search", "--help", home=tmp_path / "home")
    assert result.returncode == 0 and "examples:" in result.stdout, result.stderr
    assert heavy == set(), heavy
    result, _ = loaded("--help", home=tmp_path / "home")  # the full list still shows every command
    assert all(name in result.stdout for name in cli_main.COMMANDS), result.stdout


def test_an_unknown_command_is_still_named_with_the_choices(tmp_path: Path) -> None:
    result, _ = loaded("serch", "cat", home=tmp_path / "home")
    assert result.returncode == 2 and "invalid choice: 'serch'" in result.stderr and "search" in result.stderr
