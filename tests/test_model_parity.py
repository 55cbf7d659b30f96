"""Parity with the reference implementation's published outputs (float32, CPU)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from helpers.fixture_files import FORMAT_DIR, IMAGES_DIR, MODEL_NAMES, SAMPLE_IMAGES, expected_cases
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers.joytag import inspect_folder, load_network
from joytag_desktop.taggers.joytag.config import ViTConfig
from joytag_desktop.taggers.joytag.folder import expected_shapes
from joytag_desktop.taggers.joytag.network import JoyTagViT
from joytag_desktop.taggers.joytag.preprocess import reference_tensor

LOGIT_TOLERANCE = 1e-4
INPUT_TOLERANCE = 1e-5


@pytest.fixture(scope="module", params=MODEL_NAMES)
def loaded(request: pytest.FixtureRequest):
    tagger = inspect_folder(FORMAT_DIR / request.param)
    return request.param, tagger, load_network(tagger)


@pytest.mark.parametrize("image_name", ["astronaut", "logo"])
def test_preprocessing_matches_reference(loaded, image_name: str) -> None:
    model_name, _, network = loaded
    expected = np.load(FORMAT_DIR / model_name / f"input-{image_name}.npy")
    tensor = reference_tensor(open_image(IMAGES_DIR / f"{image_name}.png"), network.config.image_size)
    assert tensor.dtype == torch.float32
    assert tensor.shape == expected.shape
    assert np.abs(tensor.numpy() - expected).max() < INPUT_TOLERANCE


@pytest.mark.parametrize("image_name", SAMPLE_IMAGES)
def test_logits_and_embedding_match_reference(loaded, image_name: str) -> None:
    model_name, _, network = loaded
    case = expected_cases(model_name)[image_name]
    tensor = reference_tensor(open_image(IMAGES_DIR / image_name), network.config.image_size)
    with torch.inference_mode():
        logits, embedding = network.forward_with_embedding(tensor[None])
    assert logits.shape == (1, network.config.n_tags)
    assert np.abs(logits[0].numpy() - np.array(case["logits"])).max() < LOGIT_TOLERANCE
    if "embedding" in case:
        assert np.abs(embedding[0].numpy() - np.array(case["embedding"])).max() < LOGIT_TOLERANCE


@pytest.mark.parametrize("batch_size", [1, 4, 6])
def test_engine_scores_match_reference_at_any_batch_size(loaded, batch_size: int) -> None:
    model_name, tagger, network = loaded
    cases = expected_cases(model_name)
    engine = TaggingEngine(
        tagger, device="cpu", batch_size=batch_size, decode_workers=2, precision="float32", preprocessing="reference"
    )

    results = list(engine.tag_paths([IMAGES_DIR / name for name in SAMPLE_IMAGES]))
    assert [r.path.name for r in results] == list(SAMPLE_IMAGES)
    for result in results:
        assert result.ok, result.error
        expected_scores = 1 / (1 + np.exp(-np.array(cases[result.path.name]["logits"])))
        assert result.scores is not None and result.scores.dtype == np.float32
        assert np.abs(result.scores - expected_scores).max() < LOGIT_TOLERANCE
        assert result.embedding is not None and result.embedding.shape == (network.config.d_model,)


def test_released_network_has_exact_tensor_names_and_shapes() -> None:
    released = json.loads((FORMAT_DIR / "released-state-dict.json").read_text())
    config = ViTConfig.from_dict(released["config"])
    wanted = {name: tuple(spec["shape"]) for name, spec in released["tensors"].items()}
    assert expected_shapes(config) == wanted
    with torch.device("meta"):
        network = JoyTagViT(config)
    assert all(p.is_meta for p in network.parameters()), "the full-size check must not allocate weights"
    assert sum(p.numel() for p in network.parameters()) == released["parameters"]


def test_learned_positions_keep_position_ids_buffer() -> None:
    network = load_network(FORMAT_DIR / "tiny-learned-pos")
    state = network.state_dict()
    assert torch.equal(state["pos_embedding.position_ids"], torch.arange(network.config.num_tokens))


def test_plain_patch_stem_is_named_like_the_format() -> None:
    config = ViTConfig.from_dict(
        {
            "class": "ViT",
            "n_tags": 3,
            "image_size": 32,
            "num_blocks": 1,
            "patch_size": 16,
            "d_model": 8,
            "mlp_dim": 16,
            "num_heads": 2,
            "use_sine": True,
        }
    )
    shapes = expected_shapes(config)
    assert shapes["patch_embeddings.weight"] == (8, 3, 16, 16)
    assert shapes["patch_embeddings.bias"] == (8,)
    network = JoyTagViT(config).eval()
    with torch.inference_mode():
        logits, embedding = network.forward_with_embedding(torch.zeros(2, 3, 32, 32))
    assert logits.shape == (2, 3) and embedding.shape == (2, 8)
