// RUN: spintron-opt %s -p fold-batchnorm | filecheck %s

// Depthwise conv (group = channels) with a bias: same per-row rule, the
// existing bias is rescaled and shifted.
// CHECK-DAG:  #nn.weight<"dw.w.bn_folded">}> : () -> tensor<6x1x3x3xf32>
// CHECK-DAG:  #nn.weight<"dw.b.bn_bias">}> : () -> tensor<6xf32>
// CHECK:      "nn.conv"
// CHECK-SAME: group = 6 : i64
// CHECK-NOT:  nn.batch_normalization

builtin.module {
  func.func @main(%x: tensor<1x6x5x5xf32>) -> tensor<1x6x3x3xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"dw.w">}> : () -> tensor<6x1x3x3xf32>
    %c = "nn.constant"() <{value = #nn.weight<"dw.b">}> : () -> tensor<6xf32>
    %y = "nn.conv"(%x, %w, %c) <{strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 6 : i64}> : (tensor<1x6x5x5xf32>, tensor<6x1x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>
    %g = "nn.constant"() <{value = #nn.weight<"bn.gamma">}> : () -> tensor<6xf32>
    %b = "nn.constant"() <{value = #nn.weight<"bn.beta">}> : () -> tensor<6xf32>
    %m = "nn.constant"() <{value = #nn.weight<"bn.mean">}> : () -> tensor<6xf32>
    %v = "nn.constant"() <{value = #nn.weight<"pos.bn.var">}> : () -> tensor<6xf32>
    %z = "nn.batch_normalization"(%y, %g, %b, %m, %v) <{epsilon = 1.000000e-03 : f32}> : (tensor<1x6x3x3xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>
    func.return %z : tensor<1x6x3x3xf32>
  }
}
