"""Every published tagger format against its reference outputs (fixtures copied from the format specs:
tests/fixtures/{wd,jtp,camie}-format/README.md say what parity means numerically).

One contract over all formats and routes (scores, embeddings, preprocessed inputs), then each
format's own rules (WD ratings and MCut, JTP's 0.2, camie's profiles), the full-size tensor
listings, folder errors, the catalogue layouts and the CLI's jsonl output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from joytag_desktop.errors import ModelFolderError
from joytag_desktop.inference.device import cpu_has_fast_bf16
from joytag_desktop.inference.engine import TaggingEngine
from joytag_desktop.media.imaging import open_image
from joytag_desktop.taggers import list_taggers, recognise, tagger_family
from joytag_desktop.taggers.catalogue import CATALOGUE
from joytag_desktop.taggers.contract import ONNX, SAFETENSORS
from joytag_desktop.taggers.vocabulary import Selection, mcut_threshold, select

FIXTURES = Path(__file__).parent / "fixtures"
# (folder, route, score tolerance from the format's README)
CASES = [
    ("wd-format/wd-tiny-vit-tagger-v3", SAFETENSORS, 1e-5),
    ("wd-format/wd-tiny-vit-tagger-v3", ONNX, 1e-5),
    ("wd-format/wd-tiny-swinv2-tagger-v3", SAFETENSORS, 1e-5),
    ("wd-format/wd-tiny-swinv2-tagger-v3", ONNX, 1e-5),
    ("jtp-format/JTP_PILOT_TINY", SAFETENSORS, 1e-5),
    ("jtp-format/JTP_PILOT2_TINY", SAFETENSORS, 1e-5),
    ("camie-format/v1-initial-onnx", ONNX, 3e-5),
    ("camie-format/v2-onnx", ONNX, 3e-5),
]
CASE_IDS = [f"{folder.split('/')[1]}-{route}" for folder, route, _ in CASES]


def expected(folder: str) -> dict:
    return json.loads((FIXTURES / folder / "expected.json").read_text())


def expected_images(folder: str) -> dict:
    data = expected(folder)
    return data.get("images") or data["cases"]


def images_dir(folder: str) -> Path:
    return FIXTURES / folder.split("/")[0] / "images"


def reference_scores(folder: str, case: dict, names: tuple[str, ...]) -> np.ndarray:
    """The fixture's scores in output order (camie keys them by tag)."""
    scores = case["scores"]
    return np.asarray([scores[name] for name in names] if isinstance(scores, dict) else scores, dtype=np.float32)


@pytest.fixture(scope="module", params=CASES, ids=CASE_IDS)
def reference_run(request: pytest.FixtureRequest) -> tuple[str, TaggingEngine, dict]:
    folder, route, tolerance = request.param
    engine = TaggingEngine(
        FIXTURES / folder, device="cpu", precision="float32", preprocessing="reference", route=route, batch_size=3
    )
    paths = [images_dir(folder) / name for name in expected_images(folder)]
    return folder, engine, {r.path.name: r for r in engine.tag_paths(paths)} | {"tolerance": tolerance}


@pytest.mark.slow
def test_every_format_is_recognised_from_its_files() -> None:
    seen = {recognise(FIXTURES / folder).family.name for folder, _, _ in CASES}
    seen.add(recognise(FIXTURES / "joytag-format/tiny-learned-pos").family.name)
    seen.add(recognise(FIXTURES / "pixai-format/pixai-tiny-a").family.name)  # tests/test_pixai.py
    seen.add(recognise(FIXTURES / "jtp3-format/jtp-3-hydra-tiny-a").family.name)  # tests/test_jtp3.py
    seen.add(recognise(FIXTURES / "siglip2-format/siglip2-tiny-a").family.name)  # tests/test_siglip2.py
    assert seen == set(list_taggers())


