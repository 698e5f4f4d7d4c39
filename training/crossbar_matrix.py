"""A layer's crossbar matrix as ``lower-to-spin`` and ``tile-crossbars`` build it.

A Linear or Conv2d weight ``[out, in/groups, kh, kw]`` becomes one ``[K, N]``
matrix (rows = inputs, in im2col's (channel, kh, kw) order; columns = output
channels).  A grouped conv's matrix is block diagonal (``lower_conv``): group
``g`` owns rows ``g*K_g ..`` and columns ``g*N_g ..``.  ``tile-crossbars``
maps the blocks ``tiling.layer_tile_blocks`` gives, in their order (the rule
it calls): the grid for a dense layer (``groups = 1``), group-aligned tiles
for a grouped conv whose group fits an array.
"""

from __future__ import annotations

import numpy as np

from spintron_nn.tiling import layer_tile_blocks


def block_diagonal(w_int: np.ndarray, groups: int) -> np.ndarray:
    """``[groups * K_g, out]`` matrix of the weights ``[out, ...]`` (``K_g`` = prod of ``...``)."""
    out = w_int.shape[0]
    per_group, k_group = out // groups, int(np.prod(w_int.shape[1:]))
    matrix = np.zeros((groups * k_group, out), dtype=w_int.dtype)
    for g in range(groups):
        rows, cols = slice(g * k_group, (g + 1) * k_group), slice(g * per_group, (g + 1) * per_group)
        matrix[rows, cols] = w_int[cols].reshape(per_group, k_group).T
    return matrix


def diagonal_blocks(matrix: np.ndarray, groups: int, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`block_diagonal`: the weights ``shape`` back from the matrix."""
    out = shape[0]
    per_group, k_group = out // groups, int(np.prod(shape[1:]))
    blocks = [matrix[g * k_group:(g + 1) * k_group, g * per_group:(g + 1) * per_group].T for g in range(groups)]
    return np.concatenate(blocks).reshape(shape)


def mapped_blocks(shape: tuple[int, int], groups: int, config) -> list[tuple[slice, slice]]:
    """The blocks of a ``shape`` matrix that get a physical tile under ``config`` (a
    ``CompileConfig``: its crossbar size and grouped tiling), in tile_id order."""
    return layer_tile_blocks(shape, groups, config.rows, config.cols, config.grouped_tiling)
