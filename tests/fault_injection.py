"""Random SIGKILLs over autotag, scan (with moves), export xmp and watch on a few hundred files,
with the library's invariants checked after every kill and once more after a clean recovery run.

    python tests/fault_injection.py [--files 300] [--rounds 40] [--seed 1] [--json]

Invariants: SQLite integrity; no path twice; every file on disk indexed once and, after recovery,
tagged once; manual edits follow their files across moves; the tag histogram exact; every sidecar
parses and keeps what other programs wrote in it; no temporaries left behind. A run with
``--rounds 6`` is part of the test suite (``test_fault_injection_smoke``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
MODEL = HERE / "fixtures" / "joytag-format" / "tiny-released-shape"
FOREIGN = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
 xmp:Rating="3"><dc:subject><rdf:Bag><rdf:li>Holiday</rdf:li></rdf:Bag></dc:subject></rdf:Description>
</rdf:RDF></x:xmpmeta>
"""
ACTIONS = ("autotag", "scan", "export", "watch")


class Run:
    def __init__(self, folder: Path, files: int, seed: int) -> None:
        self.folder = folder
        self.root = folder / "Pictures"
        self.db = folder / "lib.sqlite3"
        self.random = random.Random(seed)
        self.env = {**os.environ, "JOYTAG_DESKTOP_HOME": str(folder / "home"), "JOYTAG_DESKTOP_MODEL": str(MODEL)}
        self.files = files
        self.manual: dict[str, str] = {}  # content hash -> the manual tag given to that image
        self.figures = {action: {"runs": 0, "killed": 0} for action in ACTIONS}
        self.violations: list[str] = []
        self.foreign: set[str] = set()  # sidecars another program wrote (names are unique here)

    def cli(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "joytag_desktop", "--db", str(self.db), *args],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def finish(self, *args: str, timeout: float = 600) -> str:
        process = self.cli(*args)
        _, err = process.communicate(timeout=timeout)
        if "Traceback" in err:
            self.violations.append(f"traceback from {args}: {err[-500:]}")
        return err

    def setup(self) -> None:
        from PIL import Image

        for index in range(self.files):
            folder = self.root / f"f{index % 5}"
            folder.mkdir(parents=True, exist_ok=True)
            colour = (index * 37 % 256, index * 91 % 256, index * 53 % 256)
            Image.new("RGB", (64 + index % 7, 48), colour).save(folder / f"p{index}.jpg", quality=90)
            if index % 10 == 0:
                (folder / f"p{index}.jpg.xmp").write_text(FOREIGN)
                self.foreign.add(f"p{index}.jpg.xmp")
        self.finish("index", str(self.root))
        from joytag_desktop.library import Library

        with Library(self.db) as library:
            ids = library.search("").ids
            for image in library.images(self.random.sample(ids, min(20, len(ids)))):
                tag = f"mine_{image.id}"
                library.set_manual_tag([image.id], tag, True)
                self.manual[image.content_hash] = tag

    def shuffle_files(self) -> None:
        """Move some images (with their sidecars) to other folders, as a user reorganising does."""
        images = sorted(self.root.rglob("*.jpg"))
        for path in self.random.sample(images, min(15, len(images))):
            target_folder = self.root / f"f{self.random.randrange(7)}"
            target_folder.mkdir(exist_ok=True)
            target = target_folder / path.name
            if target.exists():
                continue
            path.rename(target)
            sidecar = path.with_name(path.name + ".xmp")
            if sidecar.exists():
                sidecar.rename(target.with_name(target.name + ".xmp"))

    def kill_round(self, action: str) -> None:
        self.figures[action]["runs"] += 1
        if action == "scan":
            self.shuffle_files()
            process = self.cli("scan")
        elif action == "autotag":
            # A few images become pending again so each autotag has work to be killed in.
            with sqlite3.connect(self.db, timeout=30) as connection:
                connection.execute(
                    "UPDATE images SET status='pending' WHERE id IN (SELECT id FROM images WHERE status='tagged' "
                    "ORDER BY random() LIMIT 30)"
                )
            process = self.cli("autotag", "--device", "cpu")
        elif action == "export":
            process = self.cli("export", "xmp")
        else:
            process = self.cli("watch", "--device", "cpu")
            time.sleep(self.random.uniform(0.5, 2.0))
            self.shuffle_files()
        time.sleep(self.random.uniform(0.05, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.figures[action]["killed"] += 1
        _, err = process.communicate(timeout=60)
        if "Traceback" in err:
            self.violations.append(f"traceback from {action}: {err[-500:]}")
        self.check(after=action)

    def check(self, after: str, final: bool = False) -> None:
        from defusedxml import ElementTree

        with sqlite3.connect(self.db, timeout=30) as connection:
            if connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                self.violations.append(f"integrity_check failed after {after}")
            twice = connection.execute("SELECT count(*) - count(DISTINCT path) FROM images").fetchone()[0]
            if twice:
                self.violations.append(f"{twice} path(s) twice after {after}")
        for sidecar in self.root.rglob("*.xmp"):
            text = sidecar.read_text(encoding="utf-8")
            try:
                ElementTree.fromstring(text)
            except Exception as exc:  # noqa: BLE001 - any parse failure is a violation
                self.violations.append(f"{sidecar} does not parse after {after}: {exc}")
                continue
            if sidecar.name in self.foreign and not ("Holiday" in text and 'Rating="3"' in text):
                self.violations.append(f"{sidecar} lost what another program wrote in it, after {after}")
        if final:
            self.final_checks()

    def final_checks(self) -> None:
        from joytag_desktop.library import Library

        on_disk = {str(p) for p in self.root.rglob("*.jpg")}
        with sqlite3.connect(self.db, timeout=30) as connection:
            rows = dict(connection.execute("SELECT path, status FROM images WHERE status != 'missing'"))
            reasons = connection.execute(
                "SELECT status, error, count(*) FROM images WHERE status NOT IN ('tagged', 'missing') GROUP BY 1, 2"
            ).fetchall()
            missing = connection.execute("SELECT count(*) FROM images WHERE status = 'missing'").fetchone()[0]
        if set(rows) != on_disk:
            self.violations.append(f"index differs from disk: {len(set(rows) ^ on_disk)} path(s)")
        if missing:
            self.violations.append(f"{missing} image(s) still missing after the recovery scan (moves not paired)")
        untagged = [path for path, status in rows.items() if status != "tagged"]
        if untagged:
            self.violations.append(f"{len(untagged)} image(s) not tagged after recovery: {reasons}")
        with Library(self.db) as library:
            for image in library.images(library.search("").ids):
                tag = self.manual.get(image.content_hash)
                if tag and tag not in {v.name for v in library.image_tags(image.id) if v.present}:
                    self.violations.append(f"manual tag {tag} lost ({image.path})")
            live = library.tag_counts(threshold=0.3)
            library.rebuild_histogram()
            if library.tag_counts(threshold=0.3) != live:
                self.violations.append("tag histogram not exact")
        leftovers = [p for p in self.root.rglob(".jt*")]
        if leftovers:
            self.violations.append(f"{len(leftovers)} temporar(ies) left: {leftovers[:3]}")

    def recover(self) -> None:
        """What a user does next: rescan, tag, export. Temporaries of killed exports age past the
        staleness window first (in real life, minutes pass)."""
        from joytag_desktop.files import STALE_AFTER_SECONDS

        for leftover in self.root.rglob(".jt*"):
            stamp = leftover.stat().st_mtime - STALE_AFTER_SECONDS - 1
            os.utime(leftover, (stamp, stamp))
        self.finish("scan")
        self.finish("autotag", "--device", "cpu")
        self.finish("export", "xmp")
        self.check(after="recovery", final=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    parser.add_argument("--actions", default=",".join(ACTIONS), help="comma-separated subset of " + ",".join(ACTIONS))
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="joytag-faults-"))
    started = time.monotonic()
    try:
        run = Run(folder, args.files, args.seed)
        run.setup()
        actions = [a for a in args.actions.split(",") if a in ACTIONS]
        for round_number in range(args.rounds):
            action = actions[round_number % len(actions)] if round_number < len(actions) else run.random.choice(actions)
            run.kill_round(action)
        run.recover()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = {
        "files": args.files,
        "rounds": args.rounds,
        "kills": sum(f["killed"] for f in run.figures.values()),
        "by_action": run.figures,
        "violations": run.violations,
        "seconds": round(time.monotonic() - started, 1),
    }
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        for action, figures in run.figures.items():
            print(f"{action:8} {figures['runs']:3} runs, {figures['killed']:3} killed mid-run")
        print(f"{summary['kills']} kills in {summary['seconds']} s; {len(run.violations)} violation(s)")
        for violation in run.violations:
            print(f"  {violation}")
    return 1 if run.violations else 0


if __name__ == "__main__":
    sys.exit(main())
