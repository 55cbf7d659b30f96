"""Every benchmark still runs: each script at toy size, as a subprocess, printing its figures.

The benchmarks are never timed tests; this only keeps them from rotting (a renamed function, a
changed signature) between the runs whose figures go into docs/performance.md. The figures of a
toy run mean nothing and are not checked, only that they are printed (and parse, where the
script has ``--json``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
SKIPPED = 77  # what a benchmark exits with when this machine cannot run it (no PostgreSQL, no pgvector)
TIMEOUT_S = 120


def run_benchmark(script: str, *arguments: str) -> subprocess.CompletedProcess:
    """``python benchmarks/SCRIPT ARGUMENTS`` from the repository root, this checkout's package first.
    Work folders are passed as arguments: TMPDIR stays the system's, since a PostgreSQL
    cluster run as ``nobody`` under root cannot enter pytest's private temporary folders."""
    environment = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "QT_QPA_PLATFORM": "offscreen",
    }
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if done.returncode == SKIPPED:
        pytest.skip(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def summary(done: subprocess.CompletedProcess) -> dict:
    """The JSON object a ``--json`` run ends with."""
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_gui_refresh() -> None:
    figures = summary(run_benchmark("bench_gui_refresh.py", "--rows", "500", "--json"))
    assert figures["rows"] == 500
    assert "reset (reordered)" in figures["results"]


def test_pending() -> None:
    figures = summary(run_benchmark("bench_pending.py", "--images", "3000", "--backend", "sqlite", "--json"))
    runs = {(run["state"], run["model"]): run for run in figures["runs"]}
    assert len(runs) == 10 and all(run["old_count"] == run["new_count"] for run in runs.values())
    assert runs["all by the first", 1] | {"old_ms": 0, "new_ms": 0} == {
        "backend": "sqlite", "state": "all by the first", "model": 1, "old_ms": 0, "new_ms": 0,
        "old_count": 0, "new_count": 0, "way": "not pending",
    }  # fmt: skip


def test_similar() -> None:
    done = run_benchmark(
        "bench_similar.py", "--images", "2000", "--dim", "32", "--queries", "8", "--ef", "158",
        "--duplicates", "300", "--pairs", "3000", "--near", "3000", "--json",
    )  # fmt: skip
    figures = summary(done)
    assert figures["similar"][0]["runs"][0]["recall_at_50"] > 0.5
    assert figures["duplicates"]["planted_missed"] == 0
    pairs = figures["flat_pairs"][0]  # above EXACT_UP_TO: through the throwaway graph
    assert pairs["old_pairs"] > 0 and pairs["new_finds_of_old"] >= 0.95
    near = figures["near_copies"][0]  # exact: every planted copy, and all the old pass found
    assert near["new_planted_found"] == near["planted"] == 30 and near["old_pairs_not_new"] == 0


@pytest.mark.slow
def test_library(tmp_path: Path) -> None:
    done = run_benchmark(
        "bench_library.py", "--images", "2000", "--tags-per-image", "5", "--scan-files", "50",
        "--store-batches", "2", "--sql-runs", "1", "--workdir", str(tmp_path / "library"), "--json",
        "--store-images", "128",
    )  # fmt: skip
    figures = summary(done)
    assert figures["images"] == 2000
    assert figures["store_rows_per_s"] > 0
    for path in ("store", "store_old"):
        assert figures[path]["claims"] is True and figures[path]["images"] == 128
        assert figures[path]["images_per_s"] > 0 and figures[path]["cpu_ms_per_image"] > 0
    assert "claims and leases included" in done.stdout
    assert "first scan" in done.stdout and "rescan" in done.stdout


@pytest.mark.slow
def test_cli_startup(tmp_path: Path) -> None:
    done = run_benchmark(
        "bench_cli_startup.py", "--images", "200", "--tags-per-image", "5", "--runs", "1",
        "--workdir", str(tmp_path / "cli"), "--json",
    )  # fmt: skip
    figures = summary(done)
    commands = figures["commands"]
    assert commands["--version"]["median_s"] > 0
    assert "torch" not in commands["search"]["heavy"]
    assert set(figures["targets"]) == {"--version", "search"}


@pytest.mark.slow
def test_gui(tmp_path: Path) -> None:
    done = run_benchmark("bench_gui.py", "--images", "300", "--tags-per-image", "5", "--workdir", str(tmp_path / "gui"))
    assert "window open with all 300 results" in done.stdout
    assert "select all 300" in done.stdout


@pytest.mark.slow
def test_walk_gui(tmp_path: Path) -> None:
    done = run_benchmark(
        "walk_gui.py", "--images", "3000", "--workdir", str(tmp_path / "walk"), "--export-seconds", "2", "--json"
    )
    figures = summary(done)
    assert figures["edit_found"] == 3000, "the bulk edit reached every image"
    assert 0 < figures["export_written"] < 3000, "the export was stopped part way by quitting"
    assert figures["written_after_quit"] == 0, "nothing is written once the window is gone"


@pytest.mark.slow
def test_gui_search(tmp_path: Path) -> None:
    done = run_benchmark("bench_gui_search.py", "--images", "500", "--workdir", str(tmp_path / "gui-search"), "--json")
    queries = summary(done)["queries"]
    assert queries["(everything)"]["hits"] == 500


@pytest.mark.slow
def test_watch() -> None:
    done = run_benchmark("bench_watch.py", "--files", "2", "--burst", "10", "--settle", "0.2", "--json")
    figures = summary(done)
    assert figures["searchable_s"]["files"] == 2
    assert figures["burst"]["files"] == 10
    assert "(search: " in done.stdout  # the latency ends when a search for the file's tag finds it


@pytest.mark.slow
def test_tagging(tmp_path: Path) -> None:
    done = run_benchmark(
        "bench_tagging.py", "--toy", "--device", "cpu", "--workdir", str(tmp_path / "tagging"), "--json"
    )
    cpu = summary(done)["devices"]["cpu"]
    labels = list(cpu["model_only"])
    assert any(label.startswith("default, ") for label in labels)
    # The default is named by its runtime and precision, never "autocast" for OpenVINO's run.
    assert not any("openvino" in label and "autocast" in label for label in labels)
    assert cpu["fast_path"] > 0


@pytest.mark.slow
def test_runtimes() -> None:
    done = run_benchmark("bench_runtimes.py", "--toy", "--json")
    rows = summary(done)["architectures"]["joytag"]
    assert rows["torch float32"]["max_drift"] == 0


def test_jtp3() -> None:
    done = run_benchmark("bench_jtp3.py", "--toy", "--configs", "torch float32", "--json")
    assert set(summary(done)["results"]) == {"joytag torch float32", "jtp3 seqlen 1024 torch float32"}


def test_every_new_family_beside_joytag() -> None:
    done = run_benchmark("bench_families.py", "--toy", "--json")
    results = summary(done)["results"]
    expected = {"joytag torch float32", "jtp3 torch float32", "pixai onnxruntime float32",
                "siglip2-base torch float32", "joytag onnxruntime float32"}  # fmt: skip
    assert set(results) == expected
    assert all(row["images_per_s"] > 0 for row in results.values())


@pytest.mark.slow
def test_pixai_beside_joytag(tmp_path: Path) -> None:
    models = summary(run_benchmark("bench_pixai.py", "--toy", "--json", "--workdir", str(tmp_path)))["models"]
    assert set(models) == {"pixai", "joytag"}
    assert models["pixai"]["auto (the app's choice)"]["batch4_images_per_s"] > 0


@pytest.mark.slow
def test_pgvector() -> None:
    done = run_benchmark("bench_pgvector.py", "--images", "300", "--dim", "32", "--queries", "5", "--json")
    assert summary(done)["recall_at_50"] > 0.5


@pytest.mark.slow
def test_workers() -> None:
    done = run_benchmark(
        "bench_workers.py", "--images", "20", "--workers", "1", "--claims", "3", "--claim-size", "8",
        "--pending", "100", "--json",
    )  # fmt: skip
    figures = summary(done)
    assert figures["runs"][0]["images"] == 20
    assert figures["claims"][0]["claim_size"] == 8


@pytest.mark.slow
def test_user_guide_screenshots(tmp_path: Path) -> None:
    """docs/make_screenshots.py still drives the real window, as its docstring runs it (under Xvfb):
    three pictures of the window's default size, none of them blank."""
    from PySide6.QtGui import QImage

    xvfb = shutil.which("xvfb-run")
    if xvfb is None:
        pytest.skip("xvfb-run is not installed (Debian: xvfb)")
    environment = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    result = subprocess.run(
        [xvfb, "-a", "-s", "-screen 0 1920x1080x24", sys.executable, str(ROOT / "docs" / "make_screenshots.py"),
         "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**environment, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("main-window-en.png", "main-window-zh_CN.png", "first-start-en.png"):
        image = QImage(str(tmp_path / name))
        assert (image.width(), image.height()) == (1400, 900), name
        assert len({image.pixel(x, y) for x in range(0, 1400, 50) for y in range(0, 900, 50)}) > 10, name


@pytest.mark.slow
def test_gpu_check_runs_with_only_what_a_gpu_machine_has() -> None:
    """The one-shot GPU check at toy size, with the packages a GPU machine lacks hidden: every
    figure but the library's is measured, nothing fails, and the skipped step says why."""
    figures = summary(run_benchmark("gpu_check.py", "--device", "cpu", "--quick", "--bare"))
    assert figures["failed"] == {}, figures["failed"]
    assert figures["device"].startswith("CPU (")
    assert figures["runtime"] == "torch" and figures["precision"] in ("float32", "bfloat16")
    for key in ("model_only_images_per_s", "end_to_end_images_per_s", "reference_loop_images_per_s"):
        assert figures[key] > 0, key
    assert figures["with_store_images_per_s"] is None
    assert "sqlalchemy" in figures["skipped"]["with_store"]
    assert figures["end_to_end"]["failed"] == 0


@pytest.mark.slow
def test_gpu_check_stores_into_a_real_library() -> None:
    figures = summary(run_benchmark("gpu_check.py", "--device", "cpu", "--quick", "--images", "6"))
    assert figures["failed"] == {} and figures["skipped"] == {}, (figures["failed"], figures["skipped"])
    assert figures["with_store_images_per_s"] > 0
    assert figures["with_store"]["library_counts"]["tagged"] == 6
