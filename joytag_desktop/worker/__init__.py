"""Background work: tagging pending images, watching folders, the worker thread."""
