"""Search in words: a library embeds its images with SigLIP2 (the worker, as for a tagger's
embeddings; the vector index, or pgvector on PostgreSQL), and ``text:"…"`` terms and
``similar --text`` rank them by the cosine of the normalised embeddings, as the reference does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.library import Library
from joytag_desktop.library.query import parse
from joytag_desktop.library.similar import NoTextModel
from joytag_desktop.library.terms import FieldTerm, TagTerm
from joytag_desktop.worker.tagging import tag_pending
from joytag_desktop.worker.text_search import TextEmbedder

pytestmark = pytest.mark.backends

FIXTURE = Path(__file__).parent / "fixtures" / "siglip2-format"
MODEL = FIXTURE / "ViT-Tiny-SigLIP2"
REFERENCE = json.loads((FIXTURE / "expected_immich.json").read_text(encoding="utf-8"))
QUERIES = list(REFERENCE["texts"])


def ranking(query: str, names: list[str] | None = None) -> list[str]:
    """The reference's images for ``query``, nearest first."""
    images = REFERENCE["images"]
    return sorted(names or images, key=lambda name: -images[name]["cosine"][query])


def embedded(lib: Library, folder: Path) -> Library:
    """``lib`` with the fixture images in ``folder`` (two of them in a subfolder) embedded by the
    worker's tagging loop with the tiny Immich-layout SigLIP2."""
    shutil.copytree(FIXTURE / "images", folder)
    (folder / "sub").mkdir()
    for name in ("camera.png", "chelsea.png"):
        (folder / name).rename(folder / "sub" / name)
    lib.add_root(folder)
    lib.scan()
    engine = TaggingEngine(MODEL, device="cpu", precision="float32", preprocessing="reference", runtime="onnxruntime")
    model = lib.register_model(engine.tagger)
    lib.set_auto_models([model.name])
    report = tag_pending(lib, engine, model)
    assert (report.tagged, report.failed) == (6, 0)
    lib.similarity.text_encoder = TextEmbedder()
    return lib


def names_of(lib: Library, ids: list[int]) -> list[str]:
    by_id = {image.id: Path(image.path).name for image in lib.images(ids)}
    return [by_id[i] for i in ids]


def test_the_text_term_parses_and_the_tag_named_text_stays_a_tag() -> None:
    node = parse('text:"a dog on a beach" cat')
    assert node.children[0] == FieldTerm("text", text="a dog on a beach", position=5)  # type: ignore[union-attr]
    assert isinstance(parse("text:>0.8"), TagTerm) and parse("text:>0.8").name == "text"  # type: ignore[union-attr]
    assert parse("text:一只猫") == FieldTerm("text", text="一只猫", position=5)
    with pytest.raises(Exception, match="words are missing"):
        parse('text:""')


def test_the_worker_stores_siglip2_embeddings_in_the_vector_index(lib: Library, tmp_path: Path, backend: str) -> None:
    lib = embedded(lib, tmp_path / "photos")
    [model] = lib.models()
    assert (model.format, model.images, model.auto) == ("siglip2", 6, True)
    for image in lib.images(lib.search("").ids):
        vector = lib.similarity.source(image.id, model.name)[1]  # as stored (float16)
        wanted = np.asarray(REFERENCE["images"][Path(image.path).name]["embedding_raw"], np.float32)
        np.testing.assert_allclose(vector, wanted, atol=2e-3 * float(np.abs(wanted).max()))
    assert not lib.search("status:pending").ids
    if backend == "postgresql":  # pgserver ships pgvector: the embeddings are its rows too
        assert lib.similarity.server_vectors() is not None
        with lib.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM image_vectors")).scalar_one() == 6


@pytest.mark.parametrize("query", QUERIES)
def test_a_text_term_ranks_as_the_reference(lib: Library, tmp_path: Path, query: str) -> None:
    lib = embedded(lib, tmp_path / "photos")
    quoted = query.replace('"', '\\"')
    found = lib.search(f'text:"{quoted}"', sort="similarity")
    assert names_of(lib, found.ids) == ranking(query) and not found.warnings
    similarities = lib.like_similarities(f'text:"{quoted}"')
    for image_id, name in zip(found.ids, names_of(lib, found.ids), strict=True):
        assert similarities[image_id] == pytest.approx(REFERENCE["images"][name]["cosine"][query], abs=2e-3)


