// RUN: spintron-opt %s -p calibrate 2>&1 | filecheck %s

// Without data the pass warns and calibrates on synthetic standard-normal inputs.
// CHECK:      UserWarning: calibrate: no calibration data given; using synthetic standard-normal inputs
// CHECK:      func.func @main
// CHECK-SAME: spin.input_ranges = array<f64: [[LO:-[0-9.e+-]+]], [[HI:[0-9.e+-]+]]>
// The gemm's output range and a sample of its input for the ADC-shift choice:
// CHECK:      "nn.gemm"
// CHECK-SAME: {spin.range = array<f64: {{.*}}>, spin.calibration_input = #nn.weight<"spin.calibration.0">}
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
