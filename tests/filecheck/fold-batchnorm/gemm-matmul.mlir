// RUN: spintron-opt %s -p fold-batchnorm | filecheck %s

// Gemm with transB: rows of B are scaled, the bias absorbs beta (beta = 1).
// CHECK:      %[[B:.*]] = "nn.constant"() <{value = #nn.weight<"fc1.w.bn_folded">}> : () -> tensor<5x8xf32>
// CHECK-NEXT: %[[C:.*]] = "nn.constant"() <{value = #nn.weight<"fc1.b.bn_bias">}> : () -> tensor<5xf32>
// CHECK-NEXT: %[[G:.*]] = "nn.gemm"(%x, %[[B]], %[[C]]) <{alpha = 5.000000e-01 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 1 : i64}>
// A 2-D MatMul becomes a Gemm with the shift as its new bias.
// CHECK:      %[[W:.*]] = "nn.constant"() <{value = #nn.weight<"fc2.w.bn_folded">}> : () -> tensor<5x3xf32>
// CHECK-NEXT: %[[T:.*]] = "nn.constant"() <{value = #nn.weight<"fc2.w.bn_bias">}> : () -> tensor<3xf32>
// CHECK-NEXT: "nn.gemm"(%[[G]], %[[W]], %[[T]])
// CHECK-NOT:  nn.batch_normalization
// CHECK-NOT:  nn.matmul

builtin.module {
  func.func @main(%x: tensor<?x8xf32>) -> tensor<?x3xf32> {
    %w1 = "nn.constant"() <{value = #nn.weight<"fc1.w">}> : () -> tensor<5x8xf32>
    %b1 = "nn.constant"() <{value = #nn.weight<"fc1.b">}> : () -> tensor<5xf32>
    %h = "nn.gemm"(%x, %w1, %b1) <{alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32, trans_a = 0 : i64, trans_b = 1 : i64}> : (tensor<?x8xf32>, tensor<5x8xf32>, tensor<5xf32>) -> tensor<?x5xf32>
    %g1 = "nn.constant"() <{value = #nn.weight<"bn1.gamma">}> : () -> tensor<5xf32>
    %e1 = "nn.constant"() <{value = #nn.weight<"bn1.beta">}> : () -> tensor<5xf32>
    %m1 = "nn.constant"() <{value = #nn.weight<"bn1.mean">}> : () -> tensor<5xf32>
    %v1 = "nn.constant"() <{value = #nn.weight<"pos.bn1.var">}> : () -> tensor<5xf32>
    %n1 = "nn.batch_normalization"(%h, %g1, %e1, %m1, %v1) <{epsilon = 1.000000e-05 : f32}> : (tensor<?x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<?x5xf32>
    %w2 = "nn.constant"() <{value = #nn.weight<"fc2.w">}> : () -> tensor<5x3xf32>
    %y = "nn.matmul"(%n1, %w2) : (tensor<?x5xf32>, tensor<5x3xf32>) -> tensor<?x3xf32>
    %g2 = "nn.constant"() <{value = #nn.weight<"bn2.gamma">}> : () -> tensor<3xf32>
    %e2 = "nn.constant"() <{value = #nn.weight<"bn2.beta">}> : () -> tensor<3xf32>
    %m2 = "nn.constant"() <{value = #nn.weight<"bn2.mean">}> : () -> tensor<3xf32>
    %v2 = "nn.constant"() <{value = #nn.weight<"pos.bn2.var">}> : () -> tensor<3xf32>
    %n2 = "nn.batch_normalization"(%y, %g2, %e2, %m2, %v2) <{epsilon = 1.000000e-05 : f32}> : (tensor<?x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    func.return %n2 : tensor<?x3xf32>
  }
}
