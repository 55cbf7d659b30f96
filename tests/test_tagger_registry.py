"""The contract every registered tagger family keeps, checked on the real fixture folders.

Iterates ``list_taggers()``: a family registered without fixtures (``tests/fixtures/<name>-format/``)
or without catalogue entries fails here. For each family: it recognises its own folders and refuses
the others' with a message naming the folder; the factory finds it by folder, by catalogue name
and by Hub id (installed offline, as a download lays it out); it loads and tags a real image with
one score per tag of its vocabulary; its catalogue entries are well-formed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from joytag_desktop import paths
from joytag_desktop.errors import ModelFolderError, ModelNotFoundError
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.taggers import TaggerFamily, list_taggers, open_tagger, recognise, register_tagger, tagger_family
from joytag_desktop.taggers.catalogue import CATALOGUE, CatalogueEntry, from_hub

FIXTURES = Path(__file__).parent / "fixtures"
NOT_MODELS = {"images", "released"}  # fixture folders beside the model folders
FAMILIES = list_taggers()


def fixture_folders(name: str) -> list[Path]:
    """The family's model folders under tests/fixtures/<name>-format/."""
    root = FIXTURES / f"{name}-format"
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name not in NOT_MODELS) if root.is_dir() else []


def fixture_image(name: str) -> Path:
    return sorted((FIXTURES / f"{name}-format" / "images").iterdir())[0]


def entries_of(name: str) -> list[CatalogueEntry]:
    return [item for item in CATALOGUE if item.family == name]


def lay_out(item: CatalogueEntry, source: Path, target: Path) -> bool:
    """Copy ``source``'s files under the entry's published names (the same name, else the one file
    of the same suffix), as ``models download`` leaves them; False when the fixture cannot make them."""
    files = [p for p in source.rglob("*") if p.is_file() and p.name != "expected.json" and p.suffix != ".npy"]
    for relative in item.files:
        wanted = Path(relative)
        same = (
            [p for p in files if p.relative_to(source) == wanted]  # Immich's visual/ and textual/ model.onnx
            or [p for p in files if p.name == wanted.name]
            or [p for p in files if p.suffix == wanted.suffix]
        )
        if len(same) != 1:
            return False
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(same[0], target / relative)
    return True


def install(item: CatalogueEntry) -> Path:
    """The entry's folder in the data folder's models/, made from one of its family's fixtures."""
    for source in fixture_folders(item.family):
        target = paths.models_dir() / item.name
        shutil.rmtree(target, ignore_errors=True)
        if lay_out(item, source, target):
            try:
                if recognise(target).family.name == item.family:
                    return target
            except ModelFolderError:
                pass
    shutil.rmtree(paths.models_dir() / item.name, ignore_errors=True)
    raise AssertionError(f"no {item.family} fixture makes the files of catalogue entry {item.name}: {item.files}")


def test_the_registry_knows_the_published_families() -> None:
    assert set(FAMILIES) == {"joytag", "wd", "jtp", "jtp3", "camie", "pixai", "siglip2"}
    assert FAMILIES[-1] == "joytag", "JoyTag's loose claim (any config.json that is not timm's) is tried last"


def test_a_family_registers_once() -> None:
    class Impostor(TaggerFamily):
        name = "wd"

    with pytest.raises(ValueError, match="registered already"):
        register_tagger(order=0)(Impostor)
    assert type(tagger_family("wd")).__name__ == "WdFamily"


def test_registering_imports_no_torch() -> None:
    code = (
        "import sys; from joytag_desktop.taggers import list_taggers, tagger_family; "
        "[tagger_family(n) for n in list_taggers()]; "
        "sys.exit(sorted(m for m in ('torch', 'timm', 'onnxruntime', 'PySide6') if m in sys.modules) or None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", FAMILIES)
def test_the_family_recognises_its_folders_and_refuses_the_others(name: str) -> None:
    family = tagger_family(name)
    own = fixture_folders(name)
    assert own, f"{name} has no fixture folders in tests/fixtures/{name}-format/"
    for folder in own:
        assert family.claims(folder), folder
        tagger = family.inspect(folder)
        assert tagger.family is family and tagger.path == folder
        assert recognise(folder).family is family
    others = [folder for other in FAMILIES if other != name for folder in fixture_folders(other)]
    assert others
    for folder in others:
        assert not family.claims(folder), f"{name} claims {folder}"
        with pytest.raises(ModelFolderError) as refused:
            family.inspect(folder)
        assert str(folder) in str(refused.value), f"{name}'s refusal does not say which folder: {refused.value}"


@pytest.mark.parametrize("name", FAMILIES)
def test_the_factory_finds_it_by_folder_name_and_hub_id(name: str) -> None:
    for folder in fixture_folders(name):
        found = open_tagger(folder)
        assert (found.family.name, found.path) == (name, folder)
        assert found.fingerprint() == recognise(folder).fingerprint()
    for item in entries_of(name):
        with pytest.raises(ModelNotFoundError, match=f"models download {item.name}"):
            open_tagger(item.name)
        installed = install(item)
        assert open_tagger(item.name).path == installed
        assert open_tagger(item.name).family.name == name
        if len(from_hub(item.repo)) == 1:
            assert open_tagger(item.repo).path == installed
        else:  # one Hub repository, several models (JTP): the id alone does not say which
            with pytest.raises(ModelNotFoundError, match=item.name):
                open_tagger(item.repo)


@pytest.mark.parametrize("name", FAMILIES)
def test_it_loads_and_tags_a_real_image(name: str) -> None:
    image = fixture_image(name)
    for folder in fixture_folders(name):
        tagger = open_tagger(folder)
        engine = TaggingEngine(tagger, device="cpu", precision="float32", preprocessing="reference", runtime="auto")
        [result] = list(engine.tag_paths([image]))
        assert result.ok, result.error
        assert result.scores is not None and result.embedding is not None
        assert result.scores.shape == (len(tagger.vocabulary),) == (len(tagger.tags),)
        assert np.isfinite(result.scores).all() and (result.scores >= 0).all() and (result.scores <= 1).all()
        assert result.embedding.ndim == 1 and result.embedding.size > 0


@pytest.mark.parametrize("name", FAMILIES)
def test_its_catalogue_entries_are_well_formed(name: str) -> None:
    entries = entries_of(name)
    assert entries, f"{name} has no catalogue entry"
    for item in entries:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", item.name), item.name
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", item.repo), item.repo
        assert item.files and len(set(item.files)) == len(item.files)
        assert all(not f.startswith("/") and ".." not in Path(f).parts for f in item.files), item.files
        assert item.download_mb > 0 and item.licence and item.good_at
        assert all(p.startswith(f"{item.subfolder}/") if item.subfolder else True for p in item.patterns)


def test_catalogue_names_are_unique_and_every_entry_has_a_family() -> None:
    names = [item.name for item in CATALOGUE]
    assert len(set(names)) == len(names)
    assert {item.family for item in CATALOGUE} <= set(FAMILIES)
