"""Where per-user state lives.

Everything the app keeps (database, downloaded models, thumbnails) sits under one
data directory so that ``JOYTAG_DESKTOP_HOME`` can isolate a test or a script. Downloaded
models may live elsewhere (a larger drive): ``JOYTAG_DESKTOP_MODELS`` or the ``models_folder``
of ``settings.json``, the settings the command line and the window share.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

APP_NAME = "joytag-desktop"
HOME_ENV = "JOYTAG_DESKTOP_HOME"
MODEL_ENV = "JOYTAG_DESKTOP_MODEL"
MODELS_ENV = "JOYTAG_DESKTOP_MODELS"  # the folder of downloaded models, for this run
SETTINGS_FILE = "settings.json"
MODELS_FOLDER_SETTING = "models_folder"
HUB_ENDPOINT_SETTING = "hub_endpoint"


def data_dir() -> Path:
    """The per-user data directory (created on demand)."""
    override = os.environ.get(HOME_ENV)
    if override:
        base = Path(override).expanduser()
    else:
        import platformdirs  # here, not at the top: a GPU machine running the engine alone may lack it

        base = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    base.mkdir(parents=True, exist_ok=True)
    return base


def shared_settings() -> dict[str, str]:
    """``settings.json`` of the data directory: what the command line and the window both obey
    (the models folder, the Hub endpoint). Empty when missing or unreadable: defaults apply."""
    try:
        stored = json.loads((data_dir() / SETTINGS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {str(key): str(value) for key, value in stored.items() if isinstance(value, str)}


def save_shared_setting(key: str, value: str) -> None:
    """Store one shared setting ("" removes it, so its default applies again); all or nothing."""
    from joytag_desktop.files import atomic_text_output

    stored = shared_settings()
    if value:
        stored[key] = value
    else:
        stored.pop(key, None)
    with atomic_text_output(data_dir() / SETTINGS_FILE) as out:
        json.dump(stored, out, indent=1, sort_keys=True)


def default_models_dir() -> Path:
    return data_dir() / "models"


def models_dir() -> Path:
    """Folder holding downloaded model folders, one sub-folder per model: $JOYTAG_DESKTOP_MODELS,
    then the shared setting, then ``models`` in the data directory (created on demand)."""
    chosen = os.environ.get(MODELS_ENV) or shared_settings().get(MODELS_FOLDER_SETTING)
    path = Path(chosen).expanduser() if chosen else default_models_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path