def test_scores_match_the_reference(reference_run) -> None:
    folder, engine, results = reference_run
    tolerance = results.pop("tolerance")
    try:
        cases = expected_images(folder)
        assert set(results) == set(cases)
        for name, result in results.items():
            assert result.ok, result.error
            want = reference_scores(folder, cases[name], engine.vocabulary.names)
            assert result.scores.shape == want.shape
            assert float(np.abs(result.scores - want).max()) <= tolerance, name
    finally:
        results["tolerance"] = tolerance


def test_every_backend_returns_a_pooled_embedding(reference_run) -> None:
    results = reference_run[2]
    embeddings = [r.embedding for name, r in results.items() if name != "tolerance"]
    assert all(e is not None and e.ndim == 1 and e.size >= 16 and np.isfinite(e).all() for e in embeddings)
    assert len({e.size for e in embeddings}) == 1
    assert not np.allclose(embeddings[0], embeddings[1])  # a different picture, different features


def test_logits_match_on_the_pytorch_route() -> None:
    """WD's safetensors network returns logits: the sigmoid is ours, and the logits are the reference's."""
    folder = "wd-format/wd-tiny-vit-tagger-v3"
    tagger = recognise(FIXTURES / folder)
    network = tagger.family.build_network(tagger).net
    image = open_image(images_dir(folder) / "coffee.png", flatten=False)
    batch = torch.from_numpy(tagger.family.reference_input(tagger, SAFETENSORS, image))[None]
    with torch.inference_mode():
        logits = network(batch)[0].numpy()
    assert np.abs(logits - np.asarray(expected_images(folder)["coffee.png"]["logits"])).max() <= 1e-4


@pytest.mark.parametrize(
    ("folder", "route", "npy", "image", "tolerance"),
    [
        ("wd-format/wd-tiny-vit-tagger-v3", ONNX, "input-coffee.npy", "coffee.png", 1e-5),
        ("wd-format/wd-tiny-vit-tagger-v3", ONNX, "input-logo-alpha.npy", "logo-alpha.png", 1e-5),
        ("jtp-format/JTP_PILOT2_TINY", SAFETENSORS, "input-coffee.npy", "coffee.png", 1e-6),
        ("jtp-format/JTP_PILOT2_TINY", SAFETENSORS, "input-logo-alpha.npy", "logo-alpha.png", 1e-6),
        ("camie-format/v1-initial-onnx", ONNX, "input-astronaut.npy", "astronaut.png", 1e-6),
        ("camie-format/v2-onnx", ONNX, "input-logo.npy", "logo.png", 1e-6),
    ],
)
def test_preprocessing_matches_the_reference_tensor(
    folder: str, route: str, npy: str, image: str, tolerance: float
) -> None:
    tagger = recognise(FIXTURES / folder)
    ours = tagger.family.reference_input(tagger, route, open_image(images_dir(folder) / image, flatten=False))
    reference = np.load(FIXTURES / folder / npy)
    reference = reference[0] if reference.ndim == 4 else reference
    assert ours.shape == reference.shape
    assert float(np.abs(ours - reference).max()) <= tolerance


# --- each model's own rules -------------------------------------------------------------------------


@pytest.mark.parametrize("folder", ["wd-format/wd-tiny-vit-tagger-v3", "wd-format/wd-tiny-swinv2-tagger-v3"])
def test_wd_thresholds_ratings_and_mcut(folder: str) -> None:
    tagger = recognise(FIXTURES / folder)
    vocabulary, policy = tagger.vocabulary, tagger.policy
    names = vocabulary.names
    for case in expected_images(folder).values():
        scores = np.asarray(case["scores"], dtype=np.float32)
        kept = [names[i] for i in select(scores, vocabulary, policy, Selection())]
        best_rating = "rating:" + max(case["rating"], key=case["rating"].get)
        general = [t["tag"] for t in case["general"]]
        characters = [t["tag"] for t in case["character"]]
        assert [t for t in kept if t in general] == general
        assert [t for t in kept if t in characters] == characters
        assert sorted(kept) == sorted([*general, *characters, best_rating])
        cut = case["mcut"]
        general_scores = scores[[c == "general" for c in vocabulary.categories]]
        assert mcut_threshold(general_scores) == pytest.approx(cut["general_threshold"], abs=1e-6)
        with_mcut = [names[i] for i in select(scores, vocabulary, policy, Selection(mcut=True))]
        assert [t for t in with_mcut if vocabulary.categories[names.index(t)] == "general"] == [
            t["tag"] for t in cut["general"]
        ]
        assert [t for t in with_mcut if vocabulary.categories[names.index(t)] == "character"] == [
            t["tag"] for t in cut["character"]
        ]


