// RUN: spintron-opt %s -p 'lower-to-spin{crossbar=32x16 cell-bits=3 adc-bits=5}' | filecheck %s

// Entry: quantize with the input's scale / zero point.
// CHECK:      %[[Q:.*]] = "spin.quantize"(%x) <{scale = 7.812500e-03 : f64, zero_point = 128 : i64, bits = 8 : i64}> : (tensor<?x4x5x5xf32>) -> tensor<?x4x5x5xui8>
// Conv: one im2col over all channels, padding with the zero point (real 0);
// [B*3*3, 4*3*3] patches, one block-diagonal layer matrix (2 groups).
// CHECK-NEXT: %[[P:.*]] = "spin.im2col"(%[[Q]]) <{kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, channel_offset = 0 : i64, channels = 4 : i64, pad_value = 128 : i64}> : (tensor<?x4x5x5xui8>) -> tensor<?x36xui8>
// CHECK-NEXT: %[[L:.*]] = "spin.crossbar_layer"(%[[P]]) <{weights = #nn.weight<"spin.layer0.weights">, weight_bits = 6 : i64, input_bits = 8 : i64, cell_bits = 3 : i64, array_rows = 32 : i64, array_cols = 16 : i64, layer = "layer0", adc_bits = 5 : i64, groups = 2 : i64}> : (tensor<?x36xui8>) -> tensor<?x6xi64>
// The fused ReLU is the requant clamp from the zero point (0) up.
// CHECK-NEXT: %[[R:.*]] = "spin.requant"(%[[L]]) <{multiplier = array<i64: {{.*}}>, shift = array<i64: {{.*}}>, input_zero_point = 128 : i64, column_sums = #nn.weight<"spin.layer0.column_sums">, bias = #nn.weight<"spin.layer0.bias">, zero_point = 0 : i64, bits = 8 : i64, clamp_min = 0 : i64, clamp_max = 255 : i64}> : (tensor<?x6xi64>) -> tensor<?x6xui8>
// CHECK-NEXT: %[[I:.*]] = "spin.rows_to_image"(%[[R]]) : (tensor<?x6xui8>) -> tensor<?x6x3x3xui8>
// CHECK-NEXT: %[[G:.*]] = "spin.global_avg_pool"(%[[I]])
// CHECK-NEXT: %[[F:.*]] = "spin.reshape"(%[[G]]) : (tensor<?x6x1x1xui8>) -> tensor<?x6xui8>
// Gemm with trans_b: the [6, 3] matrix; pooling kept the conv's scale (0.05), so
// the input zero point of this layer is the conv's (0).
// CHECK-NEXT: %[[M:.*]] = "spin.crossbar_layer"(%[[F]]) <{{.*}}layer = "layer1", adc_bits = 5 : i64}> : (tensor<?x6xui8>) -> tensor<?x3xi64>
// CHECK-NEXT: %[[O:.*]] = "spin.requant"(%[[M]]) <{{.*}}input_zero_point = 0 : i64{{.*}}zero_point = 120 : i64
// CHECK-NEXT: %[[D:.*]] = "spin.dequantize"(%[[O]]) <{scale = 1.000000e-01 : f64, zero_point = 120 : i64, bits = 8 : i64}>
// CHECK-NEXT: func.return %[[D]] : tensor<?x3xf32>
// CHECK-NOT:  nn.

builtin.module {
  func.func @main(%x: tensor<?x4x5x5xf32>) -> tensor<?x3xf32> attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 6 : i64, spin.per_channel = 1 : i64} {
    %w = "nn.constant"() <{value = #nn.weight<"conv.w">}> : () -> tensor<6x2x3x3xf32>
    %c = "nn.conv"(%x, %w) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64, clamp_min = 0.000000e+00 : f32}> {spin.scale = 0.05 : f64, spin.zero_point = 0 : i64} : (tensor<?x4x5x5xf32>, tensor<6x2x3x3xf32>) -> tensor<?x6x3x3xf32>
    %p = "nn.global_average_pool"(%c) {spin.scale = 0.03 : f64, spin.zero_point = 0 : i64} : (tensor<?x6x3x3xf32>) -> tensor<?x6x1x1xf32>
    %f = "nn.flatten"(%p) <{axis = 1 : i64}> {spin.scale = 0.03 : f64, spin.zero_point = 0 : i64} : (tensor<?x6x1x1xf32>) -> tensor<?x6xf32>
    %v = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<3x6xf32>
    %b = "nn.constant"() <{value = #nn.weight<"fc.b">}> : () -> tensor<3xf32>
    %g = "nn.gemm"(%f, %v, %b) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 1 : i64}> {spin.scale = 0.1 : f64, spin.zero_point = 120 : i64} : (tensor<?x6xf32>, tensor<3x6xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    func.return %g : tensor<?x3xf32>
  }
}
