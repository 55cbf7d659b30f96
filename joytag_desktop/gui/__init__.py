"""The Qt desktop GUI: a thin layer over the library, the worker and the engine."""
