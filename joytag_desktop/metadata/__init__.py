"""Metadata in and out of image files: EXIF facts, XMP sidecars, embedded keywords, captions."""
