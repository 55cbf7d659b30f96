"""JoyTag Desktop: auto-tag a local image library with published tagger models."""

# The one place the version is written: pyproject.toml reads it from here (reading it back from the
# installed metadata would cost every command a tenth of its start-up).
__version__ = "0.1.0"

# Before any module can load usearch: see native.py (OpenVINO fails when usearch comes first).
from joytag_desktop.native import share_cxx_runtime

share_cxx_runtime()

__all__ = ["__version__"]
