// RUN: spintron-opt %s -p 'quantize{weight-bits=4 activation-bits=6}' | filecheck %s

// Input range [-1, 1], 6 bits: scale = float32(2/63) (rounded up, 0.0317460336), so
// 1/scale = 31.4999999 and the zero point is 31.
// ReLU-fused gemm range [0, 6.3]: scale = float32(0.1), zero point 0.
// Ranges that do not contain 0 are widened to it: [2, 4] -> scale float32(4/63), zero point 0.
// CHECK:      func.func @main
// CHECK-SAME: spin.input_scales = array<f64: 0.031746033579111099>, spin.input_zero_points = array<i64: 31>
// CHECK-SAME: spin.activation_bits = 6 : i64, spin.weight_bits = 4 : i64, spin.per_channel = 1 : i64
// CHECK:      "nn.gemm"
// CHECK-SAME: spin.scale = 0.10000000149011612 : f64, spin.zero_point = 0 : i64
// CHECK:      "nn.add"
// CHECK-SAME: spin.scale = 0.063492067158222198 : f64, spin.zero_point = 0 : i64

builtin.module {
  func.func @main(%x: tensor<?x4xf32>) -> tensor<?x3xf32> attributes {spin.input_ranges = array<f64: -1.0, 1.0>} {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<4x3xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64, clamp_min = 0.000000e+00 : f32}> {spin.range = array<f64: 0.0, 6.3>} : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    %a = "nn.add"(%g, %g) {spin.range = array<f64: 2.0, 4.0>} : (tensor<?x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
    func.return %a : tensor<?x3xf32>
  }
}
