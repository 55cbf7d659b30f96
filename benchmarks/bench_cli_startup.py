"""How fast the command line answers: commands that do not tag, on a 100,000-image library.

    python benchmarks/bench_cli_startup.py [--images 100000] [--runs 11] [--json]

Each command runs as a user runs it (a new `python -m joytag_desktop` process), several times;
the median wall time is printed, with the targets of issue 33 (``--version`` at most 0.1 s,
``search --limit 50`` at most 0.35 s at 100,000 images), whether each is met, and which heavy
modules the process imported. The synthetic library comes from bench_library.generate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_library import generate, synthetic_models, vocabulary

from common import machine

TARGETS_S = {"--version": 0.1, "search": 0.35}
# Printed after the command's own output: which heavy modules the process imported.
_PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nHEAVY ' + ' '.join(m for m in ('torch', 'timm', 'onnxruntime', "
    "'PySide6', 'numpy', 'sqlalchemy') if m in sys.modules) + '\\n'))\n"
    "from joytag_desktop.cli.main import main\n"
    "sys.exit(main())\n"
)


def commands(db: Path, tag: str) -> dict[str, list[str]]:
    return {
        "--version": ["--version"],
        "search": ["--db", str(db), "search", tag, "--limit", "50"],
        "search (count all)": ["--db", str(db), "search", tag],
        "tags complete": ["--db", str(db), "tags", "complete", tag[:4]],
        "tags list": ["--db", str(db), "tags", "list", "--limit", "20"],
        "roots": ["--db", str(db), "roots"],
        "threshold": ["--db", str(db), "threshold"],
        "search --help": ["search", "--help"],
    }


# As users run it: Python writes and reuses its bytecode caches (a shell that sets
# PYTHONDONTWRITEBYTECODE would compile every module of the app on every start instead).
_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


HERE = Path(__file__).resolve().parents[1]  # the source tree measured (its joytag_desktop comes first)


def run_once(arguments: list[str], tree: Path = HERE) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *arguments],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=_ENV,
        cwd=tree,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed: {done.stderr[-500:]}")
    heavy = done.stderr.rsplit("HEAVY", 1)[-1].strip() if "HEAVY" in done.stderr else "?"
    return seconds, heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--tags-per-image", type=int, default=40)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "joytag-bench-cli")
    parser.add_argument(
        "--baseline", type=Path, metavar="DIR",
        help="another source tree (e.g. `git archive` of an older commit) measured in the same rounds, as 'before'",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="also print a JSON summary as the last line")
    args = parser.parse_args()
    print(f"machine: {machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"synthetic-{args.images}.sqlite3"
    if not db.exists():
        names, categories, models = synthetic_models(1, 5813, 10_861, 4000)
        seconds = generate(db, args.images, args.tags_per_image, models, names, categories)
        print(f"generated {args.images:,} images x {args.tags_per_image} tags in {seconds:.0f} s")
    frequent = vocabulary(5813)[0]
    if not Path(f"{db}-search").exists():  # a library's first search builds its search index, once
        seconds, _ = run_once(commands(db, frequent)["search"])
        print(f"first search (builds and saves the search index): {seconds:.1f} s")
    # A library the app writes to is checked for damage once and the verdict kept (library.integrity);
    # one generated straight into the database never was, and every reading command would spend its
    # whole budget (READ_BUDGET_S, 0.25 s) on a check too big to finish.
    from joytag_desktop.library import integrity

    if integrity.remembered(db.resolve()) is None:
        started = time.perf_counter()
        integrity.record(db.resolve(), integrity.check(db.resolve()))
        print(f"damage check, once (as the first writing command does): {time.perf_counter() - started:.1f} s")
    runs: dict[str, list[float]] = {name: [] for name in commands(db, frequent)}
    before: dict[str, list[float]] = {name: [] for name in commands(db, frequent)}
    heavy: dict[str, str] = {}
    run_once(["--version"])  # warm the file cache once
    # Interleaved rounds: a burst of noise on the shared machine hits every command alike.
    for _ in range(args.runs):
        for name, arguments in commands(db, frequent).items():
            seconds, heavy[name] = run_once(arguments)
            runs[name].append(seconds)
            if args.baseline:
                before[name].append(run_once(arguments, args.baseline)[0])
    summary = {}
    print(f"{'command':24} {'median s':>9} {'min s':>7} {'target':>7} {'met':>4}  heavy imports")
    targets = {}
    for name, timings in runs.items():
        median = statistics.median(timings)
        target = TARGETS_S.get(name)
        summary[name] = {"median_s": round(median, 3), "min_s": round(min(timings), 3), "heavy": heavy[name]}
        shown = f"{target:.2f}" if target else "-"
        met = "-" if target is None else "yes" if median <= target else "no"
        if target is not None:
            targets[name] = {"target_s": target, "median_s": round(median, 3), "met": median <= target}
        old = ""
        if before[name]:
            summary[name]["before_median_s"] = round(statistics.median(before[name]), 3)
            old = f"  (before: {statistics.median(before[name]):.3f})"
        print(f"{name:24} {median:9.3f} {min(timings):7.3f} {shown:>7} {met:>4}  {heavy[name] or 'none'}{old}")
    if args.json:
        print(json.dumps({"images": args.images, "runs": args.runs, "commands": summary, "targets": targets}))


if __name__ == "__main__":
    main()
