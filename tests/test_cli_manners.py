"""The command line as a newcomer meets it (issue 18): run as a subprocess, as a user runs it.

One test per observed item: start-up without torch, options and query in any order, dry runs
that write nothing, positioned errors for bad score qualifiers and option values, one --limit
rule with a note when output is cut, progress bars only on a terminal, no library created by a
typo, usage errors for missing paths, rescanning a subfolder, widening a root, a confirmation
before forgetting a folder, retagging after a model change, rounded scores and help texts.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pty
import re
import select
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from helpers.library import give_scores, write_photo
from joytag_desktop.library import Library

VOCAB = ["cat", "dog", "heart", "outdoors", "sky"]
HEAVY = ("torch", "timm", "onnxruntime", "PySide6")
_PROBE = (
    "import atexit, sys\n"
    f"atexit.register(lambda: print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr))\n"
    "from joytag_desktop.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def cli(*args: str, home: Path, stdin: str | None = None, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(home)}
    env.pop("JOYTAG_DESKTOP_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        input=stdin if stdin is not None else "",
        **kw,
    )


def usage_error(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr
    return result.stderr


@pytest.fixture
def library_env(tmp_path: Path):
    """A library of five photos in two folders, with scores, and the command-line environment."""
    root = tmp_path / "Pictures"
    photos = {
        "a": write_photo(root / "holidays" / "a.jpg", size=(64, 48), make="Canon", model="Canon EOS 5D"),
        "b": write_photo(root / "holidays" / "b.jpg", size=(96, 48), color=(10, 200, 10)),
        "c": write_photo(root / "home" / "c.jpg", size=(32, 48), color=(10, 10, 200)),
        "d": write_photo(root / "home" / "d.jpg", size=(128, 48), color=(200, 200, 10)),
        "e": write_photo(root / "e.jpg", size=(48, 48), color=(0, 0, 0), taken=datetime(2023, 5, 1)),
    }
    db = tmp_path / "lib.sqlite3"
    with Library(db) as library:
        library.add_root(root)
        library.scan()
        give_scores(
            library,
            VOCAB,
            {
                photos["a"]: {"cat": 0.9123456, "heart": 0.91, "outdoors": 0.6},
                photos["b"]: {"cat": 0.8, "heart": 0.5},
                photos["c"]: {"dog": 0.95, "heart": 0.3},
                photos["d"]: {"dog": 0.7, "sky": 0.99},
                photos["e"]: {"cat": 0.45},
            },
        )
    return {"db": db, "root": root, "photos": photos, "home": tmp_path / "home"}


def run(env: dict, *args: str, **kw) -> subprocess.CompletedProcess[str]:
    return cli("--db", str(env["db"]), *args, home=env["home"], **kw)


# --- speed: commands that do not tag never import torch --------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ["--version"],
        ["search", "cat"],
        ["search", "--format", "jsonl", "cat"],
        ["tags", "list"],
        ["tags", "complete", "c"],
        ["roots"],
        ["threshold"],
        ["export", "csv", "cat"],
        ["export", "xmp", "--dry-run"],
        ["purge"],
        ["scan"],
        ["index", "{root}"],
        ["search", "--help"],
        ["duplicates"],
        ["status"],
        ["search", "like:{root}/nothing.jpg"],
        ["stars", "4", "{root}/e.jpg"],
        ["label", "red", "{root}/e.jpg"],
        ["pick", "picked", "{root}/e.jpg"],
        ["search", "stars:>=4 label:red"],
        ["tags", "alias", "kitty", "cat"],
        ["tags", "imply", "cat", "animal"],
        ["tags", "aliases"],
        ["models", "list"],
        ["models", "config"],
    ],
    ids=lambda a: " ".join(a),
)
def test_commands_that_do_not_tag_never_import_torch(library_env: dict, arguments: list[str]) -> None:
    argv = ["--db", str(library_env["db"]), *[a.format(root=library_env["root"]) for a in arguments]]
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(library_env["home"])}
    result = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    heavy = result.stderr.rsplit("HEAVY=", 1)[1].strip()
    assert heavy == "", f"{' '.join(arguments)} imported {heavy}"


# --- options and the query in any order; dry runs never write -------------------------------


@pytest.mark.slow
def test_export_takes_options_and_query_in_any_order(library_env: dict) -> None:
    for argv in (
        ["export", "xmp", "--dry-run", "--threshold", "0.85", "folder:holidays"],
        ["export", "--dry-run", "xmp", "folder:holidays", "--threshold", "0.85"],
        ["export", "xmp", "folder:holidays", "--dry-run", "--threshold=0.85"],
    ):
        result = run(library_env, *argv)
        assert result.returncode == 0, result.stderr
        planned = result.stdout.splitlines()
        assert [Path(line.split(":")[0]).name for line in planned] == ["a.jpg.xmp"], argv
        assert "cat" in planned[0] and "heart" in planned[0] and "outdoors" not in planned[0]
        assert "Dry run: 1 file(s) would be written" in result.stderr
    assert not list(library_env["root"].rglob("*.xmp")), "a dry run writes no sidecar"
    search = run(library_env, "search", "cat", "--limit", "5", "-dog", "--sort", "name")
    assert [Path(p).name for p in search.stdout.split()] == ["a.jpg", "b.jpg", "e.jpg"]
    typo = run(library_env, "search", "cat", "--limt", "5")
    usage_error(typo, "unrecognized option --limt")
    literal = run(library_env, "search", "--", "--limt")
    assert literal.returncode == 0 and "no tag matches" in literal.stderr, "after '--' a word is query text"


@pytest.mark.parametrize("target", ["csv", "json"])
def test_table_export_dry_run_writes_no_file_and_a_bad_folder_is_a_usage_error(
    library_env: dict, tmp_path: Path, target: str
) -> None:
    out = tmp_path / f"out.{target}"
    result = run(library_env, "export", target, "--dry-run", "-o", str(out), "cat")
    assert result.returncode == 0, result.stderr
    assert not out.exists(), "--dry-run never writes"
    assert "3 image(s) would be exported" in result.stderr
    assert "a.jpg" in result.stdout, "the dry run shows what the file would hold"
    missing = run(library_env, "export", target, "-o", str(tmp_path / "nonexistent" / "dir" / "out"))
    assert usage_error(missing, "does not exist").strip().splitlines()[-1].startswith("joytag-desktop export: error:")
    assert not (tmp_path / "nonexistent").exists()
    written = run(library_env, "export", target, "-o", str(out), "cat")
    assert written.returncode == 0 and out.exists() and "Exported 3 image(s)" in written.stderr


# --- errors that point at the problem --------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("heart:>1.5", "1.5 is not between 0 and 1", 6),
        ("heart:0.9..0.1", "range 0.9..0.1 is empty", 6),
        ("heart:>0.8x", "is not a score like", 6),
        ("cat heart:-0.2", "is not a score like", 10),
    ],
)
def test_bad_score_qualifiers_are_positioned_errors(library_env: dict, query: str, message: str, column: int) -> None:
    result = run(library_env, "search", query)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "joytag-desktop: bad query:"
    assert lines[1] == query
    assert lines[2].index("^") == column and message in lines[2]


def test_option_values_are_explained_in_the_users_words(library_env: dict) -> None:
    bad = run(library_env, "search", "--threshold", "abc", "cat")
    err = usage_error(bad, "--threshold", "between 0 and 1", "'abc'")
    assert "_threshold" not in err and "invalid" not in err
    usage_error(run(library_env, "threshold", "--preset", "high-recall", "0.5"), "--preset")
    usage_error(run(library_env, "threshold", "--clear"), "--clear needs --tag")
    usage_error(run(library_env, "search", "--limit", "-1", "cat"), "0 for no limit")
    usage_error(run(library_env, "search", "--sort", "colour", "cat"), "'colour' is not one of")
    usage_error(run(library_env, "autotag", "folder:holidays"), "--retag")
    shown = run(library_env, "threshold", "--tag", "cat", "0.7")
    assert shown.returncode == 0 and shown.stdout.strip() == "cat: 0.7"
    cleared = run(library_env, "threshold", "--tag", "cat", "--clear")
    assert cleared.stdout.strip() == "cat: 0.4 (the global threshold)"


def test_sort_minus_reverses(library_env: dict) -> None:
    forward = run(library_env, "search", "--sort", "size", "heart")
    backward = run(library_env, "search", "--sort", "-size", "heart")
    assert forward.returncode == 0 and backward.returncode == 0, backward.stderr
    assert forward.stdout.split() and backward.stdout.split() == forward.stdout.split()[::-1]
    assert run(library_env, "search", "heart", "--sort=-size").stdout == backward.stdout


@pytest.mark.slow
def test_one_limit_rule_and_a_note_when_output_is_cut(library_env: dict) -> None:
    listed = run(library_env, "tags", "list", "--limit", "2")
    assert len(listed.stdout.splitlines()) == 2
    assert "showing 2 of 5 tags" in listed.stderr and "--limit 0 shows all" in listed.stderr
    everything = run(library_env, "tags", "list", "--limit", "0")
    assert len(everything.stdout.splitlines()) == 5 and "note:" not in everything.stderr
    default = run(library_env, "tags", "list")
    assert len(default.stdout.splitlines()) == 5 and "note:" not in default.stderr
    cut = run(library_env, "search", "cat", "--limit", "1")
    assert len(cut.stdout.splitlines()) == 1 and "showing 1 of 3 matching images" in cut.stderr
    unlimited = run(library_env, "search", "cat", "--limit", "0")
    assert len(unlimited.stdout.splitlines()) == 3 and "note:" not in unlimited.stderr
    exact = run(library_env, "search", "cat", "--limit", "3")
    assert len(exact.stdout.splitlines()) == 3 and "note:" not in exact.stderr


# --- progress bars ---------------------------------------------------------------------------


def _run_on_a_terminal(argv: list[str], env: dict[str, str]) -> str:
    """Run with stderr on a pseudo-terminal (stdout captured apart); return what the terminal got."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=terminal, stdin=subprocess.DEVNULL, env=env)
    os.close(terminal)
    chunks = []
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(controller, 65536)
        except OSError:  # the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    process.communicate(timeout=60)
    os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def _screen(raw: str) -> list[str]:
    """The lines left on screen: a carriage return or an erase-line goes back to the line start."""
    lines = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        shown = ""
        for frame in re.split(r"\r|\x1b\[A", line):
            frame = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", frame)
            shown = frame + shown[len(frame) :] if frame else ""
        lines.append(shown.rstrip())
    return [line for line in lines if line]


