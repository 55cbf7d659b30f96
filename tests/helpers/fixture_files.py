"""Where the fixture files are: the parity fixtures copied from the JoyTag format spec and their expectations."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures"
FORMAT_DIR = FIXTURES / "joytag-format"
IMAGES_DIR = FORMAT_DIR / "images"
MODEL_NAMES = ("tiny-released-shape", "tiny-learned-pos")
SAMPLE_IMAGES = tuple(sorted(p.name for p in IMAGES_DIR.iterdir()))


def expected_cases(model_name: str) -> dict:
    return json.loads((FORMAT_DIR / model_name / "expected.json").read_text())["cases"]
