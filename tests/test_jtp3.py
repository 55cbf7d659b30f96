"""JTP-3 "Hydra" against the outputs of the reference implementation (tests/fixtures/jtp3-format/README.md):
NaFlex preprocessing bit for bit, probabilities within 1e-5 through every runtime, the model's own rule
(calibration, the published default, implications), the folder checks, --seqlen, the real file's tensors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from joytag_desktop.categories import GENERAL, META, SPECIES
from joytag_desktop.errors import JoyTagError, ModelFolderError
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers import recognise
from joytag_desktop.taggers.contract import SAFETENSORS
from joytag_desktop.taggers.naflex import PATCH, patchify, size_for_seq
from joytag_desktop.taggers.vocabulary import Selection, select

FORMAT = Path(__file__).parent / "fixtures" / "jtp3-format"
IMAGES = FORMAT / "images"
MODELS = ["jtp-3-hydra-tiny-a", "jtp-3-hydra-tiny-b"]  # tiny-a carries the calibration file
EXPECTED = json.loads((FORMAT / "expected.json").read_text())["models"]
TOLERANCE = 1e-5


def cases(model: str) -> dict:
    return EXPECTED[f"models/{model}.safetensors"]["images"]


def probabilities(case: dict, names: tuple[str, ...]) -> np.ndarray:
    return np.asarray([case["probs_fp32"][name] for name in names], np.float32)


# --- preprocessing ----------------------------------------------------------------------------------


def test_naflex_buffers_are_the_reference_arrays_bit_for_bit() -> None:
    patches, coords, valid = patchify(open_image(IMAGES / "chelsea.png", flatten=False), 1024)
    assert np.array_equal(patches, np.load(FORMAT / "preprocessed_chelsea_patches_uint8.npy"))
    assert np.array_equal(coords, np.load(FORMAT / "preprocessed_chelsea_coords_int16.npy"))
    assert np.array_equal(valid, np.load(FORMAT / "preprocessed_chelsea_valid_bool.npy"))


@pytest.mark.parametrize("image", sorted(cases(MODELS[0])))
def test_each_image_keeps_its_aspect_ratio_within_the_patch_budget(image: str) -> None:
    case = cases(MODELS[0])[image]
    patches, coords, valid = patchify(open_image(IMAGES / image, flatten=False), 1024)
    assert int(valid.sum()) == case["n_valid_patches"] <= 1024
    assert [int(coords[valid][:, 0].max()) + 1, int(coords[valid][:, 1].max()) + 1] == case["grid_hw"]
    grid_h, grid_w = case["grid_hw"]
    assert case["resized_wh"] == [grid_w * PATCH, grid_h * PATCH]
    assert not patches[~valid].any() and not coords[~valid].any()


def test_the_patch_budget_bisection() -> None:
    assert size_for_seq(7, 9, 1024) == (16, 16)  # one patch at least
    assert size_for_seq(512, 512, 1024) == (512, 512)  # 32 x 32 fits as it is
    height, width = size_for_seq(3000, 4000, 1024)
    assert (height // PATCH) * (width // PATCH) <= 1024 and abs(width / height - 4 / 3) < 0.05
    height, width = size_for_seq(3000, 4000, 64)
    assert (height // PATCH) * (width // PATCH) <= 64


def test_the_packed_input_resizes_the_position_grid_as_torch_does() -> None:
    """The row and column weights in the input are F.interpolate's (bilinear, antialiased)."""
    import torch.nn.functional as F

    from joytag_desktop.taggers.naflex import interpolation_weights

    grid = torch.randn(1, 5, 16, 16)
    for target in [(18, 28), (9, 40), (1, 1), (16, 16), (3, 64)]:
        want = F.interpolate(grid, size=target, mode="bilinear", antialias=True, align_corners=False)
        rows, cols = (torch.from_numpy(interpolation_weights(16, n)) for n in target)
        ours = torch.einsum("yi,xj,cij->cyx", rows, cols, grid[0])
        assert float((ours - want[0]).abs().max()) < 1e-5, target


