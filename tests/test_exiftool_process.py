"""The run's one exiftool process (``-stay_open``): shared, restarted when it died, never a hang,
and every argument arriving as it would on a command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from joytag_desktop.media import exiftool
from joytag_desktop.media.exiftool import ExifToolError, ExifToolProcess
from joytag_desktop.metadata.embedded import EmbeddedError, read_with_exiftool, write_embedded
from joytag_desktop.metadata.keywords import empty_properties

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (.ci/run installs it)")
SLOW = "sleep(30); 1"  # an -if condition: a command that takes 30 s


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), (200, 90, 40)).save(path, quality=90)
    return path


def keywords(*subject: str) -> dict[str, list[str]]:
    props = empty_properties()
    props["subject"] = list(subject)
    return props


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ")[-1].startswith("Z"))


def test_embedded_writes_share_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exiftool, "run_once", lambda *a, **k: pytest.fail("a command ran in a process of its own"))
    first = photo(tmp_path / "a.jpg")
    write_embedded(first, keywords("cat"), {"subject"})
    pid = exiftool._shared._process.pid
    for index in range(3):
        write_embedded(photo(tmp_path / f"b{index}.jpg"), keywords("dog", f"n{index}"), {"subject"})
    assert exiftool._shared._process.pid == pid
    assert read_with_exiftool(first)["subject"] == ["cat"]


def test_a_process_killed_while_idle_is_started_again(tmp_path: Path) -> None:
    image = photo(tmp_path / "a.jpg")
    write_embedded(image, keywords("cat"), {"subject"})
    pid = exiftool._shared._process.pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    write_embedded(image, keywords("cat", "dog"), {"subject"})
    assert read_with_exiftool(image)["subject"] == ["cat", "dog"]
    assert exiftool._shared._process.pid != pid


def test_a_process_killed_mid_command_is_a_one_line_error_and_the_next_command_works(tmp_path: Path) -> None:
    image = photo(tmp_path / "a.jpg")
    process = ExifToolProcess()
    try:
        process.execute(["-ver"])
        threading.Timer(0.5, os.kill, (process._process.pid, signal.SIGKILL)).start()
        started = time.monotonic()
        with pytest.raises(ExifToolError, match="stopped while working") as raised:
            process.execute(["-if", SLOW, "-j", str(image)])
        assert time.monotonic() - started < 10 and "\n" not in str(raised.value)
        assert process.execute(["-s3", "-FileType", str(image)]).stdout.strip() == "JPEG"
    finally:
        process.close()


def test_a_command_past_its_timeout_stops_the_process_and_the_next_one_works(tmp_path: Path) -> None:
    image = photo(tmp_path / "a.jpg")
    process = ExifToolProcess()
    try:
        started = time.monotonic()
        with pytest.raises(ExifToolError, match="no answer within 1 s"):
            process.execute(["-if", SLOW, "-j", str(image)], timeout=1)
        assert time.monotonic() - started < 10
        assert process.execute(["-s3", "-FileType", str(image)]).stdout.strip() == "JPEG"
    finally:
        process.close()


def test_a_fifo_neither_hangs_nor_breaks_the_shared_process(tmp_path: Path) -> None:
    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(EmbeddedError, match="cannot read it"):
        read_with_exiftool(fifo, "utf8")
    assert time.monotonic() - started < 10
    image = photo(tmp_path / "a.jpg")
    write_embedded(image, keywords("cat"), {"subject"})
    assert read_with_exiftool(image)["subject"] == ["cat"]


@pytest.mark.parametrize(
    "name",
    [b" leading space.jpg", b"#hash.jpg", b"-dash.jpg", b"new\nline.jpg", b"tab\there.jpg", b"cr\r.jpg",
     b"money$\nnew.jpg", b"at@x.jpg", b"-execute.jpg", b"caf\xe9.jpg", b"back\\slash.jpg"],
)  # fmt: skip
def test_file_names_arrive_as_on_a_command_line(tmp_path: Path, name: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    image = Path(os.fsdecode(name))
    photo(tmp_path / image)
    for path in (image, tmp_path / image):
        write_embedded(path, keywords("cat", f"in {name!r}"), {"subject"})
        assert read_with_exiftool(path)["subject"] == ["cat", f"in {name!r}"]


@pytest.mark.parametrize(
    "argument",
    ["-XMP-dc:Subject= spaced", "-XMP-dc:Subject =spaced", "-XMP-dc:Subject=a$b@c\"d", "-XMP-dc:Subject=back\\n",
     "-XMP-dc:Subject=tab\there", "-XMP-dc:Subject=line\nbreak", "-XMP-dc:Subject=$x\nnew", "-XMP-dc:Subject=",
     "-XMP-dc:Subject=-execute", "-XMP-dc:Subject=#tag"],
)  # fmt: skip
def test_tag_values_arrive_as_on_a_command_line(tmp_path: Path, argument: str) -> None:
    ours, theirs = photo(tmp_path / "ours.jpg"), photo(tmp_path / "theirs.jpg")
    result = exiftool.run([argument, "-overwrite_original", "--", str(ours)])
    reference = subprocess.run([EXIFTOOL, argument, "-overwrite_original", "--", str(theirs)], capture_output=True)
    assert result.returncode == reference.returncode
    read = [EXIFTOOL, "-j", "-XMP-dc:Subject", str(ours), str(theirs)]
    records = json.loads(subprocess.run(read, capture_output=True, check=True).stdout)
    assert records[0].get("Subject") == records[1].get("Subject"), records


def test_errors_and_warnings_come_back_as_from_a_process_of_their_own(tmp_path: Path) -> None:
    image = photo(tmp_path / "a.jpg")
    commands = [
        ["-j", "--", str(tmp_path / "missing.jpg")],
        ["-XMP-dc:NoSuchTag=1", "-overwrite_original", "--", str(image)],
        ["-m", "-XMP-dc:NoSuchTag=1", "-overwrite_original", "--", str(image)],
        ["-j", "-XMP-dc:Subject", "--", str(image), str(tmp_path / "missing.jpg")],
        ["-s3", "-FileType", "--", str(tmp_path / "-missing.jpg")],
    ]
    for command in commands:
        shared, alone = exiftool.run(command), exiftool.run_once(command, timeout=60)
        assert (shared.returncode, shared.stdout, shared.stderr) == (alone.returncode, alone.stdout, alone.stderr)
    missing = exiftool.run(commands[0])
    assert missing.returncode == 1 and missing.stderr.strip() == f"Error: File not found - {tmp_path / 'missing.jpg'}"


def test_threads_take_turns(tmp_path: Path) -> None:
    images = [photo(tmp_path / f"p{index}.jpg") for index in range(4)]
    failures: list[BaseException] = []

    def write(index: int) -> None:
        try:
            for round_ in range(3):
                write_embedded(images[index], keywords(f"t{index}", f"r{round_}"), {"subject"})
                assert read_with_exiftool(images[index])["subject"] == [f"t{index}", f"r{round_}"]
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not failures, failures


def test_a_thread_that_started_it_may_end(tmp_path: Path) -> None:
    """Linux stops exiftool when the *thread* that started it ends (the parent death signal): it
    is started from a thread that lasts, so a GUI pool thread that retires does not take it along."""
    exiftool._shared.close()
    image = photo(tmp_path / "a.jpg")
    thread = threading.Thread(target=write_embedded, args=(image, keywords("cat"), {"subject"}))
    thread.start()
    thread.join(60)
    pid = exiftool._shared._process.pid
    time.sleep(0.3)
    assert alive(pid)
    assert read_with_exiftool(image)["subject"] == ["cat"] and exiftool._shared._process.pid == pid


PRINT_PID = """
import os, sys
from pathlib import Path
from joytag_desktop.media import exiftool
exiftool.run(["-ver"])
print(exiftool._shared._process.pid, flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), 9)
"""


@pytest.mark.parametrize("ending", ["exit", "kill"])
def test_the_process_ends_with_the_run(tmp_path: Path, ending: str) -> None:
    if ending == "kill" and not sys.platform.startswith("linux"):
        pytest.skip("the parent death signal is Linux's")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", PRINT_PID, ending], capture_output=True, cwd=root, timeout=60)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid), f"exiftool {pid} outlived the run that started it"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_starts_its_own_process() -> None:
    exiftool.run(["-ver"])
    parent_exiftool = exiftool._shared._process.pid
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        ok = False
        try:
            ok = exiftool.run(["-ver"]).returncode == 0 and exiftool._shared._process.pid != parent_exiftool
            exiftool._shared.close()
        finally:
            os._exit(0 if ok else 1)
    assert os.waitpid(child, 0)[1] == 0
    assert exiftool.run(["-ver"]).returncode == 0 and exiftool._shared._process.pid == parent_exiftool
