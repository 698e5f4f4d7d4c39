// RUN: spintron-opt %s -p fold-batchnorm | filecheck %s
// RUN: spintron-opt %s -p 'fold-batchnorm{standalone=true}' | filecheck %s --check-prefix=AFFINE

// The conv result has a second user, and the second conv is clamped (the BN
// comes after the clamp): neither BN can go into a weight.
// CHECK:     %[[Y:.*]] = "nn.conv"(%x, %{{.*}}) <{
// CHECK:     "nn.batch_normalization"(%[[Y]],
// CHECK:     clamp_min = 0.000000e+00 : f32
// CHECK:     "nn.batch_normalization"

// With standalone=true each becomes x * s + t, s and t shaped [C, 1, 1].
// AFFINE-NOT: nn.batch_normalization
// AFFINE:     #nn.weight<"bn.gamma.affine_scale">}> : () -> tensor<2x1x1xf32>
// AFFINE:     #nn.weight<"bn.beta.affine_shift">}> : () -> tensor<2x1x1xf32>
// AFFINE:     "nn.mul"
// AFFINE:     "nn.add"
// AFFINE:     #nn.weight<"bn.gamma.affine_scale.1">}> : () -> tensor<2x1x1xf32>
// AFFINE:     "nn.mul"
// AFFINE:     "nn.add"

builtin.module {
  func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"conv.w">}> : () -> tensor<2x2x1x1xf32>
    %y = "nn.conv"(%x, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
    %g = "nn.constant"() <{value = #nn.weight<"bn.gamma">}> : () -> tensor<2xf32>
    %b = "nn.constant"() <{value = #nn.weight<"bn.beta">}> : () -> tensor<2xf32>
    %m = "nn.constant"() <{value = #nn.weight<"bn.mean">}> : () -> tensor<2xf32>
    %v = "nn.constant"() <{value = #nn.weight<"pos.bn.var">}> : () -> tensor<2xf32>
    %n = "nn.batch_normalization"(%y, %g, %b, %m, %v) <{epsilon = 1.000000e-05 : f32}> : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
    %s = "nn.add"(%n, %y) : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
    %c = "nn.conv"(%s, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64, clamp_min = 0.000000e+00 : f32}> : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
    %n2 = "nn.batch_normalization"(%c, %g, %b, %m, %v) <{epsilon = 1.000000e-05 : f32}> : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
    func.return %n2 : tensor<1x2x4x4xf32>
  }
}