# --- parity -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "runtime",
    ["torch", pytest.param("onnxruntime", marks=pytest.mark.slow), pytest.param("openvino", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("model", MODELS)
def test_probabilities_match_the_reference_through_every_runtime(model: str, runtime: str) -> None:
    engine = TaggingEngine(FORMAT / model, device="cpu", precision="float32", preprocessing="reference",
                           runtime=runtime, batch_size=4)  # fmt: skip
    assert engine.runtime == runtime
    results = list(engine.tag_paths(sorted(IMAGES.iterdir())))
    assert [r.path.name for r in results] == sorted(cases(model))
    width = engine.tagger.details["dims"].width
    for result in results:
        assert result.ok, result.error
        assert result.scores is not None and result.embedding is not None
        want = probabilities(cases(model)[result.path.name], engine.vocabulary.names)
        assert float(np.abs(result.scores - want).max()) <= TOLERANCE, result.path.name
        assert result.embedding.shape == (width,) and np.isfinite(result.embedding).all()
    embeddings = [r.embedding for r in results if r.embedding is not None]
    assert not np.allclose(embeddings[0], embeddings[1])


def test_logits_match_on_the_pytorch_route() -> None:
    tagger = recognise(FORMAT / MODELS[1])
    network = tagger.family.build_network(tagger)
    image = open_image(IMAGES / "odd_wide_rgba.png", flatten=False)
    with torch.inference_mode():
        scores, _ = network(torch.from_numpy(tagger.family.reference_input(tagger, SAFETENSORS, image))[None])
    logits = torch.logit(scores[0].double()).numpy()
    case = cases(MODELS[1])["odd_wide_rgba.png"]
    want = np.asarray([case["logits_fp32"][name] for name in tagger.tags])
    assert float(np.abs(logits - want).max()) <= 1e-4


# --- the model's own rule ------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_the_default_rule_is_calibration_or_p_075_after_implications(model: str) -> None:
    tagger = recognise(FORMAT / model)
    calibrated = (FORMAT / model / "calibration.csv").is_file()
    assert bool(tagger.policy.tag_thresholds) == calibrated
    key = ("tags_calibrated_implications_inherit" if calibrated
           else "tags_cli_default_sym0.5_p_ge_0.75_implications_inherit")  # fmt: skip
    for name, case in cases(model).items():
        scores = probabilities(case, tagger.vocabulary.names)
        kept = select(scores, tagger.vocabulary, tagger.policy, Selection())
        assert {tagger.tags[i] for i in kept} == set(case[key]), name
        # a given threshold compares each tag's own probability, implications aside
        kept = select(scores, tagger.vocabulary, tagger.policy, Selection(threshold=0.5))
        assert sorted(tagger.tags[i] for i in kept) == case["tags_sym0.0_p_ge_0.5_implications_off"], name


def test_categories_and_implications_come_from_the_tag_table() -> None:
    tagger = recognise(FORMAT / MODELS[1])
    category = dict(zip(tagger.vocabulary.names, tagger.vocabulary.categories, strict=True))
    assert (category["domestic_cat"], category["logo"], category["whiskers"]) == (SPECIES, META, GENERAL)
    implied = tagger.policy.implications[tagger.tags.index("domestic_cat")]
    assert [tagger.tags[i] for i in implied] == ["felis"]


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_cli_jsonl_lists_every_tag_with_its_own_probability(model: str) -> None:
    command = [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(FORMAT / model), "--threshold", "0",
               "--format", "jsonl", "--precision", "float32", "--preprocess", "reference", str(IMAGES)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    tagger = recognise(FORMAT / model)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == len(cases(model))
    for record in records:
        case = cases(model)[Path(record["path"]).name]
        assert set(record["tags"]) == set(tagger.tags)
        got = np.asarray([record["tags"][name] for name in tagger.tags], np.float32)
        assert float(np.abs(got - probabilities(case, tagger.vocabulary.names)).max()) <= TOLERANCE
        assert record["categories"]["domestic_cat"] == SPECIES


# --- --seqlen ---------------------------------------------------------------------------------------


def test_seqlen_sets_the_patch_budget_and_only_jtp3_takes_it() -> None:
    tagger = recognise(FORMAT / MODELS[0])
    tagger.family.apply_options(tagger, {"seqlen": 256})
    packed = tagger.family.reference_input(tagger, SAFETENSORS, open_image(IMAGES / "astronaut.png", flatten=False))
    assert packed.shape[0] == 256 and 200 < int(packed[:, -1].sum()) <= 256
    assert tagger.family.graph_key(tagger) == "-seq256"
    with pytest.raises(JoyTagError, match="64…2048"):
        tagger.family.apply_options(tagger, {"seqlen": 4096})
    other = recognise(Path(__file__).parent / "fixtures" / "jtp-format" / "JTP_PILOT_TINY")
    with pytest.raises(JoyTagError, match="takes no --seqlen"):
        other.family.apply_options(other, {"seqlen": 256})


def test_autotag_keeps_seqlen_with_the_model_for_every_worker(tmp_path: Path) -> None:
    from joytag_desktop.cli.main import main
    from joytag_desktop.library import Library
    from joytag_desktop.worker.worker import TaggingWorker, WorkerSettings

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea.png", "logo.png"):
        shutil.copy(IMAGES / name, photos / name)
    db = tmp_path / "lib.db"
    assert main(["--db", str(db), "index", str(photos)]) == 0
    command = ["--db", str(db), "autotag", "--model", str(FORMAT / MODELS[1]), "--device", "cpu", "--seqlen", "256"]
    assert main(command) == 0
    with Library(db) as library:
        [model] = library.models()
        assert library.model_options(model.id) == {"seqlen": 256}
        assert model.images == 2
        worker = TaggingWorker(library, WorkerSettings(str(FORMAT / MODELS[1]), "cpu"))
        [(engine, _)] = worker._load_engines()
        assert engine.tagger.details["seqlen"] == 256


# --- the folder -------------------------------------------------------------------------------------


def test_missing_and_inconsistent_files_are_named(tmp_path: Path) -> None:
    folder = shutil.copytree(FORMAT / MODELS[1], tmp_path / "jtp3")
    (folder / "data" / "jtp-3-hydra-tiny-b-tags.csv").unlink()
    with pytest.raises(ModelFolderError, match=r"missing data/jtp-3-hydra-tiny-b-tags\.csv"):
        recognise(folder)
    shutil.copy(FORMAT / MODELS[1] / "data" / "jtp-3-hydra-tiny-b-tags.csv", folder / "data")
    (folder / "models" / "jtp-3-hydra-tiny-b.safetensors").unlink()
    with pytest.raises(ModelFolderError, match=r"missing models/\*\.safetensors"):
        recognise(folder)


def test_a_fifo_named_as_the_weights_is_refused_not_waited_on(tmp_path: Path) -> None:
    """A FIFO (or device) in models/ would block the safetensors reader for ever: one line instead."""
    import os

    folder = shutil.copytree(FORMAT / MODELS[1], tmp_path / "jtp3")
    weights = folder / "models" / "jtp-3-hydra-tiny-b.safetensors"
    weights.unlink()
    os.mkfifo(weights)
    image = next(IMAGES.iterdir())
    command = [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(folder), str(image)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "joytag-desktop: error: jtp-3-hydra-tiny-b.safetensors is not a regular file "
        "(a FIFO, device or socket), not read"
    ]


def test_a_folder_of_several_models_uses_the_published_default(tmp_path: Path) -> None:
    folder = shutil.copytree(FORMAT / MODELS[1], tmp_path / "jtp3")
    shutil.copy(FORMAT / MODELS[0] / "models" / "jtp-3-hydra-tiny-a.safetensors", folder / "models")
    with pytest.raises(ModelFolderError, match=r"several models \(jtp-3-hydra-tiny-a.safetensors, jtp-3-hydra-tiny-b"):
        recognise(folder)
    (folder / "models" / "jtp-3-hydra-tiny-b.safetensors").rename(folder / "models" / "jtp-3-hydra.safetensors")
    (folder / "data" / "jtp-3-hydra-tiny-b-tags.csv").rename(folder / "data" / "jtp-3-hydra-tags.csv")
    assert recognise(folder).files[SAFETENSORS].name == "jtp-3-hydra.safetensors"


def test_another_architecture_is_refused_by_name(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    folder = tmp_path / "hydra35"
    (folder / "models").mkdir(parents=True)
    save_file({"roots": np.zeros((2, 2), np.float32)}, str(folder / "models" / "JTP-Hydra-3.5.safetensors"),
              metadata={"modelspec.architecture": "naflexvit_so400m_patch16_siglip+rr_hydra2"})  # fmt: skip
    with pytest.raises(
        ModelFolderError, match=r"JTP-Hydra-3\.5\.safetensors \(naflexvit_so400m_patch16_siglip\+rr_hydra2\) is not"
    ):
        recognise(folder)


def test_labels_must_match_the_outputs(tmp_path: Path) -> None:
    from safetensors import safe_open
    from safetensors.numpy import save_file

    folder = shutil.copytree(FORMAT / MODELS[1], tmp_path / "jtp3")
    weights = folder / "models" / "jtp-3-hydra-tiny-b.safetensors"
    with safe_open(str(weights), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {name: handle.get_tensor(name).float().numpy() for name in handle.keys()}
    metadata["classifier.labels"] = "\n".join(metadata["classifier.labels"].split("\n")[:-1])
    save_file(tensors, str(weights), metadata=metadata)
    with pytest.raises(ModelFolderError, match=r"has 24 outputs but classifier\.labels lists 23"):
        recognise(folder)


# --- the real file --------------------------------------------------------------------------------


def test_the_published_tensors_give_the_architecture() -> None:
    """The backbone of the real file (derived from the published code: released/jtp-3-hydra.json) is
    what the loader builds; the head with the sizes of the published loader (32 heads × 64, FF 6144)."""
    from joytag_desktop.taggers.jtp3 import dimensions
    from joytag_desktop.taggers.jtp3_network import Jtp3Network

    listing = json.loads((FORMAT / "released" / "jtp-3-hydra.json").read_text())
    backbone = {item["name"]: tuple(item["shape"]) for item in listing["backbone"]}
    tags, heads, head_dim, ff = 7504, 32, 64, 6144
    head = {"attn_pool.q": (heads, tags, head_dim), "attn_pool.kv.weight": (2 * heads * head_dim, 1152),
            "attn_pool.ff_norm.weight": (heads * head_dim,), "attn_pool.ff_norm.bias": (heads * head_dim,),
            "attn_pool.ff_in.weight": (2 * ff, heads * head_dim), "attn_pool.ff_out.weight": (heads * head_dim, ff),
            "attn_pool.out_proj.weight": (tags, heads * head_dim, 2)}  # fmt: skip
    symbolic = {item["name"] for item in listing["head_symbolic"] if "optional" not in item["name"]}
    assert set(head) == symbolic
    dims = dimensions(backbone | head, {}, Path("jtp-3-hydra.safetensors"))
    assert (dims.width, dims.depth, dims.heads, dims.mlp, dims.grid) == (1152, 27, 16, 4304, (16, 16))
    with torch.device("meta"):
        network = Jtp3Network(dims)
    assert {name: tuple(t.shape) for name, t in network.state_dict().items()} == backbone | head
