"""Keeping the library and other tools in step: importing keywords, exporting tags.

This layer stands above the library (it uses the ``Library`` facade) and beside the metadata
readers and writers below it (``joytag_desktop.metadata``).

The ownership rule (see ``metadata.keywords``): the app removes from a file only entries it wrote
there itself, and only while they are still exactly as written. Every read and every write of a file
leaves a record (``metadata_writes``: what the app owns there, what the file held, what was
imported from it). A keyword another program deleted becomes a manual removal, so it is never
written back; one another program added overrides an earlier manual removal.

- ``keyword_sync``: import the keywords a scan or the watcher found (sidecars, embedded XMP, IPTC,
  XPKeywords) as tags with source ``imported``, hierarchies kept (``Places|Europe|Paris``).
- ``sync_state``: the per-file records and taking in what a file says.
- ``keyword_export``: XMP sidecars and embedded keywords.
- ``captions``: caption files for training; ``table``: CSV and JSON.
- ``exporting``: what every export shares (its report, the chosen images, folder listings).
"""
