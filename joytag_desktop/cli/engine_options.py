"""The options that choose a tagger and how it runs (--model, --device, --precision…), and the
engine they make: shared by ``tag``, ``autotag`` and ``watch``.

Parsing only at import: torch and the taggers load inside ``load_engine``.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from joytag_desktop.cli import arguments

if TYPE_CHECKING:
    from joytag_desktop.inference.engine import TaggingEngine
    from joytag_desktop.taggers.contract import TaggerFolder

log = logging.getLogger(__name__)


def add_engine_arguments(parser: argparse.ArgumentParser, several: bool = False) -> None:
    if several:
        parser.add_argument(
            "--model",
            metavar="DIR|NAME",
            action="append",
            help="a tagger to tag new and changed files with (repeatable: each model stores its own scores); "
            "a folder or a downloaded model's name; default: the library's automatic models, else JoyTag",
        )
    else:
        parser.add_argument(
            "--model",
            metavar="DIR|NAME",
            help="a model folder (JoyTag, WD v3, JTP-1, JTP-3 or camie-tagger, as published) or a downloaded model's "
            "name (see `models list`); default: the downloaded JoyTag",
        )
    parser.add_argument(
        "--device", default="auto", metavar="DEVICE", help="auto (CUDA when available, the default), cpu or cuda"
    )
    parser.add_argument(
        "--batch-size", type=arguments.positive_int, metavar="N", help="images per batch (default: per device)"
    )
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16", "float16", "int8"),
        default="auto",
        help="auto: bf16 on GPUs and on CPUs with native bf16, else float32; int8: quantised weights on the CPU "
        "(faster, less exact)",
    )
    parser.add_argument(
        "--runtime",
        choices=("auto", "torch", "onnxruntime", "openvino"),
        default="auto",
        help="auto: PyTorch on GPUs, OpenVINO on CPUs with native bf16, ONNX Runtime for ONNX files otherwise",
    )
    parser.add_argument(
        "--route",
        choices=("auto", "safetensors", "onnx"),
        default="auto",
        help="which published file to run when a folder has both (WD): auto prefers the PyTorch weights",
    )
    parser.add_argument(
        "--seqlen",
        type=arguments.positive_int,
        metavar="N",
        help="JTP-3: most 16-pixel patches an image is cut into, at its own aspect ratio (64…2048, default "
        "1024; fewer is faster and coarser)" + ("; kept for the model in the library" if several else ""),
    )
    parser.add_argument(
        "--preprocess",
        choices=("fast", "reference"),
        default="fast",
        help="fast: reduced-size JPEG decoding (GPU decoding on CUDA); reference: exactly the published steps",
    )


def load_engine(args: argparse.Namespace, tagger: TaggerFolder | None = None) -> TaggingEngine:
    """The engine for --model (or ``tagger``) with --device/--batch-size…; errors surface as JoyTagError."""
    from joytag_desktop.inference.engine import TaggingEngine
    from joytag_desktop.taggers import open_tagger

    options = given_options(args)
    if tagger is None:
        tagger = open_tagger(args.model)
        tagger.family.apply_options(tagger, options)  # a model that takes none says so
    else:
        apply_taken(tagger, options)  # one of several (autotag): chosen_taggers checked them
    engine = TaggingEngine(
        tagger,
        device=args.device,
        batch_size=args.batch_size,
        precision=args.precision,
        preprocessing=args.preprocess,
        runtime=args.runtime,
        route=None if args.route == "auto" else args.route,
    )
    log.info("%s at %s on %s", tagger.describe(), tagger.path, engine.describe())
    return engine


def given_options(args: argparse.Namespace) -> dict[str, int]:
    """The tagger options given on the command line (``--seqlen``)."""
    seqlen = getattr(args, "seqlen", None)
    return {} if seqlen is None else {"seqlen": seqlen}


def apply_taken(tagger: TaggerFolder, options: dict[str, int]) -> dict[str, int]:
    """Set the options ``tagger``'s family takes (several models: each takes its own); returns them."""
    taken = {name: value for name, value in options.items() if name in tagger.family.option_names}
    if taken:
        tagger.family.apply_options(tagger, taken)
    return taken
