"""The fast preprocessing path: the reference's steps on tensors, on whatever device the model uses.

JPEGs are decoded straight to the model's device (nvJPEG through torchvision on CUDA, libjpeg on
the CPU) with their EXIF orientation applied; other formats are decoded by Pillow (reduced-size
JPEG decoding is used there too). Padding to a white square, the bicubic resize and the
normalisation then run as tensor operations. The result stays within about 0.01 (mean absolute,
normalised units) of the reference path; the reference path remains what parity is measured on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from joytag_desktop.media.imaging import MAX_PIXELS, lopsided, open_image, read_image_bytes, shrunk_size
from joytag_desktop.taggers.contract import FastCfg
from joytag_desktop.taggers.joytag.layout import MEAN, STD

_JPEG_MAGIC = b"\xff\xd8\xff"
# torchvision 0.29 deprecates its image codecs in favour of TorchCodec; they still work (see the README).
warnings.filterwarnings("ignore", message=".*TorchVision are deprecated.*", category=DeprecationWarning)


@dataclass
class EncodedJpeg:
    """A JPEG's bytes, to be decoded on the model's device in a batch."""

    data: torch.Tensor  # uint8, 1-D


def read_for_fast_path(path: Path, image_size: int, device_decode: bool) -> EncodedJpeg | torch.Tensor:
    """With ``device_decode``, a plain JPEG's bytes (decoded later, in a batch, on the GPU);
    otherwise a (3, H, W) uint8 tensor decoded by Pillow, JPEGs at reduced size (draft mode).

    Raises ImageLoadError for unreadable files, as the reference path does.
    """
    if device_decode:
        data = read_image_bytes(path)
        if data.startswith(_JPEG_MAGIC) and _plain_jpeg_size_ok(data):
            return EncodedJpeg(torch.frombuffer(bytearray(data), dtype=torch.uint8))
    # Reduced-size JPEG decoding, keeping twice the model's resolution so the final bicubic
    # resize (not the decoder's DCT scaling) does most of the filtering.
    image = open_image(path, draft_size=image_size * 2)
    if max(image.size) > 2 * image_size and lopsided(*image.size):
        # Shrinking in 8 bits before padding keeps memory at the model's scale, whatever the shape
        # (a padded 800x20,000 strip as floats would need 4.8 GB), and the float work small.
        image = image.resize(shrunk_size(*image.size, 2 * image_size), Image.Resampling.BICUBIC, reducing_gap=3.0)
    return torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1)


def _plain_jpeg_size_ok(data: bytes) -> bool:
    """Reject decompression bombs before a device decoder allocates for them."""
    from io import BytesIO

    try:
        with Image.open(BytesIO(data)) as image:
            width, height = image.size
            return image.mode in ("RGB", "L") and width * height <= MAX_PIXELS
    except Exception:  # noqa: BLE001 - let the Pillow path produce the precise error
        return False


def decode_jpegs(items: list[EncodedJpeg], device: torch.device) -> list[torch.Tensor | str]:
    """Decode a batch of JPEGs on ``device`` to RGB (3, H, W) uint8; a failed one becomes its error text."""
    from torchvision.io import ImageReadMode, decode_jpeg

    if not items:
        return []
    try:
        decoded = decode_jpeg(
            [item.data for item in items], mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True
        )
        return list(decoded)
    except RuntimeError:
        out: list[torch.Tensor | str] = []
        for item in items:  # find the broken one(s) and decode the rest
            try:
                # One encoded image in, one tensor out (the list form is for lists).
                image = decode_jpeg(item.data, mode=ImageReadMode.RGB, device=device, apply_exif_orientation=True)
                out.append(cast(torch.Tensor, image))
            except RuntimeError as exc:
                out.append(f"cannot decode image: {exc}")
        return out


def pad_resize_normalise(image: torch.Tensor, image_size: int, cfg: FastCfg | None = None) -> torch.Tensor:
    """(3, H, W) uint8 on any device -> (3, S, S) float32, normalised: pad white, bicubic, normalise
    (with ``cfg``'s mean and std, channels reversed for BGR models; JoyTag's by default)."""
    _, height, width = image.shape
    if max(height, width) > 2 * image_size and lopsided(width, height):
        # Decoded on the device at full size: shrink before padding (side² memory otherwise).
        new_width, new_height = shrunk_size(width, height, 2 * image_size)
        image = (
            F.interpolate(image.unsqueeze(0).float(), size=(new_height, new_width), mode="bicubic", antialias=True)
            .clamp_(0, 255)
            .round_()[0]
        )
        height, width = new_height, new_width
    side = max(height, width)
    canvas = torch.full((3, side, side), 255, dtype=image.dtype, device=image.device)
    top, left = (side - height) // 2, (side - width) // 2
    canvas[:, top : top + height, left : left + width] = image
    pixels = canvas.unsqueeze(0).float()
    if side != image_size:
        pixels = F.interpolate(
            pixels, size=(image_size, image_size), mode="bicubic", antialias=True, align_corners=False
        ).clamp_(0, 255)
        pixels = pixels.round_()  # Pillow resizes in 8 bits; rounding keeps us close to it
    cfg = cfg or FastCfg(MEAN, STD)
    if cfg.bgr:
        pixels = pixels.flip(1)
    mean = torch.tensor(cfg.mean, device=image.device).view(1, 3, 1, 1)
    std = torch.tensor(cfg.std, device=image.device).view(1, 3, 1, 1)
    return ((pixels / 255.0 - mean) / std)[0]
