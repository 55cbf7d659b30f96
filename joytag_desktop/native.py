"""Native libraries that must be loaded in one order, whatever Python imports first.

usearch's extension module carries its own, statically linked copy of the C++ runtime and exports
that copy's GNU-unique symbols (the ids of the locale facets). Unique symbols bind process-wide to
the first definition loaded, so a libstdc++ loaded after usearch (by OpenVINO, torch...) uses
usearch's ids with its own facets: OpenVINO's ``read_model`` then fails ("Exception from
src/inference/src/cpp/core.cpp"), and converting a network for OpenVINO spins for minutes inside
torch's tracing. Loading the shared runtime first, with its symbols global, makes every library
agree on the shared copy, so the import order of usearch, torch and OpenVINO no longer matters. It
costs about 2 ms (PySide6 and torch load the same runtime anyway), and it runs when the package is
imported: before anything can load usearch.
"""

from __future__ import annotations

import sys

_CXX_RUNTIME = "libstdc++.so.6"


def share_cxx_runtime() -> bool:
    """Load the shared C++ runtime with global symbols (Linux); False where there is none to load."""
    if not sys.platform.startswith("linux"):
        return False  # macOS uses libc++ from the system, Windows has no unique symbols
    import ctypes
    import os

    try:
        ctypes.CDLL(_CXX_RUNTIME, mode=os.RTLD_GLOBAL)
    except OSError:  # a system without it (musl, a static build): nothing to agree on
        return False
    return True
