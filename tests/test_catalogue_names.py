"""A model folder of the user's own is told apart as the catalogue model it holds (Tagging ▸
Models… marks that row), from its files alone: the family, the weights' names, the path, the variant."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.fixture_files import FIXTURES
from joytag_desktop.taggers import recognise
from joytag_desktop.taggers.installed import catalogue_names


@pytest.mark.parametrize(
    "fixture,expected",
    [
        ("joytag-format/tiny-released-shape", ["joytag"]),
        ("wd-format/wd-tiny-swinv2-tagger-v3", ["wd-swinv2-v3"]),
        ("wd-format/wd-tiny-vit-tagger-v3", ["wd-vit-v3"]),
        ("jtp-format/JTP_PILOT2_TINY", ["jtp-pilot2"]),
        ("jtp-format/JTP_PILOT_TINY", ["jtp-pilot"]),
        ("camie-format/v2-onnx", ["camie-v2"]),
        ("camie-format/v1-initial-onnx", ["camie-v1"]),
        ("pixai-format/pixai-tiny-a", ["pixai-v0.9"]),
    ],
)
def test_each_fixture_is_its_catalogue_model(fixture: str, expected: list[str]) -> None:
    assert catalogue_names(recognise(FIXTURES / fixture)) == expected


def test_the_hub_cache_path_names_the_model_when_the_files_do_not(tmp_path: Path) -> None:
    """A WD folder whose config names no architecture the catalogue knows: the Hub cache's folder
    name (``models--OWNER--REPO``) still says which one it is; an anonymous one is none."""
    source = FIXTURES / "wd-format" / "wd-tiny-vit-tagger-v3"
    cached = tmp_path / "models--SmilingWolf--wd-convnext-tagger-v3" / "snapshots" / "abc"
    anonymous = tmp_path / "mine"
    for target in (cached, anonymous):
        shutil.copytree(source, target)
        config = (target / "config.json").read_text().replace("vit_base_patch16_224", "my_own_net")
        (target / "config.json").write_text(config)
    assert catalogue_names(recognise(cached)) == ["wd-convnext-v3"]
    assert catalogue_names(recognise(anonymous)) == []


def test_a_first_load_is_known_by_the_empty_conversion_cache(tmp_path: Path, monkeypatch) -> None:
    """The window says the first load converts (up to a minute) only while nothing was converted."""
    from joytag_desktop.inference.conversion import CACHE_ENV, cache_dir, has_converted

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "converted"))
    tagger = recognise(FIXTURES / "joytag-format" / "tiny-released-shape")
    assert not has_converted(tagger)
    (cache_dir(tagger) / "openvino.xml").write_text("<net/>")
    assert has_converted(tagger)
