"""A broken model folder gets a clear error naming what is wrong; never a traceback, never pickle."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from joytag_desktop.errors import ModelFolderError, ModelNotFoundError
from joytag_desktop.taggers.installed import resolve_model_path
from joytag_desktop.taggers.joytag import inspect_folder, load_network


def rewrite_weights(folder: Path, change) -> None:
    state = {name: t.clone() for name, t in load_file(folder / "model.safetensors").items()}
    change(state)
    save_file(state, folder / "model.safetensors")


def edit_config(folder: Path, **fields) -> None:
    config = json.loads((folder / "config.json").read_text())
    config.update(fields)
    (folder / "config.json").write_text(json.dumps(config))


def test_valid_folder_loads(model_copy: Path) -> None:
    tagger = inspect_folder(model_copy)
    network = load_network(tagger)
    assert len(tagger.tags) == network.config.n_tags == 96
    assert not network.training


@pytest.mark.parametrize("missing", ["config.json", "model.safetensors", "top_tags.txt"])
def test_missing_file_is_named(model_copy: Path, missing: str) -> None:
    (model_copy / missing).unlink()
    with pytest.raises(ModelFolderError, match=f"missing {missing}"):
        inspect_folder(model_copy)


def test_folder_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="does not exist"):
        inspect_folder(tmp_path / "nowhere")


def test_bad_json(model_copy: Path) -> None:
    (model_copy / "config.json").write_text('{"class": "ViT", ')
    with pytest.raises(ModelFolderError, match="not valid JSON"):
        inspect_folder(model_copy)


def test_unknown_class(model_copy: Path) -> None:
    edit_config(model_copy, **{"class": "CLIP"})
    with pytest.raises(ModelFolderError, match="unsupported model class 'CLIP'"):
        inspect_folder(model_copy)


def test_unknown_field_warns_but_loads(model_copy: Path) -> None:
    edit_config(model_copy, new_training_knob=3, patch_dropout=0.5)
    with pytest.warns(UserWarning, match="new_training_knob"):
        network = load_network(model_copy)
    assert network.config.n_tags == 96


def test_training_fields_are_silent(model_copy: Path) -> None:
    edit_config(model_copy, patch_dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_network(model_copy)


def test_tag_count_must_match_config(model_copy: Path) -> None:
    tags = (model_copy / "top_tags.txt").read_text().splitlines()
    (model_copy / "top_tags.txt").write_text("\n".join(tags[:-1]))
    with pytest.raises(ModelFolderError, match=r"lists 95 tags but config\.json says n_tags is 96"):
        inspect_folder(model_copy)


def test_head_must_match_tag_count(model_copy: Path) -> None:
    tags = (model_copy / "top_tags.txt").read_text().splitlines()
    (model_copy / "top_tags.txt").write_text("\n".join([*tags, "extra_tag"]))
    edit_config(model_copy, n_tags=97)
    with pytest.raises(ModelFolderError, match="head has 96 outputs but there are 97 tags"):
        inspect_folder(model_copy)


def test_blank_lines_in_tags_are_skipped(model_copy: Path) -> None:
    tags = (model_copy / "top_tags.txt").read_text().splitlines()
    (model_copy / "top_tags.txt").write_text("\n\n".join(tags) + "\n\n")
    assert inspect_folder(model_copy).tags == tags


def test_truncated_weights(model_copy: Path) -> None:
    weights = model_copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(ModelFolderError, match="corrupt or truncated"):
        inspect_folder(model_copy)


def test_garbage_weights(model_copy: Path) -> None:
    (model_copy / "model.safetensors").write_bytes(b"\x00\x01 not a safetensors file at all" * 10)
    with pytest.raises(ModelFolderError, match="corrupt or truncated"):
        inspect_folder(model_copy)


def test_pickle_checkpoint_is_refused(model_copy: Path) -> None:
    """A torch.save (pickle) file renamed to model.safetensors must never be unpickled."""
    state = {name: t.clone() for name, t in load_file(model_copy / "model.safetensors").items()}
    torch.save(state, model_copy / "model.safetensors")
    with pytest.raises(ModelFolderError, match="corrupt or truncated"):
        load_network(model_copy)


def test_missing_tensor(model_copy: Path) -> None:
    rewrite_weights(model_copy, lambda s: s.pop("blocks.1.mlp.linear1.weight"))
    with pytest.raises(ModelFolderError, match=r"missing tensors blocks\.1\.mlp\.linear1\.weight"):
        inspect_folder(model_copy)


def test_extra_tensor(model_copy: Path) -> None:
    rewrite_weights(model_copy, lambda s: s.update({"blocks.7.norm1.weight": torch.ones(64)}))
    with pytest.raises(ModelFolderError, match=r"unexpected tensors blocks\.7\.norm1\.weight"):
        inspect_folder(model_copy)


def test_wrong_shape(model_copy: Path) -> None:
    rewrite_weights(model_copy, lambda s: s.update({"norm.weight": torch.ones(32)}))
    with pytest.raises(ModelFolderError, match=r"norm\.weight has shape \[32\], expected \[64\]"):
        inspect_folder(model_copy)


def test_legacy_head_with_nine_extra_rows_keeps_first_rows(model_copy: Path) -> None:
    original = load_network(model_copy).head.weight.detach().clone()

    def widen(state: dict) -> None:
        state["head.weight"] = torch.cat([state["head.weight"], torch.randn(9, 64)])
        state["head.bias"] = torch.cat([state["head.bias"], torch.randn(9)])

    rewrite_weights(model_copy, widen)
    network = load_network(model_copy)
    assert torch.equal(network.head.weight, original)


def test_bad_stem_string(model_copy: Path) -> None:
    edit_config(model_copy, cnn_stem="conv:c=8;pool;conv:c=64")
    with pytest.raises(ModelFolderError, match="layer 1 'pool'"):
        inspect_folder(model_copy)


def test_no_model_anywhere_says_how_to_get_one() -> None:
    with pytest.raises(ModelNotFoundError, match="joytag-desktop models download"):
        resolve_model_path(None)


def test_model_from_environment(monkeypatch: pytest.MonkeyPatch, model_copy: Path) -> None:
    monkeypatch.setenv("JOYTAG_DESKTOP_MODEL", str(model_copy))
    assert resolve_model_path(None) == model_copy
