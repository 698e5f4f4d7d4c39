// RUN: spintron-opt %s -p fold-batchnorm | filecheck %s

// A BN after a bias-less conv: the weight is rescaled per output channel and
// a bias is created; the BN and its four constants are gone.
// CHECK-LABEL: func.func @main
// CHECK-DAG:   %[[W:.*]] = "nn.constant"() <{value = #nn.weight<"conv.w.bn_folded">}> : () -> tensor<4x3x3x3xf32>
// CHECK-DAG:   %[[B:.*]] = "nn.constant"() <{value = #nn.weight<"conv.w.bn_bias">}> : () -> tensor<4xf32>
// CHECK:       %[[Y:.*]] = "nn.conv"(%x, %[[W]], %[[B]]) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}>
// CHECK-NEXT:  func.return %[[Y]]
// CHECK-NOT:   nn.batch_normalization

builtin.module {
  func.func @main(%x: tensor<?x3x8x8xf32>) -> tensor<?x4x8x8xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"conv.w">}> : () -> tensor<4x3x3x3xf32>
    %y = "nn.conv"(%x, %w) <{strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}> : (tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<?x4x8x8xf32>
    %g = "nn.constant"() <{value = #nn.weight<"bn.gamma">}> : () -> tensor<4xf32>
    %b = "nn.constant"() <{value = #nn.weight<"bn.beta">}> : () -> tensor<4xf32>
    %m = "nn.constant"() <{value = #nn.weight<"bn.mean">}> : () -> tensor<4xf32>
    %v = "nn.constant"() <{value = #nn.weight<"pos.bn.var">}> : () -> tensor<4xf32>
    %z = "nn.batch_normalization"(%y, %g, %b, %m, %v) <{epsilon = 1.000000e-05 : f32}> : (tensor<?x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<?x4x8x8xf32>
    func.return %z : tensor<?x4x8x8xf32>
  }
}
