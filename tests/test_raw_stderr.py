"""LibRaw's own complaints about a damaged RAW file (issue 31) stay out of the user's terminal:
they go to the debug log, the app's one-line message stays, and nothing else written to stderr
meanwhile is lost, from any number of threads."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from joytag_desktop.errors import ImageLoadError
from joytag_desktop.media.raw import open_raw

pytestmark = pytest.mark.slow  # every test here takes seconds: not in the quick loop

CORPUS = Path(__file__).parent / "fixtures" / "metadata"
MODEL = Path(__file__).parent / "fixtures" / "joytag-format" / "tiny-released-shape"
_LIBRAW_ALONE = """import rawpy, sys
for step in (lambda raw: raw.extract_thumb(), lambda raw: raw.postprocess(half_size=True)):
    try:
        step(rawpy.imread(sys.argv[1]))
    except Exception:
        pass
"""


def _libraw_says(path: Path) -> str:
    """What LibRaw alone prints on stderr for ``path`` (the precondition: it does talk)."""
    return subprocess.run([sys.executable, "-c", _LIBRAW_ALONE, str(path)], capture_output=True, text=True).stderr


@pytest.fixture
def damaged_raw(tmp_path: Path) -> Path:
    """A NEF cut short, as a copy interrupted mid-way leaves it: LibRaw reports corrupted data."""
    data = (CORPUS / "nikon.nef").read_bytes()
    for cut in range(len(data) // 4, len(data), 256):
        candidate = tmp_path / f"cut-{cut}.nef"
        candidate.write_bytes(data[:cut])
        if str(candidate) in _libraw_says(candidate):
            return candidate
        candidate.unlink()
    pytest.fail("no truncation of nikon.nef makes LibRaw print (has rawpy changed?)")


def test_the_cli_shows_its_one_line_and_not_libraws(damaged_raw: Path, tmp_path: Path) -> None:
    said = _libraw_says(damaged_raw).strip()
    result = subprocess.run(
        [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(MODEL), str(damaged_raw)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "JOYTAG_DESKTOP_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"error: {damaged_raw}: RAW file without a usable embedded preview (and it cannot be developed)"
    assert not any(line in said for line in lines), (said, lines)
    assert "Traceback" not in result.stderr


def test_libraw_goes_to_the_debug_log_and_other_threads_lose_nothing(
    damaged_raw: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    said = _libraw_says(damaged_raw).strip()
    caplog.set_level(logging.DEBUG, logger="joytag_desktop.media.raw")
    stderr_before = os.fstat(2)
    stop = threading.Event()
    markers: list[str] = []

    def chatter() -> None:  # another thread's messages, written straight to fd 2 as C code would
        n = 0
        while not stop.is_set():
            markers.append(f"marker {n}")
            os.write(2, f"marker {n}\n".encode())
            n += 1

    def decode() -> None:
        for _ in range(5):
            with pytest.raises(ImageLoadError):
                open_raw(damaged_raw)

    talker = threading.Thread(target=chatter)
    talker.start()
    decoders = [threading.Thread(target=decode) for _ in range(6)]
    for thread in decoders:
        thread.start()
    for thread in decoders:
        thread.join()
    stop.set()
    talker.join()

    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (stderr_before.st_dev, stderr_before.st_ino)  # fd 2 restored
    err = capfd.readouterr().err
    assert said.splitlines()[0] not in err
    assert sorted(err.splitlines()) == sorted(markers)  # every line of the other thread, nothing else
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("LibRaw: ")]
    assert logged and all(str(damaged_raw) in message for message in logged if "JPEG" not in message)
    assert said.splitlines()[0] in {message.removeprefix("LibRaw: ") for message in logged}
