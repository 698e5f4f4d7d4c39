// RUN: spintron-opt %s -p 'lower-to-spin{crossbar=16x16}' -o %t.mlir
// RUN: not spintron-opt %t.mlir -p 'tile-crossbars{max-saturation=1.5}' 2>&1 | filecheck %s --check-prefix=RATE
// RUN: not spintron-opt %t.mlir -p 'tile-crossbars{adc-shift-rule="best"}' 2>&1 | filecheck %s --check-prefix=RULE

// RATE: spintron-opt: error: tile-crossbars: max-saturation must be in [0, 1], got 1.5
// RATE-NOT: builtin.module
// RULE: spintron-opt: error: tile-crossbars: adc-shift-rule must be one of min-error, saturation, got 'best'

builtin.module {
  func.func @main(%x: tensor<?x40xf32>) -> tensor<?x20xf32> attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 8 : i64, spin.per_channel = 1 : i64} {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<40x20xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 100 : i64} : (tensor<?x40xf32>, tensor<40x20xf32>) -> tensor<?x20xf32>
    func.return %g : tensor<?x20xf32>
  }
}
