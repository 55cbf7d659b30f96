"""Building real libraries for tests: folders of real JPEGs with EXIF, and controlled scores."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from joytag_desktop.library import ImageResult, Library


def write_photo(
    path: Path,
    size=(64, 48),
    color=(120, 80, 40),
    make: str | None = None,
    model: str | None = None,
    taken: datetime | None = None,
    orientation: int | None = None,
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if orientation:
        exif[0x0112] = orientation
    if taken:
        exif[0x0132] = taken.strftime("%Y:%m:%d %H:%M:%S")
    image = Image.new("RGB", size, color)
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(path, "JPEG", exif=exif.tobytes())
    else:
        image.save(path)
    return path


def give_scores(
    library: Library,
    vocab: list[str],
    scores_by_path: dict[Path, dict[str, float]],
    model: str = "test-model",
    categories: list[str] | None = None,
) -> None:
    """Store chosen AI scores for images, as if the model (added to the library on first use) had produced them."""
    results = []
    for path, scores in scores_by_path.items():
        image = library.image_by_path(path)
        assert image is not None, path
        vector = np.zeros(len(vocab), dtype=np.float32)
        for name, value in scores.items():
            vector[vocab.index(name)] = value
        results.append(ImageResult(image.id, vector, np.ones(8, dtype=np.float32), None))
    known = {m.name: m for m in library.models()}
    info = known[model] if model in known else library.add_model(model)
    library.store_results(results, info, vocab, categories)


def paths_of(library: Library, query: str, **kw) -> list[str]:
    result = library.search(query, **kw)
    return [Path(img.path).name for img in library.images(result.ids)]
