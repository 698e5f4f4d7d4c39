// RUN: spintron-opt %s -p lower-to-spin | filecheck %s

// Div of two activations has no integer mapping: the nn op stays, on the
// digital float unit, between a dequantize of its code operands and a quantize
// of its result with its own calibrated scale.
// CHECK:      %[[Q:.*]] = "spin.quantize"(%x) <{scale = 7.812500e-03 : f64, zero_point = 128 : i64, bits = 8 : i64}> : (tensor<?x4xf32>) -> tensor<?x4xui8>
// CHECK-NEXT: %[[L:.*]] = "spin.lut"(%[[Q]]) {{.*}}function = "sigmoid"
// CHECK-NEXT: %[[A:.*]] = "spin.dequantize"(%[[Q]]) <{scale = 7.812500e-03 : f64, zero_point = 128 : i64, bits = 8 : i64}> : (tensor<?x4xui8>) -> tensor<?x4xf32>
// CHECK-NEXT: %[[B:.*]] = "spin.dequantize"(%[[L]]) <{scale = 3.906250e-03 : f64, zero_point = 0 : i64, bits = 8 : i64}> : (tensor<?x4xui8>) -> tensor<?x4xf32>
// CHECK-NEXT: %[[D:.*]] = "nn.div"(%[[A]], %[[B]]) {{{.*}}spin.float_unit = "{{.*}}"} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT: %[[R:.*]] = "spin.quantize"(%[[D]]) <{scale = 2.000000e-02 : f64, zero_point = 100 : i64, bits = 8 : i64}> : (tensor<?x4xf32>) -> tensor<?x4xui8>
// A comparison reads the re-quantized codes, like every other user, and its
// bool result passes through unquantized to the return.
// CHECK-NEXT: %[[T:.*]] = "nn.constant"() <{value = #nn.weight<"one.threshold">}>
// CHECK-NEXT: %[[E:.*]] = "spin.dequantize"(%[[R]])
// CHECK-NEXT: %[[C:.*]] = "nn.less"(%[[E]], %[[T]]) {spin.float_unit = "nn.less has no crossbar or integer-digital mapping"} : (tensor<?x4xf32>, tensor<f32>) -> tensor<?x4xi1>
// CHECK-NEXT: %[[O:.*]] = "spin.dequantize"(%[[R]]) <{scale = 2.000000e-02 : f64, zero_point = 100 : i64, bits = 8 : i64}>
// CHECK-NEXT: func.return %[[O]], %[[C]] : tensor<?x4xf32>, tensor<?x4xi1>
// CHECK-NOT:  nn.sigmoid

builtin.module {
  func.func @main(%x: tensor<?x4xf32>) -> (tensor<?x4xf32>, tensor<?x4xi1>) attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 8 : i64, spin.per_channel = 1 : i64} {
    %s = "nn.sigmoid"(%x) {spin.scale = 0.00390625 : f64, spin.zero_point = 0 : i64} : (tensor<?x4xf32>) -> tensor<?x4xf32>
    %d = "nn.div"(%x, %s) {spin.scale = 0.02 : f64, spin.zero_point = 100 : i64} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    %t = "nn.constant"() <{value = #nn.weight<"one.threshold">}> : () -> tensor<f32>
    %c = "nn.less"(%d, %t) : (tensor<?x4xf32>, tensor<f32>) -> tensor<?x4xi1>
    func.return %d, %c : tensor<?x4xf32>, tensor<?x4xi1>
  }
}
