"""Metadata in and out of image files: EXIF facts, XMP sidecars, embedded keywords, captions."""

# Where ``export`` can write tags (here, so that the command line lists them without loading the library).
EXPORT_TARGETS = ("xmp", "embedded", "captions", "csv", "json")
