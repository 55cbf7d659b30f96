"""RedRocket's JTP-3 "Hydra": the Hub repository's layout, ``models/<name>.safetensors`` (weights +
metadata ``modelspec.architecture``, ``classifier.labels``) with ``data/<name>-tags.csv``
(``tag,category,implications``) and, where ``calibrate.py`` wrote one, ``calibration.csv``
(``tag,threshold``). See tests/fixtures/jtp3-format/README.md.

Scores are the published probabilities; the model's own rule is the calibration file's per-tag
thresholds where there is one, else ``p ≥ 0.75`` (the published CLI's symmetric 0.5), after
"inherit" implications (an implied tag scores at least what its implying tag does). A given
``--threshold`` compares each tag's own probability, as for every other family.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from joytag_desktop.categories import ARTIST, CHARACTER, COPYRIGHT, GENERAL, LORE, META, SPECIES
from joytag_desktop.errors import JoyTagError, ModelFolderError
from joytag_desktop.taggers.contract import SAFETENSORS, TaggerFamily, TaggerFolder
from joytag_desktop.taggers.naflex import DEFAULT_SEQLEN, MAX_SEQLEN, MIN_SEQLEN, PATCH, PATCH_VALUES, naflex_input
from joytag_desktop.taggers.reading import MAX_LABELS_BYTES, check_regular, load_state, load_strict, read_text
from joytag_desktop.taggers.registry import register_tagger
from joytag_desktop.taggers.vocabulary import Policy, Vocabulary

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from joytag_desktop.taggers.jtp3_network import Jtp3Dims

MODELS, DATA, CALIBRATION = "models", "data", "calibration.csv"
ARCHITECTURE = "naflexvit_so400m_patch16_siglip"
HEAD = "+rr_hydra"
# The published inference.py's default, then the newer code's (Hydra 3.5: another head, not run here).
DEFAULT_FILES = ("jtp-3-hydra.safetensors", "JTP-Hydra-3.5.safetensors")
HEAD_CHANNELS = 72  # so400m: 16 heads of 72; the number of heads is in no tensor shape
DEFAULT_THRESHOLD = 0.75  # the published CLI's default, symmetric 0.5: (0.5 + 1) / 2
# e621's category numbers, as inference.py names them
E621_CATEGORIES = {0: GENERAL, 1: ARTIST, 3: COPYRIGHT, 4: CHARACTER, 5: SPECIES, 7: META, 8: LORE}
SEQLEN = "seqlen"
MAX_HEADER_BYTES = 100_000_000


def read_metadata(weights: Path) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """The safetensors header's metadata and tensor shapes (no weights read)."""
    from safetensors import SafetensorError, safe_open

    check_regular(weights)
    try:
        with safe_open(str(weights), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            shapes = {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFolderError(f"{weights.name} is corrupt or truncated: {exc}") from None
    return metadata, shapes


def is_jtp3(metadata: dict[str, str]) -> bool:
    """The published loader's check: the architecture's prefix, and ``+rr_hydra`` after it."""
    architecture = metadata.get("modelspec.architecture", "")
    return architecture.startswith(ARCHITECTURE) and architecture[len(ARCHITECTURE) :] == HEAD


def dimensions(shapes: dict[str, tuple[int, ...]], metadata: dict[str, str], weights: Path) -> Jtp3Dims:
    """Every size from the tensor shapes (as ``HydraPool.for_state`` does); the backbone's heads
    from the width (72 channels each), or a fixture's ``fixture.num_heads``."""
    from joytag_desktop.taggers.jtp3_network import Jtp3Dims

    try:
        width, patch_values = shapes["embeds.proj.weight"]
        _, grid_h, grid_w, _ = shapes["embeds.pos_embed"]
        depth = len({name.split(".")[1] for name in shapes if name.startswith("blocks.")})
        mlp = shapes["blocks.0.mlp.fc1.weight"][0]
        pool_heads, tags, head_dim = shapes["attn_pool.q"]
        attn = pool_heads * head_dim
        kv_rows = shapes["attn_pool.kv.weight"][0]
        pool_ff = shapes["attn_pool.ff_in.weight"][0] // 2 if "attn_pool.ff_in.weight" in shapes else 0
        mids = len({name.split(".")[2] for name in shapes if name.startswith("attn_pool.mid_blocks.")})
        mid_ff = shapes["attn_pool.mid_blocks.0.ff_in.weight"][0] // 2 if mids else 0
        outputs = shapes["attn_pool.out_proj.weight"][2] // 2
    except (KeyError, ValueError, IndexError):
        raise ModelFolderError(
            f"{weights.name} is not a JTP-3 checkpoint (embeds, blocks or attn_pool tensors missing)"
        ) from None
    if patch_values != PATCH_VALUES or kv_rows not in (attn, 2 * attn) or outputs < 1:
        raise ModelFolderError(f"{weights.name}: tensor shapes do not fit JTP-3's network (patch {patch_values})")
    heads_text = metadata.get("fixture.num_heads", "")
    heads = int(heads_text) if heads_text.isdigit() else width // HEAD_CHANNELS
    if heads < 1 or width % heads:
        raise ModelFolderError(f"{weights.name}: width {width} does not split into {heads} attention heads")
    return Jtp3Dims(width, depth, heads, mlp, (grid_h, grid_w), pool_heads, tags, head_dim, pool_ff, mids, mid_ff,
                    kv_rows == attn, outputs)  # fmt: skip


def read_tag_table(path: Path, labels: list[str]) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """Categories of the labels and, per label, the labels its implications name (unknown ones
    and labels the table lacks: general, nothing implied)."""
    reader = csv.DictReader(io.StringIO(read_text(path, MAX_LABELS_BYTES)))
    if not {"tag", "category", "implications"} <= set(reader.fieldnames or ()):
        raise ModelFolderError(f"{path.name} does not have the columns tag,category,implications")
    rows: dict[str, tuple[str, list[str]]] = {}
    for number, row in enumerate(reader, start=2):
        try:
            category = E621_CATEGORIES.get(int(row["category"] or 0), GENERAL)
        except ValueError:
            wrong = row["category"][:20]
            raise ModelFolderError(f"{path.name} line {number}: category {wrong!r} is not a number") from None
        rows[row["tag"] or ""] = (category, (row["implications"] or "").split())
    index = {tag: i for i, tag in enumerate(labels)}
    categories = tuple(rows.get(tag, (GENERAL, []))[0] for tag in labels)
    implied = tuple(tuple(index[t] for t in rows.get(tag, (GENERAL, []))[1] if t in index) for tag in labels)
    return categories, implied


def read_calibration(path: Path, labels: list[str]) -> tuple[float, ...]:
    """Per-label probability thresholds; a label absent or blank is never output (infinity)."""
    reader = csv.DictReader(io.StringIO(read_text(path, MAX_LABELS_BYTES)))
    if not {"tag", "threshold"} <= set(reader.fieldnames or ()):
        raise ModelFolderError(f"{path.name} does not have the columns tag,threshold")
    table: dict[str, float] = {}
    for number, row in enumerate(reader, start=2):
        text = (row["threshold"] or "").strip()
        if not text:
            continue
        try:
            table[row["tag"] or ""] = float(text)
        except ValueError:
            raise ModelFolderError(f"{path.name} line {number}: threshold {text[:20]!r} is not a number") from None
    return tuple(table.get(tag, float("inf")) for tag in labels)


def choose_weights(folder: Path) -> tuple[Path, dict[str, str], dict[str, tuple[int, ...]]]:
    """The JTP-3 model file of ``models/``: the only one, else the published default name; files of
    other architectures (Hydra 3.5's) are named in the refusal."""
    found = sorted((folder / MODELS).glob("*.safetensors"))
    runnable, others = [], []
    for weights in found:
        metadata, shapes = read_metadata(weights)
        if is_jtp3(metadata):
            runnable.append((weights, metadata, shapes))
        else:
            others.append(f"{weights.name} ({metadata.get('modelspec.architecture') or 'no modelspec.architecture'})")
    if len(runnable) > 1:
        by_name = {weights.name: item for item in runnable for weights in [item[0]]}
        for name in DEFAULT_FILES:
            if name in by_name:
                return by_name[name]
        names = ", ".join(item[0].name for item in runnable)
        raise ModelFolderError(
            f"JTP-3 folder {folder} holds several models ({names}); keep one in {MODELS}/, "
            f"or name the one to use {DEFAULT_FILES[0]}"
        )
    if runnable:
        return runnable[0]
    if others:
        raise ModelFolderError(
            f"JTP-3 folder {folder}: {', '.join(others)} is not JTP-3 Hydra ({ARCHITECTURE}{HEAD}); this app runs "
            f"RedRocket/JTP-3's {MODELS}/{DEFAULT_FILES[0]}"
        )
    raise ModelFolderError(f"JTP-3 folder {folder} is missing {MODELS}/*.safetensors")


@register_tagger(order=25)
class Jtp3Family(TaggerFamily):
    name = "jtp3"
    title = "JTP-3 Hydra"
    needs = f"{MODELS}/<name>.safetensors with {DATA}/<name>-tags.csv (calibration.csv optional)"
    markers = (f"{MODELS}/*.safetensors", f"{DATA}/*-tags.csv")
    option_names = (SEQLEN,)

    def inspect(self, folder: Path) -> TaggerFolder:
        weights, metadata, shapes = choose_weights(folder)
        tags_csv = folder / DATA / f"{weights.stem}-tags.csv"
        if not tags_csv.is_file():
            raise self.missing(folder, [f"{DATA}/{tags_csv.name}"])
        labels = metadata.get("classifier.labels", "").split("\n")
        if not labels or not all(labels):
            raise ModelFolderError(f"{weights.name} has no classifier.labels metadata (its tag names)")
        if len(set(labels)) != len(labels):
            raise ModelFolderError(f"{weights.name}: classifier.labels lists some tags more than once")
        dims = dimensions(shapes, metadata, weights)
        if dims.tags != len(labels):
            raise ModelFolderError(f"{weights.name} has {dims.tags} outputs but classifier.labels lists {len(labels)}")
        categories, implied = read_tag_table(tags_csv, labels)
        calibration = read_calibration(folder / CALIBRATION, labels) if (folder / CALIBRATION).is_file() else ()
        # per category, the published default (what a library uses without a calibration; with one, the
        # library keeps these per-tag thresholds and stores the scores after the implications)
        vocabulary = Vocabulary(tuple(labels), categories)
        every = {category: DEFAULT_THRESHOLD for category in vocabulary.present_categories() if category != GENERAL}
        policy = Policy(DEFAULT_THRESHOLD, every, tag_thresholds=calibration, implications=implied)
        variant = weights.stem + (", calibrated" if calibration else "")
        tagger = TaggerFolder(
            folder, self, variant, vocabulary, policy, PATCH * 32, {SAFETENSORS: weights},
            {"dims": dims},
        )  # fmt: skip
        self.apply_options(tagger, {SEQLEN: DEFAULT_SEQLEN})
        return tagger

    def apply_options(self, tagger: TaggerFolder, options: dict[str, int]) -> None:
        """``seqlen``: the patch budget (64…2048); ``image_size`` follows as the side of a square image
        at that budget (what reduced-size JPEG decoding keeps twice over)."""
        super().apply_options(tagger, options)
        if SEQLEN in options:
            seqlen = int(options[SEQLEN])
            if not MIN_SEQLEN <= seqlen <= MAX_SEQLEN:
                raise JoyTagError(f"--seqlen must be {MIN_SEQLEN}…{MAX_SEQLEN} patches, not {seqlen}")
            tagger.details[SEQLEN] = seqlen
            tagger.image_size = PATCH * int(seqlen**0.5)

    def build_network(self, tagger: TaggerFolder) -> torch.nn.Module:
        from joytag_desktop.taggers.jtp3_network import Jtp3Network

        network = Jtp3Network(tagger.details["dims"])
        weights = tagger.files[SAFETENSORS]
        load_strict(network, load_state(weights), weights)
        return network

    def reference_input(self, tagger: TaggerFolder, route: str, image: Image.Image) -> np.ndarray:
        return naflex_input(image, tagger.details[SEQLEN], tagger.details["dims"].grid)

    def sample_input(self, tagger: TaggerFolder) -> np.ndarray:
        dims = tagger.details["dims"]
        sample = np.zeros((tagger.details[SEQLEN], PATCH_VALUES + sum(dims.grid) + 1), np.float32)
        sample[:, -1] = 1.0
        return sample

    def graph_key(self, tagger: TaggerFolder) -> str:
        return f"-seq{tagger.details[SEQLEN]}"
