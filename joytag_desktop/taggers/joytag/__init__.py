"""JoyTag: its folder checks, its ViT and its preprocessing; ``family`` registers it (torch-free)."""

from __future__ import annotations

from joytag_desktop.taggers.joytag.family import JoyTagFamily, inspect_folder, load_network

__all__ = ["JoyTagFamily", "inspect_folder", "load_network"]
