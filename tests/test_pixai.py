"""PixAI tagger v0.9 (deepghs' ONNX export) against the reference outputs of
tests/fixtures/pixai-format/ (README there): scores and embeddings within 1e-5 through every runtime
that runs an ONNX graph here, the published preprocessing, the model's rule (thresholds, each
character's copyrights), the CLI's raw probabilities, the original pickle layout refused unopened,
incomplete folders, and the real files' tensor listing.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers import recognise
from joytag_desktop.taggers.contract import ONNX, TaggerFolder
from joytag_desktop.taggers.pixai import ONNX_EXPORT
from joytag_desktop.taggers.vocabulary import Selection, select

FORMAT = Path(__file__).parent / "fixtures" / "pixai-format"
TINY = FORMAT / "pixai-tiny-a"
IMAGES = FORMAT / "images"
ORIGINAL = FORMAT / "released" / "original-layout"
EXPECTED = json.loads((TINY / "expected.json").read_text())
CASES = EXPECTED["images"]
TOLERANCE = 1e-5  # float32, reference preprocessing (README: the references agree within 2e-6)


def reference_prediction(name: str) -> np.ndarray:
    return np.asarray([CASES[name]["prediction"][tag] for tag in EXPECTED["tags"]], np.float32)


@pytest.fixture(scope="module", params=["onnxruntime", "openvino"])
def reference_run(request: pytest.FixtureRequest) -> dict:
    engine = TaggingEngine(
        TINY, device="cpu", precision="float32", preprocessing="reference", runtime=request.param, batch_size=4
    )
    assert (engine.runtime, engine.runner.precision) == (request.param, "float32")
    return {r.path.name: r for r in engine.tag_paths([IMAGES / name for name in CASES])} | {"engine": engine}


@pytest.mark.parametrize("image", sorted(CASES))
def test_scores_and_embedding_match_the_reference(reference_run: dict, image: str) -> None:
    engine, result = reference_run["engine"], reference_run[image]
    assert result.ok, result.error
    outputs = engine.vocabulary.outputs
    assert list(engine.vocabulary.names[:outputs]) == EXPECTED["tags"]
    assert float(np.abs(result.scores[:outputs] - reference_prediction(image)).max()) <= TOLERANCE
    assert result.embedding.shape == (len(CASES[image]["embedding"]),)
    assert float(np.abs(result.embedding - np.asarray(CASES[image]["embedding"])).max()) <= TOLERANCE


def test_preprocessing_matches_the_reference_tensor() -> None:
    tagger = recognise(TINY)
    ours = tagger.family.reference_input(tagger, ONNX, open_image(IMAGES / "chelsea.png", flatten=False))
    reference = np.load(TINY / "preprocessed_chelsea_input_f32_nchw.npy")[0]
    assert ours.dtype == np.float32 and ours.shape == reference.shape == (3, 448, 448)
    assert float(np.abs(ours - reference).max()) <= 1e-6


@pytest.mark.parametrize("thresholds", ["thresholds.csv", "model card"])
def test_characters_bring_their_copyrights_as_the_reference_does(
    reference_run: dict, thresholds: str, tmp_path: Path
) -> None:
    """The model's rule on the runtime's own scores: general >= 0.30, characters >= thresholds.csv's
    0.85 (the model card's 0.75 without that file), and each kept character's copyrights."""
    if thresholds == "thresholds.csv":
        tagger, over = recognise(TINY), "character_over_0.85"
    else:
        tagger, over = _without(tmp_path, "thresholds.csv"), "character_over_0.75"
    vocabulary = tagger.vocabulary
    ip_map = json.loads((ORIGINAL / "char_ip_map.json").read_text())
    brought_any = False
    for image, case in CASES.items():
        scores = vocabulary.with_derived(reference_run[image].scores[: vocabulary.outputs])
        kept = [vocabulary.names[i] for i in select(scores, vocabulary, tagger.policy, Selection())]
        by_category = {c: [n for n in kept if vocabulary.categories[vocabulary.names.index(n)] == c]
                       for c in ("general", "character", "copyright")}  # fmt: skip
        assert by_category["general"] == list(case["general_over_0.30"])
        assert sorted(by_category["character"]) == sorted(case[over])
        ips = sorted({ip for character in case[over] for ip in ip_map[character]})
        # A copyright spelt like one of the model's own tags (doraemon) is that tag.
        assert by_category["copyright"] == [ip for ip in kept if ip in ips and ip not in EXPECTED["tags"]]
        assert sorted(set(ips) - set(kept)) == []
        assert len(kept) == len(by_category["general"]) + len(by_category["character"]) + len(by_category["copyright"])
        brought_any |= bool(by_category["copyright"])
    assert brought_any, "the fixture's images must exercise the copyright rule"


def test_a_copyright_scores_as_its_best_character() -> None:
    vocabulary = recognise(TINY).vocabulary
    genshin = vocabulary.names.index("genshin_impact")
    sources = vocabulary.derived[genshin - vocabulary.outputs]
    assert sorted(vocabulary.names[i] for i in sources) == ["boo_tao_(genshin_impact)", "hu_tao_(genshin_impact)"]
    scores = np.linspace(0.01, 0.99, vocabulary.outputs, dtype=np.float32)[None]
    assert vocabulary.with_derived(scores)[0, genshin] == scores[0, list(sources)].max()


def _without(tmp_path: Path, *names: str) -> TaggerFolder:
    """The tiny model without some of its files, recognised."""
    copy = Path(shutil.copytree(TINY, tmp_path / "pixai"))
    for name in names:
        (copy / name).unlink()
    return recognise(copy)


@pytest.mark.slow
def test_cli_jsonl_lists_every_output_with_its_own_probability() -> None:
    """``--threshold 0`` prints the model's probabilities, before the copyright rule; the model's own
    rule (no --threshold) adds the copyrights with their characters."""
    images = [str(IMAGES / name) for name in CASES]
    base = [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(TINY), "--format", "jsonl",
            "--precision", "float32", "--preprocess", "reference"]  # fmt: skip
    raw = subprocess.run([*base, "--threshold", "0", "--digits", "9", *images], capture_output=True, text=True,
                         timeout=300)  # fmt: skip
    assert raw.returncode == 0, raw.stderr
    records = [json.loads(line) for line in raw.stdout.splitlines()]
    assert len(records) == len(CASES)
    for record in records:
        assert set(record["tags"]) == set(EXPECTED["tags"])
        got = np.asarray([record["tags"][tag] for tag in EXPECTED["tags"]], np.float32)
        assert float(np.abs(got - reference_prediction(Path(record["path"]).name)).max()) <= TOLERANCE
    ruled = subprocess.run([*base, *images], capture_output=True, text=True, timeout=300)
    assert ruled.returncode == 0, ruled.stderr
    copyrights = {Path(r["path"]).name: sorted(t for t, c in r["categories"].items() if c == "copyright")
                  for r in map(json.loads, ruled.stdout.splitlines())}  # fmt: skip
    assert copyrights == {
        name: [ip for ip in case["ips"] if ip not in EXPECTED["tags"]] for name, case in CASES.items()
    }


ORIGINAL_PROBE = """
import os, sys
def refuse(event, args):
    if event == "open" and str(args[0]).endswith(".pth"):
        os._exit(3)  # the pickle was opened
sys.addaudithook(refuse)
from joytag_desktop.errors import ModelFolderError
from joytag_desktop.taggers import open_tagger
try:
    open_tagger(sys.argv[1])
except ModelFolderError as exc:
    print(exc)
sys.exit(4 if "torch" in sys.modules else 0)
"""


@pytest.mark.parametrize("extra", [[], ["preprocess.json"]])
def test_the_original_layout_is_refused_without_opening_the_pickle(tmp_path: Path, extra: list[str]) -> None:
    """pixai-labs' own layout (model_v0.9.pth, a pickle) is recognised and refused in one line that
    points at the ONNX export, and the .pth is never opened (nor is torch imported)."""
    folder = Path(shutil.copytree(ORIGINAL, tmp_path / "pixai-tagger-v0.9"))
    for name in extra:  # half an ONNX download beside it changes nothing
        shutil.copy(TINY / name, folder / name)
    result = subprocess.run([sys.executable, "-c", ORIGINAL_PROBE, str(folder)], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, (result.returncode, result.stderr)
    message = result.stdout.strip()
    assert "\n" not in message and ONNX_EXPORT in message and "model_v0.9.pth" in message and str(folder) in message
    assert recognise(TINY).family.name == "pixai"
    with pytest.raises(ModelFolderError, match="never opens"):
        recognise(folder)


@pytest.mark.parametrize("name", ["model.onnx", "selected_tags.csv", "categories.json", "preprocess.json"])
def test_an_incomplete_folder_names_what_is_missing(tmp_path: Path, name: str) -> None:
    folder = Path(shutil.copytree(TINY, tmp_path / "pixai"))
    (folder / name).unlink()
    with pytest.raises(ModelFolderError, match=f"PixAI tagger folder {folder} is missing {name}"):
        recognise(folder)


def test_without_thresholds_csv_the_model_cards_thresholds_apply(tmp_path: Path) -> None:
    tagger = _without(tmp_path, "thresholds.csv")
    assert tagger.policy.thresholds_for(None) == (0.3, {"general": 0.3, "character": 0.75, "copyright": 0.75})
    assert recognise(TINY).policy.thresholds_for(None)[1]["character"] == 0.85


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        ("preprocess.json", '{"stages": [{"type": "resize", "size": 448}]}', "expected the stages"),
        ("categories.json", '{"0": "general"}', "must list"),
        ("selected_tags.csv", "id,tag_id,name,category,count,ips\n0,1,a,0,5,[oops\n", "ips is not a JSON list"),
        ("thresholds.csv", "category,name,threshold\n0,general,1.5\n", "between 0 and 1"),
    ],
)
def test_damaged_small_files_are_explained(tmp_path: Path, file: str, text: str, message: str) -> None:
    folder = Path(shutil.copytree(TINY, tmp_path / "pixai"))
    (folder / file).write_text(text)
    with pytest.raises(ModelFolderError, match=message):
        recognise(folder)


def test_a_graph_that_does_not_fit_its_tag_list_is_refused(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(TINY, tmp_path / "pixai"))
    lines = (folder / "selected_tags.csv").read_text().splitlines()
    (folder / "selected_tags.csv").write_text("\n".join(lines[:-1]) + "\n")
    engine = TaggingEngine(folder, device="cpu", precision="float32", runtime="onnxruntime")
    with pytest.raises(ModelFolderError, match="gives 28 scores but its tag list names 27"):
        list(engine.tag_paths([IMAGES / "logo.png"]))


def test_the_real_files_listing_matches_what_the_loader_expects() -> None:
    """The published weights' tensors (derived from timm, README) give the ONNX graph the loader and
    the deepghs files describe: a 448 px input (preprocess.json), a 1024-wide embedding, one
    prediction per row of selected_tags.csv; and timm's eva02_large_patch14_448 (the benchmark's
    full-size graph) builds exactly that encoder."""
    import timm
    import torch

    listing = json.loads((FORMAT / "released" / "pixai-tagger-v0.9-pth.json").read_text())
    shapes = {t["name"]: tuple(t["shape"]) for t in listing["tensors"]}
    assert listing["n_tensors"] == len(shapes) == 464
    tags, width = shapes["1.head.0.weight"]
    patch = shapes["0.patch_embed.proj.weight"][-1]
    side = math.isqrt(shapes["0.pos_embed"][1] - 1) * patch  # a class token + one position per patch
    assert (side, width, tags) == (448, 1024, 13461)
    steps = recognise(TINY).details["steps"]
    assert steps.size == (side, side) and steps.resample == 2  # bilinear, as deepghs' preprocess.json
    assert shapes["1.head.0.bias"] == (tags,)
    with torch.device("meta"):
        encoder = timm.create_model("eva02_large_patch14_448", pretrained=False, num_classes=0)
    assert {f"0.{k}": tuple(v.shape) for k, v in encoder.state_dict().items()} == {
        k: v for k, v in shapes.items() if k.startswith("0.")
    }
    assert encoder.num_features == width


@pytest.mark.slow
def test_a_library_tagged_by_pixai_finds_images_by_copyright(tmp_path: Path) -> None:
    """autotag stores each copyright with its best character's score; the library's own thresholds
    (the model's, per category) then find an image by the series of the characters in it."""
    import os

    from helpers.library import paths_of
    from joytag_desktop.library import Library

    photos = Path(shutil.copytree(IMAGES, tmp_path / "photos"))
    db = tmp_path / "library.sqlite3"
    env = dict(os.environ, JOYTAG_DESKTOP_HOME=str(tmp_path / "home"))
    for command in (["index", "--no-watch", str(photos)], ["autotag", "--model", str(TINY), "--precision", "float32"]):
        done = subprocess.run([sys.executable, "-m", "joytag_desktop", "--db", str(db), *command], env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
    with Library(db) as library:
        assert library.model_thresholds()["pixai-tiny-a"]["copyright"] == pytest.approx(0.85)
        for ip in ("pokemon", "kirby_(series)", "genshin_impact", "vocaloid"):
            want = sorted(name for name, case in CASES.items() if ip in case["ips"])
            assert sorted(paths_of(library, f"copyright:{ip}")) == want, ip
        assert sorted(paths_of(library, "character:kirby")) == sorted(
            name for name, case in CASES.items() if "kirby" in case["character_over_0.85"]
        )
