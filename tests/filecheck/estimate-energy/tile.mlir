// RUN: spintron-opt %s -p estimate-energy | filecheck %s
// RUN: spintron-opt %s -p estimate-energy,estimate-energy | filecheck %s

// (Running the pass twice gives the same annotations.)
// One 2x2 tile (1-bit cells, one slice, 8 input bits, 4-bit ADC) on a 16x16
// array, at the shipped parameters (32 nm).  Hand-computed from the tables:
//   ADC: 8 bits x 2 columns = 16 conversions x 1.5625 pJ * 2^(4-8) = 1.5625 pJ
//   row drivers: 8 bits x 2 rows x 0.5 (input bits that are 1) x 0.390625 pJ = 3.125 pJ
//   latency: 8 reads x max(10 ns read, 2 conversions / 1.28 GS/s) = 80 ns
//   programming: 8 cells reset + 3 level steps = 11 pulses x 1 pJ (STT write)
// The module carries the totals and the CMOS baseline.
// CHECK:      builtin.module attributes {spin.cost_total = {energy_pj = {{.*}}, macs = 4 : i64, cmos_energy_pj =
// CHECK:      "spin.crossbar_tile"
// CHECK-SAME: spin.cost = {
// CHECK-SAME: row_driver_pj = 3.125000e+00 : f64
// CHECK-SAME: adc_pj = 1.562500e+00 : f64
// CHECK-SAME: latency_ns = 8.000000e+01 : f64
// CHECK-SAME: programming_pj = 1.100000e+01 : f64
// CHECK-SAME: macs = 4 : i64
// The requant costs digital work, no MACs.
// CHECK:      "spin.requant"
// CHECK-SAME: spin.cost = {digital_pj =
// CHECK-NOT:  macs
// CHECK-SAME: : (tensor<?x2xi64>) -> tensor<?x2xui8>

builtin.module {
  func.func @main(%x: tensor<?x2xf32>) -> tensor<?x2xf32> {
    %q = "spin.quantize"(%x) <{scale = 0.5 : f64, zero_point = 0 : i64, bits = 8 : i64}> : (tensor<?x2xf32>) -> tensor<?x2xui8>
    %t = "spin.crossbar_tile"(%q) <{array_rows = 16 : i64, array_cols = 16 : i64, cell_bits = 1 : i64, input_bits = 8 : i64, adc_bits = 4 : i64, layer = "fc", rows = 2 : i64, cols = 2 : i64, row_offset = 0 : i64, col_offset = 0 : i64, slices = 1 : i64, adc_shift = 0 : i64, tile_id = 0 : i64, levels_pos = #nn.weight<"t.pos">, levels_neg = #nn.weight<"t.neg">, utilisation = 0.015625 : f64}> : (tensor<?x2xui8>) -> tensor<?x2xi64>
    %r = "spin.requant"(%t) <{multiplier = array<i64: 1073741824, 1073741824>, shift = array<i64: 31, 31>, input_zero_point = 0 : i64, column_sums = #nn.weight<"rq.column_sums">, bias = #nn.weight<"rq.bias">, zero_point = 0 : i64, bits = 8 : i64, clamp_min = 0 : i64, clamp_max = 255 : i64}> : (tensor<?x2xi64>) -> tensor<?x2xui8>
    %y = "spin.dequantize"(%r) <{scale = 0.25 : f64, zero_point = 0 : i64, bits = 8 : i64}> : (tensor<?x2xui8>) -> tensor<?x2xf32>
    func.return %y : tensor<?x2xf32>
  }
}
