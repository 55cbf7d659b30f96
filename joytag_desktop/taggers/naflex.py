"""NaFlex preprocessing (SigLIP2 NaFlex, as JTP-3's published ``image.py`` / ``model.py`` do it): the
image keeps its own aspect ratio and is cut into 16-pixel patches up to a patch budget (the
sequence length), with each patch's grid position and a validity mask.

The network takes one float32 array per image, ``(seqlen, 768 + grid_h + grid_w + 1)``: per token
the normalised patch (row, column, RGB), the bilinear (antialiased) weights of the learned position
grid's rows and columns for that token's place, and 1 for a real patch (0 for padding). The
weights are those ``F.interpolate(pos_embed, (gy, gx), bilinear, antialias)`` applies, so adding
``rows ⊗ columns · pos_embed`` is the reference's resize-then-add; carrying them in the input keeps
every shape static, so the same graph exports to ONNX and OpenVINO and batches images of any shape.
"""

from __future__ import annotations

import math
from functools import lru_cache
from io import BytesIO
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

PATCH = 16
PATCH_VALUES = PATCH * PATCH * 3
DEFAULT_SEQLEN, MIN_SEQLEN, MAX_SEQLEN = 1024, 64, 2048  # the published --seqlen and its range


def size_for_seq(height: int, width: int, max_seq: int, patch: int = PATCH) -> tuple[int, int]:
    """(height, width) in pixels for at most ``max_seq`` patches: the whole image when it fits (each
    side floored to patches), else the largest scale found by the reference's bisection; never
    upscaled except to reach one patch (``get_image_size_for_seq``)."""
    max_ratio, eps = 1.0, 1e-5
    max_py = int(max((height * max_ratio) // patch, 1))
    max_px = int(max((width * max_ratio) // patch, 1))
    if max_py * max_px <= max_seq:
        return max_py * patch, max_px * patch

    def patchify(ratio: float) -> tuple[int, int]:
        return (
            min(math.ceil(height * ratio / patch), max_py),
            min(math.ceil(width * ratio / patch), max_px),
        )

    py, px = patchify(eps)
    if py * px > max_seq:
        raise ValueError(f"a {width}x{height} image does not fit in {max_seq} patches")
    ratio = eps
    while (max_ratio - ratio) >= eps:
        mid = (ratio + max_ratio) / 2.0
        mpy, mpx = patchify(mid)
        if mpy * mpx > max_seq:
            max_ratio = mid
            continue
        ratio, py, px = mid, mpy, mpx
        if mpy * mpx == max_seq:
            break
    return py * patch, px * patch


def to_srgb(image: Image.Image) -> Image.Image:
    """``process_srgb``: an embedded ICC profile converted to sRGB (relative colorimetric with black
    point compensation where the profile allows it; any colour-management failure ignored), then
    premultiplied ``RGBa`` for images with transparency (transparent pixels become black), else RGB.
    The EXIF orientation is already applied by ``open_image``."""
    from PIL import ImageCms

    icc = image.info.get("icc_profile")
    if icc:
        try:
            profile = ImageCms.ImageCmsProfile(BytesIO(icc))
            working = image.mode
            if image.mode.startswith(("RGB", "BGR", "P")):
                working = "RGBA" if image.has_transparency_data else "RGB"
            elif image.mode.startswith(("L", "I", "F")) or image.mode == "1":
                working = "LA" if image.has_transparency_data else "L"
            if image.mode != working:
                image = image.convert(working)
            mode = "RGBA" if image.has_transparency_data else "RGB"
            intent = ImageCms.Intent.RELATIVE_COLORIMETRIC
            if ImageCms.isIntentSupported(profile, intent, ImageCms.Direction.INPUT) != 1:
                intent = ImageCms.Intent(ImageCms.getDefaultIntent(profile))
            flags = ImageCms.Flags.HIGHRESPRECALC
            if intent == ImageCms.Intent.RELATIVE_COLORIMETRIC:
                flags |= ImageCms.Flags.BLACKPOINTCOMPENSATION
            srgb = ImageCms.createProfile("sRGB")
            if image.mode == mode:
                image = image.copy()  # the caller's image stays as decoded
                ImageCms.profileToProfile(image, profile, srgb, renderingIntent=intent, inPlace=True, flags=flags)
            else:
                converted = ImageCms.profileToProfile(
                    image, profile, srgb, renderingIntent=intent, outputMode=mode, flags=flags
                )
                image = converted if converted is not None else image
        except Exception:  # noqa: BLE001 - the published code ignores colour-management failures
            pass
    if image.has_transparency_data:
        if image.mode != "RGBa":
            try:
                image = image.convert("RGBa")
            except ValueError:
                image = image.convert("RGBA").convert("RGBa")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    return image


def patchify(image: Image.Image, seqlen: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The published buffers: ``patches`` uint8 (seqlen, 768), ``coords`` int16 (seqlen, 2) = (y, x),
    ``valid`` bool (seqlen,); the unused tail is zeros / False."""
    from PIL import Image

    image = to_srgb(image)
    height, width = size_for_seq(image.height, image.width, seqlen)
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    pixels = np.asarray(image)[:, :, :3]  # RGBa: premultiplied, i.e. composited on black
    grid_h, grid_w = height // PATCH, width // PATCH
    count = grid_h * grid_w
    tiles = pixels.reshape(grid_h, PATCH, grid_w, PATCH, 3).transpose(0, 2, 1, 3, 4).reshape(count, PATCH_VALUES)
    patches = np.zeros((seqlen, PATCH_VALUES), np.uint8)
    coords = np.zeros((seqlen, 2), np.int16)
    valid = np.zeros((seqlen,), bool)
    patches[:count] = tiles
    ys, xs = np.meshgrid(np.arange(grid_h), np.arange(grid_w), indexing="ij")
    coords[:count, 0], coords[:count, 1] = ys.reshape(-1), xs.reshape(-1)
    valid[:count] = True
    return patches, coords, valid


@lru_cache(maxsize=512)
def interpolation_weights(source: int, target: int) -> np.ndarray:
    """(target, source) float32: row i holds the weights ``F.interpolate(bilinear, antialias=True,
    align_corners=False)`` gives the source cells for output cell i (the identity when equal)."""
    if source == target:
        return np.eye(source, dtype=np.float32)
    import torch
    import torch.nn.functional as F

    # Column c of the identity is one-hot at row c; resizing only the rows gives W[:, c]. (A width
    # of 1 would be simpler, but torch's antialiased kernel mishandles it.)
    basis = torch.eye(source, dtype=torch.float32)[None, None]
    out = F.interpolate(basis, size=(target, source), mode="bilinear", antialias=True, align_corners=False)
    return np.ascontiguousarray(out[0, 0].numpy())


def pack(patches: np.ndarray, coords: np.ndarray, valid: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """The network's input for one image (see the module docstring); ``grid``: the learned position
    grid's (rows, columns)."""
    seqlen = len(valid)
    grid_rows, grid_cols = grid
    count = int(valid.sum())
    out = np.zeros((seqlen, PATCH_VALUES + grid_rows + grid_cols + 1), np.float32)
    out[:, :PATCH_VALUES] = patches.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    if count:
        ys, xs = coords[:count, 0].astype(np.int64), coords[:count, 1].astype(np.int64)
        rows = interpolation_weights(grid_rows, int(ys.max()) + 1)
        cols = interpolation_weights(grid_cols, int(xs.max()) + 1)
        out[:count, PATCH_VALUES : PATCH_VALUES + grid_rows] = rows[ys]
        out[:count, PATCH_VALUES + grid_rows : -1] = cols[xs]
    out[:, -1] = valid
    return out


def naflex_input(image: Image.Image, seqlen: int, grid: tuple[int, int]) -> np.ndarray:
    """The published preprocessing of one decoded image (EXIF orientation applied), packed."""
    return pack(*patchify(image, seqlen), grid)
