// RUN: spintron-opt %s -p 'lower-to-spin{crossbar=16x16 cell-bits=2 adc-bits=6}' -o %t.mlir
// RUN: spintron-opt %t.mlir -p tile-crossbars | filecheck %s

// Gemm [40, 32] on 16x16 arrays: 3 row blocks (16, 16, 8) x 2 column blocks (16, 16),
// tile ids row-major.  No calibration sample here, so the worst-case ADC shift:
// 16 rows x level 3 = 48 needs shift 1 for a 6-bit ADC (-32..31), 8 rows (24) shift 0.
// CHECK:      %[[Q:.*]] = "spin.quantize"(%x)
// CHECK-NEXT: %[[T0:.*]] = "spin.crossbar_tile"(%[[Q]]) <{{.*}}rows = 16 : i64, cols = 16 : i64, row_offset = 0 : i64, col_offset = 0 : i64, slices = 4 : i64, adc_shift = 1 : i64, tile_id = 0 : i64, levels_pos = #nn.weight<"spin.layer0.t0_0.pos">, levels_neg = #nn.weight<"spin.layer0.t0_0.neg">, utilisation = 1.000000e+00 : f64}> : (tensor<?x40xui8>) -> tensor<?x16xi64>
// CHECK-NEXT: %[[T1:.*]] = "spin.crossbar_tile"(%[[Q]]) <{{.*}}rows = 16 : i64, cols = 16 : i64, row_offset = 0 : i64, col_offset = 16 : i64, {{.*}}tile_id = 1 : i64, {{.*}}utilisation = 1.000000e+00 : f64}> : (tensor<?x40xui8>) -> tensor<?x16xi64>
// CHECK-NEXT: %[[T2:.*]] = "spin.crossbar_tile"(%[[Q]]) <{{.*}}row_offset = 16 : i64, col_offset = 0 : i64, {{.*}}tile_id = 2 : i64
// CHECK-NEXT: %[[T3:.*]] = "spin.crossbar_tile"(%[[Q]]) <{{.*}}row_offset = 16 : i64, col_offset = 16 : i64, {{.*}}tile_id = 3 : i64
// CHECK-NEXT: %[[T4:.*]] = "spin.crossbar_tile"(%[[Q]]) <{{.*}}rows = 8 : i64, cols = 16 : i64, row_offset = 32 : i64, col_offset = 0 : i64, slices = 4 : i64, adc_shift = 0 : i64, tile_id = 4 : i64
// CHECK-NEXT: %[[T5:.*]] = "spin.crossbar_tile"(%[[Q]]) <{{.*}}rows = 8 : i64, cols = 16 : i64, row_offset = 32 : i64, col_offset = 16 : i64, {{.*}}tile_id = 5 : i64{{.*}}utilisation = 5.000000e-01 : f64
// Column block 0 sums tiles 0, 2, 4; column block 1 sums 1, 3, 5.
// CHECK-NEXT: %[[S:.*]] = "spin.shift_add"(%[[T0]], %[[T2]], %[[T4]], %[[T1]], %[[T3]], %[[T5]]) <{blocks = array<i64: 3, 3>}> : {{.*}} -> tensor<?x32xi64>
// CHECK-NEXT: "spin.requant"(%[[S]])
// A grouped 1x1 conv (2 groups of 16 channels, each fits a 16x16 array): one group-aligned tile per group.
// CHECK:      "spin.crossbar_tile"({{.*}}row_offset = 0 : i64, col_offset = 0 : i64, {{.*}}tile_id = 6 : i64
// CHECK-NEXT: "spin.crossbar_tile"({{.*}}row_offset = 16 : i64, col_offset = 16 : i64, {{.*}}tile_id = 7 : i64
// CHECK-NEXT: "spin.shift_add"({{.*}}) <{blocks = array<i64: 1, 1>}>
// CHECK-NOT:  spin.crossbar_layer

builtin.module {
  func.func @main(%x: tensor<?x40xf32>) -> tensor<?x32x1x1xf32> attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 8 : i64, spin.per_channel = 1 : i64} {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<40x32xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 100 : i64} : (tensor<?x40xf32>, tensor<40x32xf32>) -> tensor<?x32xf32>
    %r = "nn.reshape"(%g) <{shape = array<i64: -1, 32, 1, 1>, allowzero = 0 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 100 : i64} : (tensor<?x32xf32>) -> tensor<?x32x1x1xf32>
    %k = "nn.constant"() <{value = #nn.weight<"conv.w">}> : () -> tensor<32x16x1x1xf32>
    %c = "nn.conv"(%r, %k) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64}> {spin.scale = 0.2 : f64, spin.zero_point = 90 : i64} : (tensor<?x32x1x1xf32>, tensor<32x16x1x1xf32>) -> tensor<?x32x1x1xf32>
    func.return %c : tensor<?x32x1x1xf32>
  }
}
