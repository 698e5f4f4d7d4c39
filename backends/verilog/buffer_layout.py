"""Activation-buffer layout: regions whose lifetimes do not overlap share words.

The planner gives every value a region in a virtual address space (one after
the other).  Stages run one at a time, so a region is live from the stage
that writes it to the last stage that reads it (network inputs from before the
first stage, network outputs until the end).  Regions are then placed first
fit: a region may take words of any region whose last reader ran strictly
before its writer (a stage never writes over its own operands).  Every
address the stages hold (SRC/DST parameters, address ROMs) and the output
addresses are remapped region by region, so a contiguous range stays
contiguous.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOREVER = 1 << 30


@dataclass
class Region:
    start: int  # virtual
    size: int
    written_by: int  # stage index, -1 for network inputs
    last_read: int = -1
    physical: int = -1


def region_index(starts: np.ndarray, addresses: np.ndarray) -> np.ndarray:
    return np.searchsorted(starts, addresses, side="right") - 1


def place(regions: list[Region], fixed: int) -> int:
    """Physical bases, first fit; the first ``fixed`` regions (the inputs, which
    the sequencer writes at 0..) keep their virtual place.  Returns the depth."""
    placed: list[Region] = []
    for index, region in enumerate(regions):
        if index < fixed:
            region.physical = region.start
        else:
            busy = sorted((r.physical, r.physical + r.size) for r in placed if r.last_read >= region.written_by)
            candidate = 0
            for lo, hi in busy:
                if candidate + region.size <= lo:
                    break
                candidate = max(candidate, hi)
            region.physical = candidate
        placed.append(region)
    return max((r.physical + r.size for r in regions), default=0)


def remap(regions: list[Region], addresses: np.ndarray, pad: int) -> np.ndarray:
    """Virtual -> physical addresses; ``pad`` entries stay as they are."""
    addresses = np.asarray(addresses, dtype=np.int64)
    starts = np.array([r.start for r in regions], dtype=np.int64)
    shift = np.array([r.physical - r.start for r in regions], dtype=np.int64)
    valid = addresses != pad
    out = addresses.copy()
    out[valid] = addresses[valid] + shift[region_index(starts, addresses[valid])]
    return out