@pytest.mark.parametrize("folder", ["jtp-format/JTP_PILOT_TINY", "jtp-format/JTP_PILOT2_TINY"])
def test_jtp_default_threshold_and_names(folder: str) -> None:
    tagger = recognise(FIXTURES / folder)
    assert all(" " not in name for name in tagger.vocabulary.names)
    for case in expected_images(folder).values():
        kept = select(np.asarray(case["scores"], np.float32), tagger.vocabulary, tagger.policy, Selection())
        assert [tagger.vocabulary.names[i] for i in kept] == [t["tag"].replace(" ", "_") for t in case["tags"]]


@pytest.mark.parametrize("folder", ["camie-format/v1-initial-onnx", "camie-format/v2-onnx"])
def test_camie_profiles(folder: str) -> None:
    tagger = recognise(FIXTURES / folder)
    vocabulary = tagger.vocabulary
    assert sorted(tagger.policy.profiles) == sorted(expected(folder)["profiles"])
    for case in expected_images(folder).values():
        scores = reference_scores(folder, case, vocabulary.names)
        for profile, by_category in case["passing"].items():
            kept = select(scores, vocabulary, tagger.policy, Selection(profile=profile))
            for category, tags in by_category.items():
                assert [vocabulary.names[i] for i in kept if vocabulary.categories[i] == category] == tags, profile


def test_camie_without_a_threshold_table_falls_back(tmp_path: Path) -> None:
    folder = shutil.copytree(FIXTURES / "camie-format/v2-onnx", tmp_path / "camie")
    (folder / "thresholds.json").unlink()
    tagger = recognise(folder)
    assert tagger.policy.profiles == {} and tagger.policy.default == 0.5


# --- the published full-size files ------------------------------------------------------------------


@pytest.mark.parametrize("listing", sorted((FIXTURES / "wd-format/released").glob("*.json")), ids=lambda p: p.stem)
def test_wd_published_config_builds_the_published_tensors(listing: Path) -> None:
    from joytag_desktop.taggers.wd import build_timm

    released = json.loads(listing.read_text())
    with torch.device("meta"):
        network = build_timm(released["config_json_fields_used"])
    ours = {name: list(t.shape) for name, t in network.state_dict().items()}
    assert ours == {name: t["shape"] for name, t in released["tensors"].items()}


@pytest.mark.parametrize("listing", sorted((FIXTURES / "jtp-format/released").glob("*.json")), ids=lambda p: p.stem)
def test_jtp_published_tensors_give_the_architecture(listing: Path, tmp_path: Path) -> None:
    """The dimensions read from the published tensors build exactly the published tensors."""
    from joytag_desktop.taggers.jtp import dimensions, jtp_network

    released = json.loads(listing.read_text())
    shapes = {name: tuple(t["shape"]) for name, t in released["tensors"].items()}
    dims = dimensions(shapes, listing)
    assert (dims["width"], dims["depth"], dims["outputs"]) == (1152, 27, 9083)
    assert dims["gated"] == ("PILOT2" in listing.name)
    with torch.device("meta"):
        network = jtp_network(dims, int(dims["outputs"]))
    assert {name: tuple(t.shape) for name, t in network.state_dict().items()} == shapes


# --- folders that are wrong ------------------------------------------------------------------------


def test_an_empty_folder_names_every_family(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="holds no tagger") as caught:
        recognise(tmp_path)
    for name in list_taggers():
        assert tagger_family(name).needs in str(caught.value)


