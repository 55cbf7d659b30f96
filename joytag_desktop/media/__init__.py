"""Reading image files: safe decoding (``imaging``), RAW previews (``raw``), content and picture
hashes (``hashing``), the thumbnail cache (``thumbnails``), EXIF facts (``exif``) and the one
exiftool process a run shares (``exiftool``). Below the metadata readers and writers, which use it."""
