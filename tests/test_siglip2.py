"""SigLIP2 as published (transformers' original and Immich's ONNX export): recognised, refused when
incomplete, and equal to the reference pipelines (tests/fixtures/siglip2-format/SPEC.md) for every
fixture image and query, through every runtime that runs each layout."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.inference.text_encoder import TextEncoder
from joytag_desktop.taggers import recognise
from joytag_desktop.taggers.siglip2 import HF_FILES, IMMICH_FILES

FIXTURE = Path(__file__).parent / "fixtures" / "siglip2-format"
IMAGES = sorted((FIXTURE / "images").iterdir())
# folder, its reference outputs, the runtimes that run it
LAYOUTS = {
    "transformers": (FIXTURE / "siglip2-tiny-a", "expected.json", ("torch", "onnxruntime", "openvino")),
    "immich": (FIXTURE / "ViT-Tiny-SigLIP2", "expected_immich.json", ("onnxruntime", "openvino")),
}
CASES = [(layout, runtime) for layout, (_, _, runtimes) in LAYOUTS.items() for runtime in runtimes]


def expected(layout: str) -> dict:
    return json.loads((FIXTURE / LAYOUTS[layout][1]).read_text(encoding="utf-8"))


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def text_embeddings() -> dict[str, tuple[list[str], np.ndarray]]:
    """Per layout: the queries and our text tower's embeddings of them."""
    found = {}
    for layout, (folder, _, _) in LAYOUTS.items():
        queries = list(expected(layout)["texts"])
        found[layout] = (queries, TextEncoder(recognise(folder)).encode(queries))
    return found


@pytest.mark.parametrize(("layout", "runtime"), CASES)
def test_image_embeddings_equal_the_reference(layout: str, runtime: str) -> None:
    folder, _, _ = LAYOUTS[layout]
    reference = expected(layout)["images"]
    engine = TaggingEngine(folder, device="cpu", precision="float32", preprocessing="reference", runtime=runtime)
    assert engine.runtime == runtime
    results = list(engine.tag_paths(IMAGES))
    assert [r.path.name for r in results] == [p.name for p in IMAGES]
    for result in results:
        assert result.ok, result.error
        assert result.scores is not None and result.scores.shape == (0,), "an embedding model has no tags"
        wanted = np.asarray(reference[result.path.name]["embedding_raw"], np.float32)
        assert result.embedding is not None and result.embedding.shape == wanted.shape
        np.testing.assert_allclose(result.embedding, wanted, atol=1e-5, rtol=0, err_msg=f"{result.path.name}")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_token_ids_and_text_embeddings_equal_the_reference(layout: str, text_embeddings) -> None:
    tagger = recognise(LAYOUTS[layout][0])
    reference = expected(layout)["texts"]
    queries, embeddings = text_embeddings[layout]
    ids = tagger.family.text_ids(tagger, queries)
    for query, row, embedding in zip(queries, ids, embeddings, strict=True):
        assert row.tolist() == reference[query]["input_ids"], query
        wanted = np.asarray(reference[query]["embedding_raw"], np.float32)
        np.testing.assert_allclose(embedding, wanted, atol=1e-5, rtol=0, err_msg=query)


def test_the_two_layouts_tokenize_as_their_references_do() -> None:
    """transformers pads on the left and adds no EOS; Immich cleans the text, adds EOS, pads right."""
    hf, immich = (recognise(LAYOUTS[name][0]) for name in ("transformers", "immich"))
    [left] = hf.family.text_ids(hf, ["a cat"]).tolist()
    [right] = immich.family.text_ids(immich, ["A  cat!"]).tolist()
    assert left[-2:] == [454, 276] and set(left[:-2]) == {0}
    assert right[:3] == [454, 276, 1] and set(right[3:]) == {0} and len(right) == 64


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_ranking_of_every_query_equals_the_reference(layout: str, text_embeddings) -> None:
    """English and Chinese queries rank the images as the reference does, with its cosines."""
    folder, _, _ = LAYOUTS[layout]
    reference = expected(layout)["images"]
    engine = TaggingEngine(folder, device="cpu", precision="float32", preprocessing="reference")
    images = {r.path.name: np.asarray(r.embedding) for r in engine.tag_paths(IMAGES)}
    names = sorted(images)
    queries, embeddings = text_embeddings[layout]
    assert any(any("\u4e00" <= c <= "\u9fff" for c in q) for q in queries), "a Chinese query is among them"
    cosines = unit(np.stack([images[n] for n in names])) @ unit(embeddings).T
    for column, query in enumerate(queries):
        wanted = [reference[n]["cosine"][query] for n in names]
        np.testing.assert_allclose(cosines[:, column], wanted, atol=1e-5, rtol=0, err_msg=query)
        ours = sorted(names, key=lambda n: -cosines[names.index(n), column])
        theirs = sorted(names, key=lambda n: -reference[n]["cosine"][query])
        assert ours == theirs, query


@pytest.mark.parametrize(("layout", "files"), [("transformers", HF_FILES), ("immich", IMMICH_FILES)])
def test_an_incomplete_folder_is_refused_naming_what_is_missing(tmp_path: Path, layout: str, files) -> None:
    source = LAYOUTS[layout][0]
    for name in files:
        folder = tmp_path / f"{layout}-{name.replace('/', '-')}"
        shutil.copytree(source, folder)
        (folder / name).unlink()
        if name == "config.json" and layout == "transformers":
            continue  # no config.json left to say what the folder is: the next test covers it
        with pytest.raises(ModelFolderError) as refused:
            recognise(folder)
        assert name in str(refused.value) and str(folder) in str(refused.value)


def test_pickle_weights_and_naflex_checkpoints_are_refused(tmp_path: Path) -> None:
    pickled = tmp_path / "pickled"
    shutil.copytree(LAYOUTS["transformers"][0], pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    with pytest.raises(ModelFolderError, match="pickle"):
        recognise(pickled)
    naflex = tmp_path / "naflex"
    shutil.copytree(LAYOUTS["transformers"][0], naflex)
    config = json.loads((naflex / "config.json").read_text())
    (naflex / "config.json").write_text(json.dumps(config | {"model_type": "siglip2"}))
    with pytest.raises(ModelFolderError, match="NaFlex"):
        recognise(naflex)


def test_embedding_images_never_loads_the_text_side() -> None:
    code = (
        "import sys; from pathlib import Path; from joytag_desktop.inference.engine import TaggingEngine\n"
        f"folder = Path({str(LAYOUTS['immich'][0])!r}); image = Path({str(IMAGES[0])!r})\n"
        "[r] = TaggingEngine(folder, device='cpu', runtime='onnxruntime').tag_paths([image]); assert r.ok\n"
        "text_side = ('tokenizers', 'joytag_desktop.inference.text_encoder')\n"
        "sys.exit(sorted(m for m in text_side if m in sys.modules) or None)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
