"""Turning a decoded image into JoyTag's input, exactly as the reference does."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from joytag_desktop.media.imaging import lopsided, shrunk_size
from joytag_desktop.taggers.joytag.layout import MEAN, STD


def pad_to_square(image: Image.Image) -> Image.Image:
    """Centre ``image`` on a white square of side max(w, h)."""
    width, height = image.size
    side = max(width, height)
    if width == height:
        return image
    square = Image.new("RGB", (side, side), (255, 255, 255))
    square.paste(image, ((side - width) // 2, (side - height) // 2))
    return square


_EXACT_SIDE = 4096


def reference_pixels(image: Image.Image, image_size: int) -> Image.Image:
    """Pad to square and, if needed, resize with Pillow's bicubic filter.

    A lopsided image whose square would pass 4096² pixels (a 1x50,000 line, a webtoon strip) is
    first shrunk to four times the model's input on its longer side, so memory stays bounded by the
    model's input whatever the shape; below that the reference is followed to the letter."""
    if lopsided(*image.size) and max(image.size) > max(_EXACT_SIDE, 4 * image_size):
        image = image.resize(shrunk_size(*image.size, 4 * image_size), Image.Resampling.BICUBIC)
    square = pad_to_square(image)
    if square.size[0] != image_size:
        square = square.resize((image_size, image_size), Image.Resampling.BICUBIC)
    return square


_MEAN = torch.tensor(MEAN).view(3, 1, 1)
_STD = torch.tensor(STD).view(3, 1, 1)


def normalise(pixels: np.ndarray | torch.Tensor) -> torch.Tensor:
    """(H, W, 3) uint8 pixels to a normalised (3, H, W) float32 tensor."""
    tensor = torch.as_tensor(np.array(pixels, dtype=np.uint8, copy=True)).permute(2, 0, 1).float() / 255.0
    return (tensor - _MEAN) / _STD


def reference_tensor(image: Image.Image, image_size: int) -> torch.Tensor:
    """The reference preprocessing of an RGB image: (3, S, S) float32."""
    return normalise(np.asarray(reference_pixels(image, image_size)))
