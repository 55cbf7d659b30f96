"""Tags as a table: CSV (one row per tag) or JSON (one object per image)."""

from __future__ import annotations

import csv
import json
from typing import TextIO

from joytag_desktop.interchange.exporting import chosen_images
from joytag_desktop.library.library import Library
from joytag_desktop.library.thresholds import round_score


def export_table(
    library: Library, out: TextIO, fmt: str, query: str = "", threshold: float | None = None, all_scores: bool = False
) -> int:
    """CSV (path, tag, score, source, present) or JSON (one object per image). Returns images written."""
    images = chosen_images(library, None, query, threshold)
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["path", "tag", "score", "ai_score", "source", "present"])
        for image in images:
            for view in library.image_tags(image.id, threshold):
                if view.present or all_scores:
                    writer.writerow(
                        [
                            image.path,
                            view.name,
                            round_score(view.score),
                            "" if view.ai_score is None else round_score(view.ai_score),
                            view.source,
                            int(view.present),
                        ]
                    )
        return len(images)
    records = []
    for image in images:
        views = library.image_tags(image.id, threshold)
        records.append(
            {
                "path": image.path,
                "status": image.status,
                "tags": {v.name: round_score(v.score) for v in views if v.present},
                "sources": {v.name: v.source for v in views if v.present and v.source != "ai"},
                **(
                    {"scores": {v.name: round_score(v.ai_score) for v in views if v.ai_score is not None}}
                    if all_scores
                    else {}
                ),
            }
        )
    json.dump(records, out, ensure_ascii=False, indent=1)
    out.write("\n")
    return len(images)