def test_a_text_term_combines_with_folders_names_dates_and_tags(lib: Library, tmp_path: Path) -> None:
    lib = embedded(lib, tmp_path / "photos")
    folder = str(tmp_path / "photos" / "sub")
    lib.set_manual_tag([i for i in lib.search("").ids if "o" in names_of(lib, [i])[0]], "mine", True)
    mine = [n for n in REFERENCE["images"] if "o" in n]
    outside = [n for n in REFERENCE["images"] if n not in ("camera.png", "chelsea.png")]
    cases = {
        'text:"a cat" folder:sub': ranking("a cat", ["camera.png", "chelsea.png"]),
        'text:"a cat" -folder:sub': ranking("a cat", outside),
        'text:"a cat" mine': ranking("a cat", mine),
        'mine text:一只猫 ext:png': ranking("一只猫", mine),
        'text:"a cat" date:1990..2999 | text:"a cat" -date:1990..2999': ranking("a cat"),
        'text:"a cat" -mine': ranking("a cat", [n for n in REFERENCE["images"] if n not in mine]),
    }  # fmt: skip
    for query, wanted in cases.items():
        fast = lib.search(query, sort="similarity")  # the posting lists
        slow = lib.search(query, sort="name")  # SQL
        assert names_of(lib, fast.ids) == wanted, query
        assert sorted(names_of(lib, slow.ids)) == sorted(wanted), query
        assert lib.count(query) == len(wanted), query
    rows, _ = lib.search_rows('text:"a cat"', sort="similarity", folder=folder)
    assert [Path(row[1]).name for row in rows] == ranking("a cat", ["camera.png", "chelsea.png"])


def test_without_a_text_model_words_say_so(lib: Library, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "images", tmp_path / "photos")
    lib.add_root(tmp_path / "photos")
    lib.scan()
    lib.similarity.text_encoder = TextEmbedder()
    with pytest.raises(NoTextModel, match="no text model in this library"):
        lib.search('text:"a cat"')
    assert lib.search("text").ids == []  # a plain tag search is untouched


def test_similar_text_on_the_command_line(tmp_path: Path) -> None:
    """``similar --text`` lists the nearest images with the cosine of the normalised embeddings, in
    English and Chinese; a library without a text model gets one line saying what to add."""
    db = tmp_path / "lib.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "joytag_desktop", "--db", str(db), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)

    shutil.copytree(FIXTURE / "images", tmp_path / "photos")
    assert cli("index", str(tmp_path / "photos")).returncode == 0
    missing = cli("similar", "--text", "a cat")
    assert missing.returncode != 0 and "no text model" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    assert cli("autotag", "--model", str(MODEL), "--device", "cpu", "--runtime", "onnxruntime").returncode == 0
    for query in ("a cat", "一只猫"):
        listed = cli("similar", "--text", query, "--format", "jsonl")
        assert listed.returncode == 0, listed.stderr
        rows = [json.loads(line) for line in listed.stdout.splitlines()]
        assert [Path(r["path"]).name for r in rows] == ranking(query)
        for row in rows:
            wanted = REFERENCE["images"][Path(row["path"]).name]["cosine"][query]
            assert row["similarity"] == pytest.approx(wanted, abs=2e-3)
    searched = cli("search", 'text:"a cat" -name:camera*')
    assert searched.returncode == 0 and [Path(p).name for p in searched.stdout.split()] == ranking("a cat")[1:]
    # The text side loads only for words; Immich's text graph runs without torch.
    probe = (
        "import atexit, sys\n"
        "seen = ('torch', 'tokenizers', 'onnxruntime', 'joytag_desktop.inference.text_encoder')\n"
        "atexit.register(lambda: print('LOADED=' + ','.join(m for m in seen if m in sys.modules), file=sys.stderr))\n"
        "from joytag_desktop.launch import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def loaded(*args: str) -> str:
        command = [sys.executable, "-c", probe, "--db", str(db), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
        assert result.returncode == 0, result.stderr
        return result.stderr.rsplit("LOADED=", 1)[1].strip()

    assert loaded("search", "cat") == ""
    assert loaded("similar", str(tmp_path / "photos" / "logo.png")) == ""
    assert loaded("similar", "--text", "a cat") == "tokenizers,onnxruntime,joytag_desktop.inference.text_encoder"
