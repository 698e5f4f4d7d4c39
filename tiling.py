"""Which blocks of a layer matrix become physical crossbar tiles: the one rule.

A crossbar layer is a ``[K, N]`` matrix (K inputs on rows, N outputs on
columns).  A grouped conv's matrix is block diagonal (``lower-to-spin``):
group ``g`` owns rows ``g*K_g ..`` and columns ``g*N_g ..``.
:func:`layer_tile_blocks` says which ``(row slice, column slice)`` blocks get
a tile, in ``tile_id`` order; ``tile-crossbars``, the ADC-shift choice, the
energy model and fake quantization all call it, so they cannot disagree.

* Dense (``groups`` = 1): the ``array_rows x array_cols`` grid, row-major,
  the last row/column block partial (:func:`tile_grid`).
* Grouped, one group fits an array (``K_g <= array_rows``, ``N_g <= array_cols``),
  ``grouped = "aligned"`` (the default): group-aligned tiles of consecutive
  whole groups, as many as fit
  (``min(array_rows // K_g, array_cols // N_g)``), in group order.  Every
  output column then comes from exactly one tile, and no ADC converts a
  column that belongs to other rows' groups (a depthwise 3x3 on 128x128:
  tiles of 126 rows x 14 columns, not 128 x 128 blocks that are 99 % zeros).
* Grouped, a group larger than an array, or ``grouped = "grid"``: the grid
  blocks that meet a diagonal block (:func:`diagonal_block_cells` > 0).

The choice is energy against area.  Aligned tiles read and convert only
their own groups' columns, but when few groups fit one array they leave
most of it empty: ``mobilenet_v2_style``'s depthwise layers need 115 instead
of 114 arrays for 64 % less network energy, while a grouped layer whose
``K_g`` is just over half an array (K_g = 65 on 128 rows, 64 groups) needs
64 arrays instead of 33 (+94 % area) for a tenth of the energy.  The grid
keeps the fewest arrays.

Imports only ``errors`` of the package, so energy, passes, backends and
training may all use it.
"""

from __future__ import annotations

from spintron_nn.errors import SpintronError

Block = tuple[slice, slice]
#: ``layer_tile_blocks``' choices for a grouped layer whose group fits an array
GROUPED_TILINGS = ("aligned", "grid")


def check_groups(rows: int, cols: int, groups: int) -> None:
    """``groups`` equal diagonal blocks must tile the ``rows x cols`` matrix exactly."""
    if groups < 1 or rows % groups or cols % groups:
        raise SpintronError(f"groups = {groups} must divide the {rows}x{cols} matrix into equal diagonal blocks")


def check_grouped_tiling(grouped: str) -> None:
    if grouped not in GROUPED_TILINGS:
        raise SpintronError(f"grouped tiling must be one of {', '.join(GROUPED_TILINGS)}, got {grouped!r}")


def tile_grid(rows: int, cols: int, rows_per_tile: int, cols_per_tile: int) -> list[Block]:
    """Row-major list of ``(row_slice, col_slice)`` of the tiles covering a ``[rows, cols]`` matrix."""
    return [(slice(r, min(r + rows_per_tile, rows)), slice(c, min(c + cols_per_tile, cols)))
            for r in range(0, rows, rows_per_tile) for c in range(0, cols, cols_per_tile)]


def diagonal_block_cells(rows: range | slice, cols: range | slice, shape: tuple[int, int], groups: int) -> int:
    """Positions of the block ``rows x cols`` of a ``shape`` matrix made of
    ``groups`` equal diagonal blocks that lie inside a diagonal block: the
    weights of the layer the block holds (its MACs per input vector)."""
    check_groups(*shape, groups)
    k_group, n_group = shape[0] // groups, shape[1] // groups

    def overlap(span, start: int, size: int) -> int:
        return max(0, min(span.stop, start + size) - max(span.start, start))

    return sum(overlap(rows, g * k_group, k_group) * overlap(cols, g * n_group, n_group) for g in range(groups))


def groups_per_tile(shape: tuple[int, int], groups: int, array_rows: int, array_cols: int,
                    grouped: str = "aligned") -> int:
    """Whole groups one group-aligned tile holds; 0 if the layer is tiled on the grid
    (dense, a group larger than an array, or ``grouped = "grid"``)."""
    check_groups(*shape, groups)
    check_grouped_tiling(grouped)
    k_group, n_group = shape[0] // groups, shape[1] // groups
    if groups == 1 or grouped == "grid" or k_group > array_rows or n_group > array_cols:
        return 0
    return min(array_rows // k_group, array_cols // n_group)


def layer_tile_blocks(shape: tuple[int, int], groups: int, array_rows: int, array_cols: int,
                      grouped: str = "aligned") -> list[Block]:
    """The blocks of a ``shape`` layer matrix that get a physical tile, in ``tile_id`` order
    (``grouped``: ``GROUPED_TILINGS``, for grouped layers)."""
    rows, cols = shape
    per_tile = groups_per_tile(shape, groups, array_rows, array_cols, grouped)
    if per_tile:
        k_group, n_group = rows // groups, cols // groups
        return [(slice(g * k_group, min(g + per_tile, groups) * k_group),
                 slice(g * n_group, min(g + per_tile, groups) * n_group))
                for g in range(0, groups, per_tile)]
    return [(r, c) for r, c in tile_grid(rows, cols, array_rows, array_cols)
            if groups == 1 or diagonal_block_cells(r, c, shape, groups) > 0]


def column_blocks(blocks: list[Block]) -> list[list[int]]:
    """Indices into ``blocks`` grouped by column block (tiles producing the same
    columns, whose partial sums ``spin.shift_add`` adds): column blocks in
    column order, each its tiles in row order."""
    by_columns: dict[tuple[int, int], list[int]] = {}
    for index, (_, cols) in enumerate(blocks):
        by_columns.setdefault((cols.start, cols.stop), []).append(index)
    return [sorted(members, key=lambda i: blocks[i][0].start) for _, members in sorted(by_columns.items())]
