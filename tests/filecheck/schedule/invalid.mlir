// RUN: spintron-opt %s -p 'lower-to-spin{crossbar=16x16}' -o %t.mlir
// RUN: not spintron-opt %t.mlir -p schedule 2>&1 | filecheck %s --check-prefix=ORDER
// RUN: not spintron-opt %t.mlir -p 'tile-crossbars,schedule{arrays=3}' 2>&1 | filecheck %s --check-prefix=ARRAYS

// ORDER:  spintron-opt: error: schedule: the module has untiled crossbar layers: run tile-crossbars first
// ORDER-NOT: builtin.module
// 40 x 20 on 16x16 arrays needs 3 x 2 = 6 tiles.
// ARRAYS: spintron-opt: error: schedule: the design needs 6 arrays, the chip has 3

builtin.module {
  func.func @main(%x: tensor<?x40xf32>) -> tensor<?x20xf32> attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 8 : i64, spin.per_channel = 1 : i64} {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<40x20xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 100 : i64} : (tensor<?x40xf32>, tensor<40x20xf32>) -> tensor<?x20xf32>
    func.return %g : tensor<?x20xf32>
  }
}
