"""Restoring an image of any size with a model of one fixed input size, by overlapping tiles.

This module needs only numpy: the export bundle's predict.py carries its source text, so that the
pipeline's int8 score and the bundle's own outputs come from the same tiling and blending.
Tiles overlap by ``overlap`` pixels and are blended with weights that fall linearly to the tile's
edges, so no seam shows; an image smaller than a tile is mirrored out to the tile's size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Run = Callable[[np.ndarray], np.ndarray]  # (1, 3, tile, tile) float32 pixels 0..255 -> restored, in [0, 1]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Tile origins along one axis: every ``tile - overlap`` pixels, the last one flush with the end."""
    if length <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) weights: 1 inside, falling linearly over the outer ``overlap`` pixels (never 0)."""
    ramp = np.ones(tile, dtype=np.float32)
    if overlap > 0:
        edge = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        ramp[:overlap] = np.minimum(ramp[:overlap], edge)
        ramp[tile - overlap:] = np.minimum(ramp[tile - overlap:], edge[::-1])
    return np.outer(ramp, ramp)


def cut_tiles(image: np.ndarray, tile: int, overlap: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``image`` (H x W x 3 uint8), mirrored out to at least ``tile`` on each side, as (n, tile, tile, 3)
    uint8 tiles and their (top, left) origins."""
    if not 0 <= overlap < tile:
        raise ValueError(f"overlap {overlap} must be at least 0 and below the tile size {tile}")
    height, width = image.shape[:2]
    padded = np.pad(image, ((0, max(tile - height, 0)), (0, max(tile - width, 0)), (0, 0)), mode="symmetric")
    origins = [(top, left) for top in tile_starts(padded.shape[0], tile, overlap)
               for left in tile_starts(padded.shape[1], tile, overlap)]
    return np.stack([padded[top:top + tile, left:left + tile] for top, left in origins]), origins


def assemble(outputs: np.ndarray, origins: list[tuple[int, int]], height: int, width: int, overlap: int) -> np.ndarray:
    """The restored tiles (n, 3, tile, tile) float in [0, 1], blended back into an H x W x 3 uint8 image."""
    tile = outputs.shape[-1]
    size = (max(height, tile), max(width, tile))
    total = np.zeros((3, *size), dtype=np.float32)
    weight = np.zeros(size, dtype=np.float32)
    window = blend_window(tile, overlap)
    for out, (top, left) in zip(outputs.astype(np.float32, copy=False), origins, strict=True):
        total[:, top:top + tile, left:left + tile] += out * window
        weight[top:top + tile, left:left + tile] += window
    restored = (total / weight)[:, :height, :width]
    return np.clip(np.rint(restored * 255.0), 0, 255).astype(np.uint8).transpose(1, 2, 0)


def restore_tiled(image: np.ndarray, run: Run, tile: int, overlap: int) -> np.ndarray:
    """``image`` (H x W x 3 uint8) restored tile by tile with ``run``, one tile per call; H x W x 3 uint8."""
    tiles, origins = cut_tiles(image, tile, overlap)
    planes = tiles.transpose(0, 3, 1, 2).astype(np.float32)
    outputs = np.concatenate([np.asarray(run(np.ascontiguousarray(planes[i:i + 1])), dtype=np.float32)
                              for i in range(len(planes))])
    return assemble(outputs, origins, image.shape[0], image.shape[1], overlap)
