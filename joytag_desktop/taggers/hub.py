"""Fetching a catalogue model from the Hugging Face Hub (or a mirror) into the models folder.

Each file is checked after download against its pin (taggers/pins.py: size and SHA-256, or size
alone where no SHA-256 was published), or else against the size and SHA-256 the Hub states for it;
a file that differs is deleted and the download refused in one line. Files land in a hidden
``.<name>.partial`` folder first (an interrupted download resumes there) and the model folder is
put in place only after every file checks and the folder reads as a tagger.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from joytag_desktop import paths
from joytag_desktop.taggers.catalogue import DEFAULT_MODEL_NAME, CatalogueEntry, entry, names
from joytag_desktop.taggers.hub_access import (
    DownloadError,
    Fetched,
    UnreachableError,
    fetch_file,
    file_url,
    hub_endpoint,
    hub_token,
)
from joytag_desktop.taggers.pins import Pin, pin
from joytag_desktop.taggers.registry import recognise

__all__ = ["DownloadError", "catalogue_entry", "check_plan", "download_model", "hub_endpoint"]


def catalogue_entry(name: str) -> CatalogueEntry:
    found = entry(name)
    if found is None:
        raise DownloadError(f"no model called {name!r} in the catalogue; choose one of {', '.join(names())}")
    return found


def check_plan(item: CatalogueEntry) -> list[str]:
    """How each of the entry's files will be checked, one line each (shown before a download)."""
    lines = []
    for path in item.patterns:
        found = pin(item.repo, path)
        if found is None:
            lines.append(f"{path}: not pinned; checked against the size and SHA-256 the Hub states, where it does")
        elif found.verified:
            size = f"{found.size:,} bytes" if found.size is not None else "size by its SHA-256"
            lines.append(f"{path}: pinned, {size}, SHA-256 {found.sha256[:16]}…")
        else:
            lines.append(f"{path}: pinned by size only ({found.size:,} bytes): SHA-256 unverified")
    return lines


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _complete(path: Path, expected: Pin | None) -> bool:
    """A file left by an earlier run that is known whole (only a pinned one can be)."""
    if expected is None or not path.is_file():
        return False
    if expected.size is not None and path.stat().st_size != expected.size:
        return False
    return _sha256(path) == expected.sha256 if expected.sha256 else expected.size is not None


def _check(path: Path, got: Fetched, expected: Pin | None, repo: str, name: str) -> str:
    """Refuse (deleting the file) what differs from the pin or from the Hub's own statement."""
    size = expected.size if expected is not None and expected.size is not None else got.stated_size
    sha = expected.sha256 if expected is not None and expected.sha256 else got.stated_sha256
    whose = "pinned" if expected is not None else "stated by the Hub"
    if (size is not None and got.size != size) or (sha and got.sha256 != sha):
        path.unlink(missing_ok=True)
        wanted = f"{size:,} bytes" if size is not None else "any size"
        raise DownloadError(
            f"{name} from {repo} is not the published file ({got.size:,} bytes, SHA-256 {got.sha256[:16]}…; "
            f"{whose}: {wanted}, SHA-256 {(sha or 'unknown')[:16]}…): the download was deleted"
        )
    if expected is not None and expected.sha256:
        return f"{name}: {got.size:,} bytes, SHA-256 matches the pin"
    if expected is not None:
        extra = " and the Hub's SHA-256" if sha else ""
        return f"{name}: {got.size:,} bytes as pinned{extra}; SHA-256 unverified (none published)"
    if sha or size is not None:
        return f"{name}: {got.size:,} bytes, matches what the Hub states (not pinned)"
    return f"{name}: {got.size:,} bytes, not checked (not pinned, and the Hub states nothing)"


class _Progress:
    """One tqdm-like bar per file, made when its size is known (the GUI's class raises to cancel)."""

    def __init__(self, tqdm_class: Any, label: str) -> None:
        self.tqdm_class, self.label = tqdm_class, label
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int | None) -> None:
        if self.tqdm_class is None:
            return
        if self.bar is None:
            self.bar = self.tqdm_class(total=total, initial=0, unit="B", unit_scale=True, desc=self.label)
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def download_model(
    name: str = DEFAULT_MODEL_NAME,
    repo_id: str | None = None,
    revision: str | None = None,
    tqdm_class: Any = None,
    endpoint: str | None = None,
    report: Callable[[str], None] | None = None,
    models_dir: Path | None = None,
) -> Path:
    """Download a catalogue model's files into ``<models folder>/<name>`` and return that folder.

    ``repo_id`` and ``revision`` name a fork or mirror repository, or a commit: its files are
    checked against the same pins. ``endpoint`` is the Hub's address (else the setting,
    $HF_ENDPOINT, huggingface.co). ``report`` receives one line per file saying how it was checked.
    ``models_dir`` overrides the models folder (--models-dir) for this download.
    """
    item = catalogue_entry(name)
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise DownloadError(f"HF_HUB_OFFLINE is set: not downloading {name} (unset it to download)")
    repo = repo_id or item.repo
    revision = revision or item.revision
    endpoint = hub_endpoint(endpoint)
    token = hub_token()
    root = models_dir.expanduser() if models_dir is not None else paths.models_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{name}.partial"
    for path in item.patterns:
        local = staging / path
        expected = pin(item.repo, path)
        if _complete(local, expected):
            if report:
                report(f"{path}: already downloaded by an earlier run, and whole")
            continue
        local.unlink(missing_ok=True)
        progress = _Progress(tqdm_class, Path(path).name)
        try:
            limit = expected.size if expected is not None else None
            got = fetch_file(file_url(endpoint, repo, revision, path), endpoint, local, repo, token, progress, limit)
        except UnreachableError as exc:
            raise UnreachableError(
                f"{exc} Download {', '.join(item.patterns)} of {repo} on another machine "
                "and pass their folder with --model DIR."
            ) from None
        finally:
            progress.close()
        line = _check(local, got, expected, repo, path)
        if report:
            report(line)
    source = staging / item.subfolder if item.subfolder else staging
    recognise(source)  # raises ModelFolderError if the files are not a usable model
    _put_in_place(source, root, name, item)
    shutil.rmtree(staging, ignore_errors=True)
    return root / name


def _put_in_place(source: Path, root: Path, name: str, item: CatalogueEntry) -> None:
    """The checked files become ``root/name``; an older copy there is replaced only now."""
    fresh, old, target = root / f".{name}.new", root / f".{name}.old", root / name
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    for relative in item.files:
        (fresh / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).replace(fresh / relative)
    if target.exists():
        target.replace(old)
    fresh.replace(target)
    shutil.rmtree(old, ignore_errors=True)
