"""Buffer layout and ROM images: hand-checked cases."""

from __future__ import annotations

import numpy as np

from spintron_nn.backends.verilog.buffer_layout import FOREVER, Region, place, remap
from spintron_nn.backends.verilog.vectors import hex_lines, power_of_two_padded


def test_regions_share_words_only_when_lifetimes_are_disjoint():
    regions = [
        Region(0, 4, written_by=-1, last_read=0),  # network input, read by stage 0
        Region(4, 3, written_by=0, last_read=1),  # stage 0 reads the input: cannot reuse it
        Region(7, 2, written_by=1, last_read=FOREVER),  # stage 1 runs after the input died
        Region(9, 3, written_by=2, last_read=2),  # stage 2: only region 2 is live
    ]
    depth = place(regions, fixed=1)
    assert [r.physical for r in regions] == [0, 4, 0, 2]
    assert depth == 7
    assert remap(regions, np.array([0, 5, 7, 8, 11, -1]), -1).tolist() == [0, 5, 0, 1, 4, -1]


def test_a_stage_never_writes_over_its_own_operand():
    regions = [Region(0, 2, written_by=-1, last_read=1), Region(2, 2, written_by=1, last_read=FOREVER)]
    place(regions, fixed=1)
    assert regions[1].physical == 2


def test_hex_lines_are_twos_complement_words():
    rng = np.random.default_rng(7)
    for width in (1, 4, 9, 21, 32, 64):
        values = rng.integers(-(2 ** min(width, 62)), 2 ** min(width, 62), size=50)
        lines = hex_lines(values, width).split()
        digits = -(-width // 4)
        assert lines == [format(int(v) & ((1 << width) - 1), f"0{digits}x") for v in values]


def test_roms_are_padded_to_a_power_of_two():
    assert power_of_two_padded(np.array([5])).tolist() == [5, 0]
    assert power_of_two_padded(np.arange(1, 6)).tolist() == [1, 2, 3, 4, 5, 0, 0, 0]
