"""Hostile input from users and other programs: huge or deep queries, tag names with control
characters or undecodable bytes, sidecars built to break parsers, a read-only database, a full
disk. Each is a one-line error naming the problem; the run goes on for everything else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.library import give_scores, write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.errors import LibraryError
from joytag_desktop.library.query import MAX_NESTING, MAX_TERMS
from joytag_desktop.library.terms import QueryError

VOCAB = [f"t{i}" for i in range(1200)]


@pytest.fixture
def tagged(tmp_path: Path):
    root = tmp_path / "Pictures"
    photos = [write_photo(root / f"p{i}.jpg", color=(i * 50, 10, 10)) for i in range(3)]
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    library.scan()
    give_scores(library, VOCAB, {p: {t: 0.9 for t in VOCAB} for p in photos})
    yield library, root
    library.close()


def cli(*args: str, home: Path, **kw) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(home), **kw.pop("env", {})}
    return subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *args], capture_output=True, text=True, env=env, timeout=120, **kw
    )


def one_line_error(result: subprocess.CompletedProcess[str], lines_allowed: int = 1) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    # Progress bars may have drawn before the failure; the error itself is one line (a query error
    # adds the query with a caret).
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(_PROGRESS)]
    assert len(lines) <= lines_allowed, result.stderr[-3000:]
    return "\n".join(lines)


_PROGRESS = ("Scanning", "Tagging", "Writing")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("(" * 400 + "t1" + ")" * 400, "nests"),
        ("-" * 5000 + "t1", "nests"),
        (" | ".join(VOCAB[:1000]), "more than 200 terms"),
        (" ".join(VOCAB[:500]), "more than 200 terms"),
    ],
)
def test_absurd_queries_are_refused_with_the_limit(tagged, query: str, message: str) -> None:
    library, _ = tagged
    with pytest.raises(QueryError, match=message):
        library.search(query)


def test_queries_at_the_limits_run(tagged) -> None:
    library, _ = tagged
    assert library.count(" | ".join(VOCAB[:MAX_TERMS])) == 3
    assert library.count(" ".join(VOCAB[:MAX_TERMS])) == 3
    assert library.count(" ".join(f"-{t}" for t in VOCAB[:MAX_TERMS])) == 0
    nested = "(" * (MAX_NESTING - 1) + "t1 | t2" + ")" * (MAX_NESTING - 1)
    assert library.count(nested) == 3
    assert library.count("-" * (MAX_NESTING - 1) + "t1") == 0  # an odd number of nots
    mixed = " | ".join(f"(t{i} -t{i + 1} *{i}*)" for i in range(0, MAX_TERMS // 3 * 2, 2))
    assert library.count(mixed) == 0


def test_an_absurd_query_on_the_command_line_is_one_line(tagged, tmp_path: Path) -> None:
    result = cli("--db", str(tmp_path / "lib.sqlite3"), "search", "--", "-" * 5000 + "t1", home=tmp_path / "h")
    # A query error shows a window of the query with a caret under the problem (as compilers do).
    message = one_line_error(result, lines_allowed=3)
    assert "nests" in message and max(len(line) for line in message.splitlines()) < 120


@pytest.mark.parametrize(("name", "message"), [("bad\x01tag", "control characters"), ("caf\udcff", "UTF-8")])
def test_tag_names_that_could_not_be_written_are_refused(tagged, name: str, message: str) -> None:
    library, root = tagged
    image = library.image_by_path(root / "p0.jpg")
    with pytest.raises(LibraryError, match=message):
        library.set_manual_tag([image.id], name, True)


def test_invalid_utf8_tag_on_the_command_line_is_one_line(tagged, tmp_path: Path) -> None:
    _, root = tagged
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "--db", str(tmp_path / "lib.sqlite3"), "tags", "add",
         b"caf\xff", str(root / "p0.jpg")],
        capture_output=True, timeout=60, env={**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path / "h")},
    )  # fmt: skip
    assert result.returncode != 0 and b"Traceback" not in result.stderr
    assert b"UTF-8" in result.stderr


def test_file_names_that_are_not_utf8_print_on_a_strict_stdout(tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "plain.jpg")
    odd = os.fsencode(root) + b"/caf\xe9.jpg"
    write_photo(Path(os.fsdecode(odd)))
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "--db", str(tmp_path / "lib.sqlite3"), "index", str(root)],
        capture_output=True, timeout=60,
        env={**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path / "h"), "PYTHONIOENCODING": "utf-8:strict"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"caf\xe9.jpg" in result.stdout + result.stderr  # named with its own bytes


def _deep_sidecar(depth: int) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="">' + "<a>" * depth + "</a>" * depth + "</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def _crowded_sidecar(count: int) -> str:
    items = "".join(f"<rdf:li>k{i}</rdf:li>" for i in range(count))
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
    )


@pytest.mark.slow
def test_hostile_sidecars_fail_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    from joytag_desktop.interchange.keyword_export import export_xmp

    root = tmp_path / "Pictures"
    photos = [write_photo(root / f"p{i}.jpg", color=(i * 60, 10, 10)) for i in range(3)]
    (root / "p0.jpg.xmp").write_text(_deep_sidecar(100_000))
    (root / "p1.jpg.xmp").write_text(_crowded_sidecar(260_000))
    deep_before = (root / "p0.jpg.xmp").read_bytes()
    library = Library(tmp_path / "lib.sqlite3")
    try:
        library.add_root(root)
        report = library.scan()  # once crashed every scan with "too many SQL variables"
        assert report.added == 3
        give_scores(library, ["cat"], {p: {"cat": 0.9} for p in photos})
        exported = export_xmp(library)
        failed = dict(exported.errors)
        assert str(root / "p0.jpg.xmp") in failed and "deep" in failed[str(root / "p0.jpg.xmp")]
        assert exported.written >= 1  # p2 got its sidecar whatever happened to the others
        assert (root / "p0.jpg.xmp").read_bytes() == deep_before
        assert library.metadata_record(library.image_by_path(photos[0]).id, "xmp") is None  # no write recorded
        again = export_xmp(library)  # nothing was recorded for the failed file: it fails again, honestly
        assert str(root / "p0.jpg.xmp") in dict(again.errors)
    finally:
        library.close()


def _limit_file_size(limit: int):
    def apply() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_during_export_csv_keeps_the_old_file(tagged, tmp_path: Path) -> None:
    output = tmp_path / "tags.csv"
    output.write_text("my,old,export\n")
    result = cli(
        "--db", str(tmp_path / "lib.sqlite3"), "export", "csv", "--all-scores", "--output", str(output),
        home=tmp_path / "h", preexec_fn=_limit_file_size(50_000),
    )  # fmt: skip
    assert "nothing was lost" in one_line_error(result)
    assert output.read_text() == "my,old,export\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_a_full_disk_during_scan_and_autotag_is_one_line_and_loses_nothing(tmp_path: Path) -> None:
    from helpers.fixture_files import FORMAT_DIR

    root = tmp_path / "Pictures"
    for i in range(40):
        write_photo(root / f"p{i}.jpg", color=(i * 5, 10, 10))
    db = tmp_path / "lib.sqlite3"
    Library(db).close()
    # Per file: the database may be rewritten within its size, but its write-ahead log holds 2 pages.
    limited = {"home": tmp_path / "h", "preexec_fn": _limit_file_size(10_000)}
    scanned = cli("--db", str(db), "index", str(root), **limited)
    message = one_line_error(scanned)
    assert "full" in message or "too large" in message
    library = Library(db)
    assert library.count("") in (0, 40)  # a batch is committed whole or not at all
    library.close()
    assert cli("--db", str(db), "index", str(root), home=tmp_path / "h").returncode == 0
    model = {"env": {"JOYTAG_DESKTOP_MODEL": str(FORMAT_DIR / "tiny-released-shape")}}
    tagged = cli("--db", str(db), "autotag", **limited, **model)
    message = one_line_error(tagged)
    assert "full" in message or "too large" in message
    assert cli("--db", str(db), "autotag", home=tmp_path / "h", **model).returncode == 0
    library = Library(db)
    try:
        assert library.count("status:tagged") == 40
        assert library.count("status:pending") == 0
    finally:
        library.close()


@pytest.mark.slow
def test_a_read_only_database_is_one_line_on_write_commands(tagged, tmp_path: Path) -> None:
    library, root = tagged
    library.close()
    db = tmp_path / "lib.sqlite3"
    for path in tmp_path.glob("lib.sqlite3*"):
        path.chmod(0o444)
    drop = "--bounding-set=-dac_override,-dac_read_search"
    if os.geteuid() == 0 and not Path("/usr/bin/setpriv").exists():
        pytest.skip("root ignores file permissions and setpriv is not there to drop that power")
    prefix = ["setpriv", drop, "--inh-caps=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    try:
        for command in (["tags", "add", "mine", str(root / "p0.jpg")], ["scan"], ["threshold", "0.5"]):
            result = subprocess.run(
                [*prefix, sys.executable, "-m", "joytag_desktop", "--db", str(db), *command],
                capture_output=True, text=True, timeout=60, env={**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path)},
            )  # fmt: skip
            assert "read-only" in one_line_error(result), command
    finally:
        for path in tmp_path.glob("lib.sqlite3*"):
            path.chmod(0o644)


def test_background_failures_reach_the_window_as_one_line(qtbot, isolated_home: Path) -> None:
    import errno

    from joytag_desktop.errors import JoyTagError
    from joytag_desktop.gui.background import Background

    def disk_full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/photos/a.jpg.xmp")

    def bug() -> None:
        raise KeyError("surprise")

    background = Background(threads=1)
    errors: list[Exception] = []
    background.submit(disk_full, None, errors.append)
    background.submit(bug, None, errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2)
    assert all(isinstance(error, JoyTagError) for error in errors)
    assert str(errors[0]).startswith("/photos/a.jpg.xmp: the disk is full; nothing was lost")
    assert "\n" not in str(errors[1]) and "KeyError" in str(errors[1]) and "errors.log" in str(errors[1])
    assert "Traceback" in (isolated_home / "errors.log").read_text()  # the details, for a bug report
