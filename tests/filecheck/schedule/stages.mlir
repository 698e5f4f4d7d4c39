// RUN: spintron-opt %s -p 'lower-to-spin{crossbar=16x16},tile-crossbars' -o %t.mlir
// RUN: spintron-opt %t.mlir -p schedule | filecheck %s

// Layer 0 (gemm [20, 18], 2x2 tiles) is stage 0, the 3x3 conv on 4x4 pixels
// (one tile, 16 output pixels) stage 1.  Cycles: 8 input bits per vector;
// the conv reads 16 vectors per inference: 8 + 128 = 136 cycles.
// CHECK:      func.func @main
// CHECK-SAME: spin.arrays = 5 : i64, spin.stages = 2 : i64, spin.cycles_per_inference = 136 : i64
// CHECK:      "spin.crossbar_tile"{{.*}}tile_id = 0 : i64{{.*}}array_id = 0 : i64}> {spin.stage = 0 : i64, spin.cycles = 8 : i64}
// CHECK:      "spin.crossbar_tile"{{.*}}tile_id = 3 : i64{{.*}}array_id = 3 : i64}> {spin.stage = 0 : i64, spin.cycles = 8 : i64}
// CHECK:      "spin.im2col"
// CHECK:      "spin.crossbar_tile"{{.*}}tile_id = 4 : i64{{.*}}array_id = 4 : i64}> {spin.stage = 1 : i64, spin.cycles = 128 : i64}

builtin.module {
  func.func @main(%x: tensor<?x20xf32>) -> tensor<?x2x4x4xf32> attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 8 : i64, spin.per_channel = 1 : i64} {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<20x18xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 100 : i64} : (tensor<?x20xf32>, tensor<20x18xf32>) -> tensor<?x18xf32>
    %s = "nn.reshape"(%g) <{shape = array<i64: -1, 2, 3, 3>, allowzero = 0 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 100 : i64} : (tensor<?x18xf32>) -> tensor<?x2x3x3xf32>
    %k = "nn.constant"() <{value = #nn.weight<"conv.w">}> : () -> tensor<2x2x2x2xf32>
    %c = "nn.conv"(%s, %k) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}> {spin.scale = 0.2 : f64, spin.zero_point = 90 : i64} : (tensor<?x2x3x3xf32>, tensor<2x2x2x2xf32>) -> tensor<?x2x4x4xf32>
    func.return %c : tensor<?x2x4x4xf32>
  }
}
