"""Keywords in and out of image files: XMP sidecars and embedded XMP, IPTC, Windows and ACDSee fields."""

# Where ``export`` can write tags (here, so that the command line lists them without loading the library).
EXPORT_TARGETS = ("xmp", "embedded", "captions", "csv", "json")
