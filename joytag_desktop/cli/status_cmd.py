"""``status``: what the library holds and what every tagging worker (on any machine) is doing."""

from __future__ import annotations

import argparse
import json
import sys

from joytag_desktop.cli import arguments
from joytag_desktop.cli.arguments import open_library
from joytag_desktop.library.worker_state import WorkerState

STATUS_EXAMPLES = """\
examples:
  joytag-desktop status                     images per state, pending per model, every worker
  joytag-desktop status --format json       the same for scripts and monitoring
  joytag-desktop --db postgresql+psycopg://tagger@nas/photos status   a shared library's workers
"""


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    status = arguments.command(
        subparsers,
        "status",
        "show the library's images and the tagging workers of every machine",
        "Images per state, what each model still has to tag, the claims in force, and each tagging worker "
        "(autotag, watch, the window) of every machine that uses this library: its state, device, speed and "
        "when it last reported. A worker silent for more than two leases is shown as gone.",
        STATUS_EXAMPLES,
    )
    status.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")
    status.set_defaults(handler=run_status)


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def run_status(args: argparse.Namespace) -> int:
    from joytag_desktop.library.work import claims_in_force, worker_statuses

    with open_library(args, create=False) as library:
        counts = library.count_by_status()
        pending = {model.name: library.pending_count(model.id) for model in library.models() if model.auto}
        claims = claims_in_force(library.database)
        workers = worker_statuses(library.database)
    if args.format == "json":
        summary = {
            "images": counts,
            "pending_by_model": pending,
            "claims": claims,
            "workers": [
                {
                    "id": w.id,
                    "machine": w.machine,
                    "host": w.host,
                    "pid": w.pid,
                    "device": w.device,
                    "models": w.models,
                    "state": w.state,
                    "done": w.done,
                    "failed": w.failed,
                    "images_per_second": round(w.rate, 3),
                    "seen_seconds_ago": round(w.seen_ago, 1),
                }
                for w in workers
            ],
        }
        print(json.dumps(summary, indent=2))
        return 0
    total = sum(counts.values())
    print(f"{total} image(s): " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    for name, count in pending.items():
        print(f"  {name}: {count} to tag")
    print(f"{claims} image(s) claimed by workers now")
    active = [w for w in workers if w.active]
    print(f"{len(active)} worker(s) running" + (f", {len(workers) - len(active)} stopped or gone" if workers else ""))
    for w in workers:
        models = ", ".join(w.models) or "no model yet"
        speed = f", {w.rate:.1f} images/s" if w.state == WorkerState.TAGGING and w.rate else ""
        print(
            f"  {w.machine} pid {w.pid}: {w.state}{speed}, {w.done} tagged, {w.failed} failed; "
            f"{w.device or 'device not chosen yet'}; {models}; last report {_ago(w.seen_ago)}"
        )
    if not workers:
        print("  (start one with `joytag-desktop autotag` or `joytag-desktop watch`)", file=sys.stderr)
    return 0
