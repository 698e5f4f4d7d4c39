// RUN: not spintron-opt %s -p 'estimate-energy{mtj-config="%S/negative-resistance.toml"}' 2>&1 | filecheck %s --check-prefix=RANGE
// RUN: not spintron-opt %s -p 'estimate-energy{cell-type=sot}' 2>&1 | filecheck %s --check-prefix=CELL
// RUN: not spintron-opt %s -p 'estimate-energy{mtj-config="%S/missing.toml"}' 2>&1 | filecheck %s --check-prefix=MISSING

// A negative resistance in an override names the field, its unit and the range.
// RANGE:     spintron-opt: error: {{.*}}negative-resistance.toml: mtj.r_parallel (ohm) = -5 ohm is outside the plausible range [100, 1e+06] ohm
// RANGE-NOT: builtin.module

// A binary SOT cell cannot hold the 2-bit levels of this tile.
// CELL:      spintron-opt: error: sot cells are binary: cell_bits must be 1, got 2 (use dw)

// MISSING:   spintron-opt: error: {{.*}}missing.toml: no such parameter file

builtin.module {
  func.func @main(%x: tensor<1x2xui8>) -> tensor<1x2xi64> {
    %t = "spin.crossbar_tile"(%x) <{array_rows = 16 : i64, array_cols = 16 : i64, cell_bits = 2 : i64, input_bits = 8 : i64, adc_bits = 4 : i64, layer = "fc", rows = 2 : i64, cols = 2 : i64, row_offset = 0 : i64, col_offset = 0 : i64, slices = 1 : i64, adc_shift = 0 : i64, tile_id = 0 : i64, levels_pos = #nn.weight<"t.pos">, levels_neg = #nn.weight<"t.neg">, utilisation = 0.015625 : f64}> : (tensor<1x2xui8>) -> tensor<1x2xi64>
    func.return %t : tensor<1x2xi64>
  }
}