def test_progress_shows_real_counts_on_a_terminal_and_leaves_nothing_behind(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    for index in range(12):
        write_photo(root / f"{index:02d}.jpg", color=(index * 20, 0, 0))
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path / "home"), "COLUMNS": "100"}
    raw = _run_on_a_terminal(
        [sys.executable, "-m", "joytag_desktop", "--db", str(tmp_path / "lib.sqlite3"), "index", str(root)], env
    )
    assert "Scanning: 12 files" in raw, raw
    screen = _screen(raw)
    assert not any("Scanning" in line for line in screen), screen
    assert any(line.startswith("Scan: 12 new") for line in screen), screen
    piped = cli("--db", str(tmp_path / "lib.sqlite3"), "scan", home=tmp_path / "home")
    assert piped.returncode == 0 and "\r" not in piped.stderr and "Scanning" not in piped.stderr
    assert piped.stderr.startswith("Scan: 0 new")


# --- the library: no library from a typo, folders, confirmation -------------------------------


@pytest.mark.slow
def test_a_mistyped_db_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    typo = tmp_path / "librar" / "lib.sqlite3"
    for argv in (["search", "cat"], ["tags", "list"], ["roots"], ["export", "csv"], ["threshold", "0.5"]):
        result = cli("--db", str(typo), *argv, home=home)
        usage_error(result, f"no library at {typo}")
    nearby = tmp_path / "new.sqlite3"
    usage_error(cli("--db", str(nearby), "search", "cat", home=home), "no library at")
    assert not typo.parent.exists() and not nearby.exists()
    photos = tmp_path / "photos"
    write_photo(photos / "a.jpg")
    usage_error(cli("--db", str(typo), "index", str(photos), home=home), "does not exist")
    assert not typo.parent.exists()
    created = cli("--db", str(nearby), "index", str(photos), home=home)
    assert created.returncode == 0 and nearby.exists(), created.stderr


