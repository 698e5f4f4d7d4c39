// RUN: spintron-opt %s -p fuse-activations | filecheck %s

// Relu after a conv: clamp_min = 0 on the conv, the relu is gone.
// CHECK:      %[[C:.*]] = "nn.conv"(%x, %{{.*}}) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, clamp_min = 0.000000e+00 : f32}>
// CHECK-NEXT: %[[F:.*]] = "nn.flatten"(%[[C]])
// Clip after a gemm: both bounds.
// CHECK:      %[[G:.*]] = "nn.gemm"(%[[F]], %{{.*}}) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64, clamp_min = -1.000000e+00 : f32, clamp_max = 6.000000e+00 : f32}>
// Relu then Clip(-2, 3) after a matmul: the intersection [0, 3].
// CHECK:      %[[M:.*]] = "nn.matmul"(%[[G]], %{{.*}}) <{clamp_min = 0.000000e+00 : f32, clamp_max = 3.000000e+00 : f32}>
// CHECK-NEXT: func.return %[[M]]
// CHECK-NOT:  nn.relu
// CHECK-NOT:  nn.clip

builtin.module {
  func.func @main(%x: tensor<?x2x3x3xf32>) -> tensor<?x2xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"conv.w">}> : () -> tensor<2x2x1x1xf32>
    %c = "nn.conv"(%x, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<?x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<?x2x3x3xf32>
    %r = "nn.relu"(%c) : (tensor<?x2x3x3xf32>) -> tensor<?x2x3x3xf32>
    %f = "nn.flatten"(%r) <{axis = 1 : i64}> : (tensor<?x2x3x3xf32>) -> tensor<?x18xf32>
    %b = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<18x4xf32>
    %g = "nn.gemm"(%f, %b) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> : (tensor<?x18xf32>, tensor<18x4xf32>) -> tensor<?x4xf32>
    %k = "nn.clip"(%g) <{min = -1.000000e+00 : f32, max = 6.000000e+00 : f32}> : (tensor<?x4xf32>) -> tensor<?x4xf32>
    %v = "nn.constant"() <{value = #nn.weight<"out.w">}> : () -> tensor<4x2xf32>
    %m = "nn.matmul"(%k, %v) : (tensor<?x4xf32>, tensor<4x2xf32>) -> tensor<?x2xf32>
    %r2 = "nn.relu"(%m) : (tensor<?x2xf32>) -> tensor<?x2xf32>
    %k2 = "nn.clip"(%r2) <{min = -2.000000e+00 : f32, max = 3.000000e+00 : f32}> : (tensor<?x2xf32>) -> tensor<?x2xf32>
    func.return %k2 : tensor<?x2xf32>
  }
}
