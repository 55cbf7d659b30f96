"""What a tagging worker is doing, one name for each state.

It lives in the library layer because the shared queue (``library.work``) stores a worker's
state in the ``workers`` table, and the library must not import the worker; the worker, the
window and ``status`` all read these names from here. A ``StrEnum``: each member is its own
string, so the database, the log and ``status`` (text and JSON) keep the words they always had,
and a state written by another version of the app on another machine still reads as text.
"""

from __future__ import annotations

from enum import StrEnum

# The detail of LOADING when no graph of the model was converted yet: this load converts it once.
FIRST_LOAD = "converting"


class WorkerState(StrEnum):
    # Stored in the shared queue, seen by `status` and the other machines:
    STARTING = "starting"  # registered, no report yet
    IDLE = "idle"
    TAGGING = "tagging"
    PAUSED = "paused"
    STOPPED = "stopped"
    GONE = "gone"  # silent for more than two leases (killed, or its machine lost the server)
    # Only told to the worker's own listener (the window's status bar, the log):
    LOADING = "loading"  # the model loads
    CANCELLED = "cancelled"  # the user cancelled: held until Resume
    ERROR = "error"  # the last run failed; it tries again after a pause
