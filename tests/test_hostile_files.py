"""Hostile files in a user's folders: FIFOs and device links named like images or sidecars, huge
caption files, extreme aspect ratios. Nothing may hang, read forever or take side² memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.fixture_files import FORMAT_DIR
from helpers.library import write_photo
from joytag_desktop.library import Library
from joytag_desktop.library.schema import Status
from joytag_desktop.worker.watcher import FolderWatcher

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")
MODEL = FORMAT_DIR / "tiny-released-shape"


def cli(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(home), "JOYTAG_DESKTOP_MODEL": str(MODEL)}
    return subprocess.run(
        [sys.executable, "-m", "joytag_desktop", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def hostile_folder(root: Path) -> None:
    """Two real photos beside a FIFO and a /dev/zero link named like images, and sidecars that are
    a FIFO and a /dev/zero link."""
    write_photo(root / "a.jpg", color=(200, 30, 30))
    write_photo(root / "b.jpg", color=(30, 200, 30))
    os.mkfifo(root / "x.jpg")
    os.symlink("/dev/zero", root / "y.png")
    os.mkfifo(root / "a.jpg.xmp")
    os.symlink("/dev/zero", root / "b.jpg.xmp")


@pytest.mark.slow
def test_index_scan_and_autotag_never_open_fifos_or_devices(tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    root.mkdir()
    hostile_folder(root)
    home = tmp_path / "home"
    started = time.monotonic()
    indexed = cli("index", str(root), home=home, timeout=60)
    assert indexed.returncode == 0, indexed.stderr
    assert "Traceback" not in indexed.stderr
    assert "x.jpg: not a regular file" in indexed.stdout + indexed.stderr
    rescanned = cli("scan", home=home, timeout=60)
    assert rescanned.returncode == 0 and "Traceback" not in rescanned.stderr
    tagged = cli("autotag", home=home, timeout=120)
    assert "Traceback" not in tagged.stderr
    assert time.monotonic() - started < 100
    library = Library(home / "library.sqlite3")
    try:
        assert library.image_by_path(root / "a.jpg").status == Status.TAGGED
        assert library.image_by_path(root / "b.jpg").status == Status.TAGGED
        assert library.image_by_path(root / "x.jpg") is None
        assert library.image_by_path(root / "y.png") is None
    finally:
        library.close()


@pytest.mark.slow
def test_tag_command_reports_a_fifo_instead_of_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "x.jpg")
    write_photo(tmp_path / "a.jpg")
    result = cli("tag", str(tmp_path / "x.jpg"), str(tmp_path / "a.jpg"), home=tmp_path / "home", timeout=60)
    assert "not a regular file" in result.stderr + result.stdout
    assert "a.jpg" in result.stdout
    assert result.returncode != 0  # one file failed: the exit code says so
    assert "Traceback" not in result.stderr


def test_watcher_skips_a_fifo_and_goes_on_indexing(tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    root.mkdir()
    library = Library(tmp_path / "lib.sqlite3")
    library.add_root(root)
    library.scan()
    watcher = FolderWatcher(library, settle_seconds=0.2, poll_seconds=0.05)
    watcher.start()
    try:
        os.mkfifo(root / "x.jpg")
        os.symlink("/dev/zero", root / "y.png")
        os.mkfifo(root / "later.jpg.xmp")
        assert watcher.flush()
        write_photo(root / "later.jpg")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and library.image_by_path(root / "later.jpg") is None:
            time.sleep(0.05)
            watcher.flush()
        assert library.image_by_path(root / "later.jpg").status == Status.PENDING
        assert library.image_by_path(root / "x.jpg") is None
    finally:
        started = time.monotonic()
        watcher.stop()
        assert time.monotonic() - started < 5
        library.close()


@pytest.mark.slow
def test_model_files_that_are_fifos_or_huge_are_refused(model_copy: Path) -> None:
    from joytag_desktop.errors import ModelFolderError
    from joytag_desktop.taggers.joytag import inspect_folder

    (model_copy / "config.json").unlink()
    os.mkfifo(model_copy / "config.json")
    with pytest.raises(ModelFolderError, match=r"config\.json"):
        inspect_folder(model_copy)
    (model_copy / "config.json").unlink()
    (model_copy / "config.json").write_text(json.dumps({"class": "ViT"}) + " " * (2 * 1024 * 1024))
    with pytest.raises(ModelFolderError, match="too large"):
        inspect_folder(model_copy)


_MEMORY_PROBE = r"""
import resource, sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.taggers.joytag import inspect_folder
model = inspect_folder(sys.argv[1])
paths = [Path(p) for p in sys.argv[4:]]
for preprocessing in sys.argv[2:3]:  # one per process: the peak (ru_maxrss) only ever grows
    engine = TaggingEngine(model, device="cpu", batch_size=2, precision="float32", preprocessing=preprocessing)
    list(engine.tag_paths([Path(sys.argv[3])] * 4))  # warm up (inference buffers, threads) on normal photos
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results = list(engine.tag_paths(paths))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert all(r.ok for r in results), [r.error for r in results]
    print(preprocessing, (after - before) // 1024)
"""


@pytest.mark.slow
def test_extreme_aspect_ratios_take_memory_bounded_by_the_model_input(tmp_path: Path) -> None:
    """A 1x50,000 PNG (279 bytes) once needed 7.9 GB; webtoon strips 6.6 GB each."""
    from PIL import Image

    Image.new("RGB", (1, 50_000), (10, 20, 30)).save(tmp_path / "line.png")
    Image.new("RGB", (50_000, 1), (10, 20, 30)).save(tmp_path / "wide.png")
    strips = []
    for index in range(3):
        path = tmp_path / f"strip{index}.jpg"
        Image.new("RGB", (800, 20_000), (index * 60, 100, 200)).save(path, quality=80)
        strips.append(str(path))
    write_photo(tmp_path / "normal.jpg")
    script = tmp_path / "probe.py"
    script.write_text(_MEMORY_PROBE)
    growth = {}
    for preprocessing in ("fast", "reference"):
        result = subprocess.run(
            [sys.executable, str(script), str(MODEL), preprocessing, str(tmp_path / "normal.jpg"),
             str(tmp_path / "line.png"), str(tmp_path / "wide.png"), *strips],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        growth.update(line.split() for line in result.stdout.splitlines())
    # The fast path decodes JPEG strips at reduced size and shrinks before padding: a few MB each.
    # The reference path decodes at full size by definition (48 MB per 800x20,000 strip, a few copies,
    # several decoding at once), but never pads it: a padded square would need 1.2 GB (4.8 GB as floats).
    assert int(growth["fast"]) < 100, growth
    assert int(growth["reference"]) < 700, growth


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_blocks": 10**7}, "num_blocks is 10000000, beyond any real model"),
        ({"image_size": 3_200_000}, "image_size is 3200000, beyond"),
        ({"d_model": 10**9}, "d_model is 1000000000, beyond"),
        ({"layerscale_init": 10**400}, "layerscale_init must be a finite number"),
        ({"cnn_stem": "conv:c=" + "9" * 5000}, "bad option"),
        ({"cnn_stem": ";".join(["relu"] * 500) + ";conv:c=8"}, "more than 64 layers"),
    ],
)
def test_absurd_model_configs_are_refused_before_anything_is_built(
    model_copy: Path, change: dict, message: str
) -> None:
    from joytag_desktop.errors import ModelFolderError
    from joytag_desktop.taggers.joytag import inspect_folder

    config = json.loads((model_copy / "config.json").read_text())
    (model_copy / "config.json").write_text(json.dumps(config | change))
    started = time.monotonic()
    with pytest.raises(ModelFolderError, match=message):
        inspect_folder(model_copy)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("text", "message"),
    [("[" * 100_000 + "]" * 100_000, "nested too deeply"), ('{"n_tags": ' + "9" * 5000 + "}", "out of range")],
)
@pytest.mark.slow
def test_hostile_config_json_is_a_one_line_error(model_copy: Path, text: str, message: str) -> None:
    (model_copy / "config.json").write_text(text)
    result = cli("tag", "--model", str(model_copy), str(FORMAT_DIR / "images"), home=model_copy.parent / "home")
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_nan_weights_are_refused(model_copy: Path) -> None:
    from safetensors.torch import load_file, save_file

    from joytag_desktop.errors import ModelFolderError
    from joytag_desktop.taggers.joytag import load_network

    weights = load_file(model_copy / "model.safetensors")
    weights = {name: tensor.fill_(float("nan")) if tensor.is_floating_point() else tensor
               for name, tensor in weights.items()}  # fmt: skip
    save_file(weights, model_copy / "model.safetensors")
    with pytest.raises(ModelFolderError, match="NaN or infinite"):
        load_network(model_copy)


def test_top_tags_saved_by_notepad_reads_the_same(model_copy: Path) -> None:
    from joytag_desktop.taggers.joytag import inspect_folder

    tags = (model_copy / "top_tags.txt").read_text(encoding="utf-8").splitlines()
    (model_copy / "top_tags.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(tags).encode() + b"\r\n")
    assert inspect_folder(model_copy).tags == [t for t in tags if t.strip()]


@pytest.mark.slow
def test_tag_reports_unreadable_folders_and_over_long_paths(tmp_path: Path) -> None:
    write_photo(tmp_path / "ok" / "a.jpg")
    deep = tmp_path / "deep"
    deep.mkdir()
    # Well past PATH_MAX (4,096 bytes) in total, each name legal: made level by level through
    # folder descriptors, as a user's tools (or a synced archive) can.
    folder = os.open(deep, os.O_RDONLY)
    try:
        for _ in range(30):
            os.mkdir("d" * 200, dir_fd=folder)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=folder)
            os.close(folder)
            folder = inner
        over_long = True
    except OSError:
        over_long = False
    finally:
        os.close(folder)
    locked = tmp_path / "locked"
    write_photo(locked / "b.jpg")
    locked.chmod(0)
    try:
        paths = [str(tmp_path / "ok"), str(locked)] + ([str(deep)] if over_long else [])
        result = cli("tag", *paths, home=tmp_path / "home", timeout=120)
    finally:
        locked.chmod(0o755)
    assert "a.jpg" in result.stdout
    assert result.returncode != 0 and "Traceback" not in result.stderr
    if os.geteuid() != 0:
        assert f"{locked}: permission denied" in result.stderr
    if over_long:
        assert "path too long" in result.stderr


def test_a_sidecar_of_another_user_keeps_its_owner_or_is_left_alone(tmp_path: Path) -> None:
    from joytag_desktop.metadata.xmp import SidecarError, atomic_write

    sidecar = tmp_path / "a.jpg.xmp"
    sidecar.write_text("<x/>")
    if os.geteuid() == 0:
        os.chown(sidecar, 65534, 65534)
        atomic_write(sidecar, b"<y/>")
        assert (sidecar.stat().st_uid, sidecar.stat().st_gid) == (65534, 65534)
        assert sidecar.read_bytes() == b"<y/>"
        sidecar.chmod(0o444)
        with pytest.raises(SidecarError, match="read-only"):
            atomic_write(sidecar, b"<z/>")
    else:
        pytest.skip("needs root to give a file to another user")


def test_file_names_near_the_length_limit_still_get_sidecars(tmp_path: Path) -> None:
    from joytag_desktop.metadata.xmp import atomic_write

    for length in (238, 245, 251):
        name = "p" * (length - len(".jpg.xmp")) + ".jpg.xmp"
        atomic_write(tmp_path / name, b"<x/>")
        assert (tmp_path / name).read_bytes() == b"<x/>"