@pytest.mark.slow
def test_tag_of_a_missing_path_is_a_usage_error_and_text_errors_go_to_stderr(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    home = tmp_path / "home"
    missing = tmp_path / "nonexistent" / "dir"
    result = cli("tag", str(missing), home=home)
    usage_error(result, "no such file or folder", str(missing))
    assert "models download" not in result.stderr, "reported before any model is looked for"
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a picture")
    good = write_photo(tmp_path / "good.jpg")
    text = cli("tag", "--model", str(tiny_model_dir), str(bad), str(good), home=home)
    assert text.returncode == 1
    assert [line.split(":")[0] for line in text.stdout.splitlines()] == [str(good)]
    assert f"error: {bad}" in text.stderr


def test_scan_of_a_subfolder_rescans_that_subtree_only(library_env: dict) -> None:
    root = library_env["root"]
    (root / "holidays" / "b.jpg").unlink()
    write_photo(root / "holidays" / "new.jpg", color=(1, 2, 3))
    write_photo(root / "home" / "elsewhere.jpg", color=(3, 2, 1))
    result = run(library_env, "scan", str(root / "holidays"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Scan: 1 new, 0 changed, 0 moved, 1 missing"), result.stderr
    with Library(library_env["db"], create=False) as library:
        assert library.image_by_path(root / "home" / "elsewhere.jpg") is None, "outside the subtree: not scanned"
        assert library.image_by_path(root / "holidays" / "new.jpg") is not None
    outside = run(library_env, "scan", str(library_env["home"].parent))
    usage_error(outside, "is not in a library folder")


@pytest.mark.slow
def test_index_of_a_parent_widens_the_root_and_keeps_manual_tags(library_env: dict, tmp_path: Path) -> None:
    photos = library_env["photos"]
    assert run(library_env, "tags", "add", "favourite", str(photos["a"])).returncode == 0
    sibling = write_photo(tmp_path / "Scans" / "s.jpg")
    result = run(library_env, "index", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"now includes {library_env['root']}" in result.stderr
    roots = run(library_env, "roots").stdout.splitlines()
    assert roots == [f"{tmp_path} (watched)"]
    assert Path(run(library_env, "search", "favourite").stdout.strip()) == photos["a"]
    assert [Path(p).name for p in run(library_env, "search", "folder:holidays").stdout.split()] == ["a.jpg", "b.jpg"]
    assert str(sibling) in run(library_env, "search", "status:pending").stdout
    assert "0 missing" in result.stderr
    inside = run(library_env, "index", str(library_env["root"] / "home"))
    assert inside.returncode == 0 and "is inside the library folder" in inside.stderr


@pytest.mark.slow
def test_roots_remove_asks_first(library_env: dict) -> None:
    photos = library_env["photos"]
    run(library_env, "tags", "add", "favourite", str(photos["a"]))
    root = str(library_env["root"])
    unasked = run(library_env, "roots", "remove", root)
    assert unasked.returncode == 1
    assert "5 image(s)" in unasked.stderr and "1 manual tag edit(s)" in unasked.stderr and "--yes" in unasked.stderr
    assert run(library_env, "roots").stdout.strip(), "nothing was removed"
    confirmed = run(library_env, "roots", "remove", "--yes", root)
    assert confirmed.returncode == 0 and "forgot 5 image(s)" in confirmed.stderr
    assert photos["a"].exists()


def _tagged_library(tmp_path: Path, model: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    db = tmp_path / "lib.sqlite3"
    for index in range(3):
        write_photo(tmp_path / "photos" / f"{index}.jpg", color=(index * 80, 40, 40))
    assert cli("--db", str(db), "index", str(tmp_path / "photos"), home=home).returncode == 0
    done = cli("--db", str(db), "autotag", "--model", str(model), home=home)
    assert done.returncode == 0, done.stderr
    return db, home


@pytest.mark.slow
def test_autotag_with_another_model_keeps_the_first_ones_scores_and_manual_edits(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    db, home = _tagged_library(tmp_path, tiny_model_dir)
    photo = tmp_path / "photos" / "0.jpg"
    assert cli("--db", str(db), "tags", "add", "mine", str(photo), home=home).returncode == 0
    newer = tmp_path / "joytag-v2"
    shutil.copytree(tiny_model_dir, newer)
    first = cli("--db", str(db), "autotag", "--model", str(newer), home=home)
    assert first.returncode == 0 and "Tagged 3 image(s)" in first.stderr, first.stderr
    noted = cli("--db", str(db), "autotag", "--model", str(newer), home=home)
    assert noted.returncode == 0 and "Nothing to tag" in noted.stderr
    again = cli("--db", str(db), "autotag", "--model", str(newer), "--retag", home=home)
    assert again.returncode == 0, again.stderr
    assert "Queued 3 image(s)" in again.stderr and "Tagged 3 image(s)" in again.stderr
    with Library(db, create=False) as library:
        assert {image.model for image in library.images(library.search("").ids)} == {"joytag-v2"}
        assert {m.name: m.images for m in library.models()} == {tiny_model_dir.name: 3, "joytag-v2": 3}
    assert cli("--db", str(db), "search", "mine", home=home).stdout.strip() == str(photo)
    assert len(cli("--db", str(db), "search", f"model:{tiny_model_dir.name}", home=home).stdout.splitlines()) == 3
    some = cli("--db", str(db), "autotag", "--retag-all", "name:0.jpg", "--model", str(newer), home=home)
    assert "Queued 1 image(s)" in some.stderr and "Tagged 1 image(s)" in some.stderr


# --- output ------------------------------------------------------------------------------------


def _decimals(value: float) -> int:
    text = repr(value)
    return len(text.split(".")[1]) if "." in text else 0


@pytest.mark.slow
def test_scores_are_rounded_and_the_camera_named_once(library_env: dict, tmp_path: Path, tiny_model_dir: Path) -> None:
    records = [json.loads(line) for line in run(library_env, "search", "--format", "jsonl", "cat").stdout.splitlines()]
    first = next(r for r in records if r["path"].endswith("a.jpg"))
    assert first["tags"]["cat"] == 0.9123 and first["camera"] == "Canon EOS 5D"
    table = run(library_env, "export", "csv", "cat").stdout
    scores = [row["score"] for row in csv.DictReader(io.StringIO(table))]
    assert "0.9123" in scores and all(len(s.split(".")[1]) <= 4 for s in scores if "." in s)
    as_json = json.loads(run(library_env, "export", "json", "cat", "--all-scores").stdout)
    assert all(_decimals(s) <= 4 for record in as_json for s in record["scores"].values())
    tagged = cli(
        "tag",
        "--model",
        str(tiny_model_dir),
        "--threshold",
        "0",
        "--format",
        "jsonl",
        str(library_env["photos"]["a"]),
        home=library_env["home"],
    )
    values = list(json.loads(tagged.stdout)["tags"].values())
    assert len(values) > 50 and all(_decimals(v) <= 4 for v in values)
    as_csv = cli(
        "tag",
        "--model",
        str(tiny_model_dir),
        "--threshold",
        "0",
        "--format",
        "csv",
        "--digits",
        "6",
        str(library_env["photos"]["a"]),
        home=library_env["home"],
    )
    assert max(len(row["score"].split(".")[1]) for row in csv.DictReader(io.StringIO(as_csv.stdout))) == 6


def _subcommands(parser: argparse.ArgumentParser, prefix: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix}{name}", sub, helps.get(name)
                yield from _subcommands(sub, f"{prefix}{name} ")


def test_every_subcommand_and_option_has_a_one_line_help() -> None:
    from joytag_desktop.cli.main import build_parser

    seen = []
    for name, sub, summary in _subcommands(build_parser()):
        seen.append(name)
        assert summary and "\n" not in summary, f"{name} has no one-line help"
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
    assert {"tag", "index", "scan", "autotag", "watch", "search", "export", "tags", "threshold", "roots"} <= set(seen)
    for rich in ("search", "export", "tags", "threshold", "autotag", "tag", "index"):
        text = subprocess.run(
            [sys.executable, "-m", "joytag_desktop", rich, "--help"], capture_output=True, text=True, timeout=60
        ).stdout
        assert "examples:" in text, rich


@pytest.mark.slow
def test_error_lines_print_above_the_bar_not_into_it(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "photos"
    for index in range(8):
        write_photo(folder / f"{index}.jpg", color=(index * 30, 0, 0))
    (folder / "3b.jpg").write_bytes(b"broken")
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path / "home")}
    raw = _run_on_a_terminal(
        [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(tiny_model_dir), str(folder)], env
    )
    screen = _screen(raw)
    assert "Tagging" in raw, "a bar was drawn on the terminal"
    assert f"error: {folder / '3b.jpg'}: " in "\n".join(screen)
    error_line = next(line for line in screen if "3b.jpg" in line)
    assert error_line.startswith("error: ") and "Tagging" not in error_line and "it/s" not in error_line
    assert not any("Tagging" in line for line in screen), screen
    assert screen[-1] == "1 of 9 image(s) could not be tagged."


def test_the_gui_command_parses_like_every_other_command(tmp_path: Path) -> None:
    """`joytag-desktop gui` went through the free-words step without its parser: a traceback."""
    from joytag_desktop.cli.main import build_parser

    args, extras = build_parser().parse_known_args(["--db", str(tmp_path / "lib.sqlite3"), "gui"])
    assert (args.command, args.rest, extras) == ("gui", None, [])
    wrong = cli("gui", "stray", home=tmp_path / "home")
    assert wrong.returncode == 2 and "unrecognized arguments: stray" in wrong.stderr
    assert "Traceback" not in wrong.stderr
