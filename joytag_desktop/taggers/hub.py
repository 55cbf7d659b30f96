"""Fetching a catalogue model from the Hugging Face Hub into the data directory."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from joytag_desktop import paths
from joytag_desktop.errors import JoyTagError
from joytag_desktop.taggers.catalogue import DEFAULT_MODEL_NAME, CatalogueEntry, entry, names
from joytag_desktop.taggers.registry import recognise


class DownloadError(JoyTagError):
    """The model could not be downloaded (no network, hub error, bad files)."""


def catalogue_entry(name: str) -> CatalogueEntry:
    found = entry(name)
    if found is None:
        raise DownloadError(f"no model called {name!r} in the catalogue; choose one of {', '.join(names())}")
    return found


def download_model(
    name: str = DEFAULT_MODEL_NAME,
    repo_id: str | None = None,
    revision: str | None = None,
    tqdm_class: Any = None,
) -> Path:
    """Download a catalogue model's files into ``models/<name>`` and return that folder.

    Files land in a hidden ``.<name>.partial`` folder first (an interrupted download
    resumes there) and are moved into place only after the folder validates, so a
    half-downloaded model is never picked up.
    """
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    item = catalogue_entry(name)
    repo_id = repo_id or item.repo
    target = paths.models_dir() / name
    staging = paths.models_dir() / f".{name}.partial"
    try:
        huggingface_hub.snapshot_download(
            repo_id=repo_id,
            revision=revision,
            local_dir=staging,
            allow_patterns=item.patterns,
            tqdm_class=tqdm_class,
        )
    except LocalEntryNotFoundError:
        raise DownloadError(
            f"Could not reach the Hugging Face Hub to download {repo_id}: no network connection? "
            f"Download {', '.join(item.patterns)} on another machine and pass their folder with --model DIR."
        ) from None
    except HfHubHTTPError as exc:
        raise DownloadError(f"The Hugging Face Hub refused the download of {repo_id}: {exc}") from None
    except OSError as exc:  # network errors of the HTTP client are OSErrors too
        raise DownloadError(f"Downloading {repo_id} failed: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the HTTP stack raises its own types
        raise DownloadError(f"Downloading {repo_id} failed ({type(exc).__name__}): {exc}") from None
    source = staging / item.subfolder if item.subfolder else staging
    recognise(source)  # raises ModelFolderError if the files are not a usable model
    if target.exists():
        shutil.rmtree(target)
    for relative in item.files:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).replace(target / relative)
    shutil.rmtree(staging, ignore_errors=True)
    return target
