"""Exceptions shared by the core, the CLI and the GUI.

Each carries a message written for the user: the CLI prints it as is.
"""


class JoyTagError(Exception):
    """Base class for errors the user can act on."""


class ModelFolderError(JoyTagError):
    """A model folder is missing, incomplete or inconsistent."""


class ModelNotFoundError(ModelFolderError):
    """No model is installed and none was named."""


class ImageLoadError(JoyTagError):
    """An image could not be decoded (corrupt, truncated, unsupported, too large)."""
