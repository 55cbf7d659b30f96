"""JoyTag Desktop: auto-tag a local image library with the JoyTag model."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("joytag-desktop")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