@pytest.mark.parametrize(
    ("folder", "remove", "message"),
    [
        ("wd-format/wd-tiny-vit-tagger-v3", ["model.onnx", "model.safetensors"],
         "missing model.onnx, model.safetensors"),
        ("wd-format/wd-tiny-vit-tagger-v3", ["selected_tags.csv"], "missing selected_tags.csv"),
        ("camie-format/v2-onnx", ["camie-tagger-v2.onnx"], "missing camie-tagger-v2.onnx"),
        ("jtp-format/JTP_PILOT_TINY", ["JTP_PILOT_TINY-e0-vit_so400m_patch14_siglip_384.safetensors"],
         "missing a .safetensors file"),
    ],
)  # fmt: skip
def test_missing_files_are_named(tmp_path: Path, folder: str, remove: list[str], message: str) -> None:
    copy = shutil.copytree(FIXTURES / folder, tmp_path / "model")
    for name in remove:
        (copy / name).unlink()
    with pytest.raises(ModelFolderError, match=message):
        recognise(copy)


def test_inconsistent_files_are_explained(tmp_path: Path) -> None:
    wd = shutil.copytree(FIXTURES / "wd-format/wd-tiny-vit-tagger-v3", tmp_path / "wd")
    lines = (wd / "selected_tags.csv").read_text().splitlines()
    (wd / "selected_tags.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(ModelFolderError, match=r"num_classes is 65 but selected_tags\.csv lists 64"):
        recognise(wd)
    jtp = shutil.copytree(FIXTURES / "jtp-format/JTP_PILOT2_TINY", tmp_path / "jtp")
    tags = json.loads((jtp / "tags.json").read_text())
    tags.popitem()
    (jtp / "tags.json").write_text(json.dumps(tags))
    with pytest.raises(ModelFolderError, match=r"has 85 outputs but tags\.json lists 84 tags"):
        recognise(jtp)
    shutil.copy(next(jtp.glob("*.safetensors")), jtp / "second.safetensors")
    with pytest.raises(ModelFolderError, match=r"holds 2 \.safetensors files"):
        recognise(jtp)


def test_wrong_weights_say_which_tensors(tmp_path: Path) -> None:
    wd = shutil.copytree(FIXTURES / "wd-format/wd-tiny-vit-tagger-v3", tmp_path / "wd")
    config = json.loads((wd / "config.json").read_text())
    config["model_args"]["depth"] = 3
    (wd / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match=r"missing tensors blocks\.2\."):
        TaggingEngine(wd, device="cpu", precision="float32", runtime="torch")


# --- the catalogue ---------------------------------------------------------------------------------

FIXTURE_FOR = {"joytag": "joytag-format/tiny-learned-pos", "wd": "wd-format/wd-tiny-vit-tagger-v3",
               "jtp": "jtp-format/JTP_PILOT2_TINY", "jtp3": "jtp3-format/jtp-3-hydra-tiny-b",
               "camie-v1": "camie-format/v1-initial-onnx",
               "camie-v2": "camie-format/v2-onnx", "pixai": "pixai-format/pixai-tiny-a"}  # fmt: skip


def _fixture_for(name: str) -> Path:
    if name.startswith("siglip2"):  # Google's originals (-hf) in transformers' layout, Immich's exports
        return FIXTURES / (
            "siglip2-format/siglip2-tiny-a" if name.endswith("-hf") else "siglip2-format/ViT-Tiny-SigLIP2"
        )
    key = name if name.startswith("camie") else name.split("-")[0]
    return FIXTURES / FIXTURE_FOR[key]


@pytest.mark.parametrize("item", CATALOGUE, ids=lambda item: item.name)
def test_catalogue_files_make_a_folder_that_loads(item, tmp_path: Path) -> None:
    """Laid out as the entry downloads them (fixture files renamed to the published names), the
    folder is recognised as the right format: what `models download` validates before installing."""
    source = _fixture_for(item.name)
    by_suffix = {p.suffix: p for p in source.rglob("*") if p.is_file() and p.name != "expected.json"}
    folder = tmp_path / item.name
    for relative in item.files:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        same_path = source / relative if (source / relative).is_file() else None
        match = same_path or next(source.rglob(Path(relative).name), None) or by_suffix[Path(relative).suffix]
        shutil.copy(match, target)
    tagger = recognise(folder)
    assert tagger.family.name == (item.name.split("-")[0] if not item.name.startswith("camie") else "camie")


def test_download_is_staged_validated_and_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Hub on this machine serves JTP's repository layout (a sub-folder per model); the model
    lands in models/jtp-pilot2 without the sub-folder and `--model jtp-pilot2` finds it."""
    import hashlib

    from joytag_desktop.taggers import pins
    from joytag_desktop.taggers.hub import download_model
    from joytag_desktop.taggers.installed import resolve_model_path
    from tests.helpers.fake_hub import FakeHub, running

    monkeypatch.delenv("HF_HUB_OFFLINE")
    source = FIXTURES / "jtp-format/JTP_PILOT2_TINY"
    repo, weights = "RedRocket/JointTaggerProject", "JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors"
    hub = FakeHub()
    content = next(source.glob("*.safetensors")).read_bytes()
    hub.files[(repo, f"JTP_PILOT2/{weights}")] = content
    hub.files[(repo, "JTP_PILOT2/tags.json")] = (source / "tags.json").read_bytes()
    hub.lfs.add(f"JTP_PILOT2/{weights}")
    monkeypatch.setitem(pins.PINS, (repo, f"JTP_PILOT2/{weights}"), pins.Pin(len(content)))  # the tiny one's size
    with running(hub):
        folder = download_model("jtp-pilot2", endpoint=hub.endpoint)
    assert all("/resolve/main/JTP_PILOT2/" in seen.path for seen in hub.hub_seen)
    assert hashlib.sha256((folder / weights).read_bytes()).digest() == hashlib.sha256(content).digest()
    assert sorted(p.name for p in folder.iterdir()) == [
        "JTP_PILOT2-e3-vit_so400m_patch14_siglip_384.safetensors",
        "tags.json",
    ]
    assert not any(p.name.startswith(".") for p in folder.parent.iterdir())
    assert resolve_model_path("jtp-pilot2") == folder
    assert recognise(folder).variant.startswith("PILOT2")


def test_a_catalogue_name_not_downloaded_says_how() -> None:
    from joytag_desktop.errors import ModelNotFoundError
    from joytag_desktop.taggers.installed import resolve_model_path

    with pytest.raises(ModelNotFoundError, match="models download camie-v2"):
        resolve_model_path("camie-v2")


# --- runtimes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("folder", "runtime", "precision", "bound"),
    [
        ("wd-format/wd-tiny-vit-tagger-v3", "openvino", "bfloat16", 0.05),
        ("wd-format/wd-tiny-vit-tagger-v3", "onnxruntime", "int8", 0.05),
        # static int8 on tiny random networks (full-size drift: benchmarks/bench_runtimes.py)
        ("wd-format/wd-tiny-vit-tagger-v3", "openvino", "int8", 0.1),
        ("joytag-format/tiny-learned-pos", "openvino", "int8", 0.1),
        ("camie-format/v2-onnx", "openvino", "int8", 0.1),
        ("wd-format/wd-tiny-vit-tagger-v3", "openvino", "float32", 1e-4),
        ("jtp-format/JTP_PILOT2_TINY", "onnxruntime", "float32", 1e-5),
        ("camie-format/v2-onnx", "openvino", "float32", 1e-4),
        ("joytag-format/tiny-learned-pos", "openvino", "bfloat16", 0.05),
        ("pixai-format/pixai-tiny-a", "openvino", "bfloat16", 0.05),
        ("pixai-format/pixai-tiny-a", "onnxruntime", "int8", 0.05),
        ("pixai-format/pixai-tiny-a", "openvino", "int8", 0.1),
    ],
)
@pytest.mark.slow
def test_other_runtimes_stay_close_to_float32(folder: str, runtime: str, precision: str, bound: float) -> None:
    """Converted graphs (ONNX export, int8, OpenVINO IR) give the float32 scores within their precision,
    with an embedding; the conversion is cached and reused."""
    images = sorted(p for p in (FIXTURES / folder.split("/")[0] / "images").iterdir())[:4]
    reference = TaggingEngine(FIXTURES / folder, device="cpu", precision="float32", preprocessing="reference")
    other = TaggingEngine(FIXTURES / folder, device="cpu", precision=precision, runtime=runtime,
                          preprocessing="reference")  # fmt: skip
    # Without native bf16 OpenVINO computes in float32, and says so.
    expected = "float32" if precision == "bfloat16" and not cpu_has_fast_bf16() else precision
    assert (other.runtime, other.runner.precision) == (runtime, expected)
    want = {r.path: r for r in reference.tag_paths(images)}
    for result in other.tag_paths(images):
        assert result.ok, result.error
        assert float(np.abs(result.scores - want[result.path].scores).max()) <= bound
        assert result.embedding.shape == want[result.path].embedding.shape
    again = TaggingEngine(FIXTURES / folder, device="cpu", precision=precision, runtime=runtime)
    assert again.runtime == runtime


@pytest.mark.parametrize(("vnni", "expected"), [(True, "openvino"), (False, "onnxruntime")])
def test_int8_runs_where_it_is_fast(vnni: bool, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """--precision int8 picks OpenVINO's static int8 where VNNI computes it, else ONNX Runtime's
    dynamic int8 (on an AVX2-only CPU OpenVINO's int8 ran at 0.85x its float32, ONNX Runtime's at 1.54x)."""
    import torch

    from joytag_desktop.inference import runners

    monkeypatch.setattr(runners, "cpu_has_vnni", lambda: vnni)
    assert runners.choose_runtime("auto", "safetensors", torch.device("cpu"), "int8") == expected
    assert runners.choose_runtime("openvino", "safetensors", torch.device("cpu"), "int8") == "openvino"


# --- the command line ------------------------------------------------------------------------------


@pytest.mark.parametrize(("folder", "route", "tolerance"), CASES, ids=CASE_IDS)
@pytest.mark.slow
def test_cli_jsonl_lists_every_tag_with_the_reference_score(folder: str, route: str, tolerance: float) -> None:
    images = images_dir(folder)
    cases = expected_images(folder)
    command = [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(FIXTURES / folder), "--route", route,
               "--threshold", "0", "--format", "jsonl", "--precision", "float32", "--preprocess", "reference",
               *[str(images / name) for name in cases]]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    tagger = recognise(FIXTURES / folder)
    for line in result.stdout.splitlines():
        record = json.loads(line)
        case = cases[Path(record["path"]).name]
        want = reference_scores(folder, case, tagger.vocabulary.names)
        assert list(record["tags"]) != [] and set(record["tags"]) == set(tagger.vocabulary.names)
        got = np.asarray([record["tags"][name] for name in tagger.vocabulary.names], np.float32)
        assert float(np.abs(got - want).max()) <= tolerance
        assert set(record["categories"].values()) <= {"general", "character", "copyright", "artist", "meta",
                                                      "rating", "year"}  # fmt: skip


@pytest.mark.slow
def test_cli_text_shows_categories_and_the_model_defaults(tmp_path: Path) -> None:
    folder = FIXTURES / "wd-format/wd-tiny-vit-tagger-v3"
    image = FIXTURES / "wd-format/images/coffee.png"
    command = [sys.executable, "-m", "joytag_desktop", "tag", "--model", str(folder), "--precision", "float32",
               "--preprocess", "reference", str(image)]  # fmt: skip
    text = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True).stdout
    case = expected_images("wd-format/wd-tiny-vit-tagger-v3")["coffee.png"]
    labels = [item.rsplit(" (", 1)[0] for item in text.split(": ", 1)[1].strip().split(", ")]
    assert sorted(labels) == sorted(
        [t["tag"] for t in case["general"]]
        + [f"character:{t['tag']}" for t in case["character"]]
        + ["rating:" + max(case["rating"], key=case["rating"].get)]
    )
    csv_out = subprocess.run([*command, "--format", "csv", "--profile", "x"], capture_output=True, text=True)
    assert csv_out.returncode == 2 and "no threshold profiles" in csv_out.stderr
