"""Where per-user state lives.

Everything the app keeps (database, downloaded models, thumbnails) sits under one
data directory so that ``JOYTAG_DESKTOP_HOME`` can isolate a test or a script.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "joytag-desktop"
HOME_ENV = "JOYTAG_DESKTOP_HOME"
MODEL_ENV = "JOYTAG_DESKTOP_MODEL"


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


def models_dir() -> Path:
    """Folder holding downloaded model folders, one sub-folder per model."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
