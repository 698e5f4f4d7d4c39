// RUN: spintron-opt %s -p calibrate 2>&1 | filecheck %s

// Without data the pass warns and calibrates on synthetic standard-normal inputs.
// CHECK:      spintron-opt: warning: calibrate: no calibration data given; using synthetic standard-normal inputs
// The input's range, and the calibration items kept for the ADC-shift choice:
// CHECK:      func.func @main
// CHECK-SAME: spin.input_ranges = array<f64: [[LO:-[0-9.e+-]+]], [[HI:[0-9.e+-]+]]>, spin.calibration_input0 = #nn.weight<"spin.calibration.input0">
// CHECK:      "nn.gemm"
// CHECK-SAME: {spin.range = array<f64: {{.*}}>}
// ReLU output: the range starts at 0.
// CHECK:      "nn.relu"
// CHECK-SAME: {spin.range = array<f64: 0.000000e+00, {{[0-9.e+]+}}>}

builtin.module {
  func.func @main(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<4x3xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    %r = "nn.relu"(%g) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    func.return %r : tensor<?x3xf32>
  }
}
