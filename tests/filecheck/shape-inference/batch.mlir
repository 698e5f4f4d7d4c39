// RUN: spintron-opt %s -p 'shape-inference{batch=8}' | filecheck %s
// RUN: spintron-opt %s -p shape-inference | filecheck %s --check-prefix=DYNAMIC

// A concrete batch size reaches every result type and the signature.
// CHECK:      func.func @main(%0: tensor<8x4xf32>) -> tensor<8x3xf32>
// CHECK:      "nn.gemm"
// CHECK-SAME: (tensor<8x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<8x3xf32>
// CHECK:      "nn.relu"(%{{.*}}) : (tensor<8x3xf32>) -> tensor<8x3xf32>
// CHECK:      func.return %{{.*}} : tensor<8x3xf32>

// Without an option the types are already consistent: nothing changes.
// DYNAMIC: func.func @main(%0: tensor<?x4xf32>) -> tensor<?x3xf32>
// DYNAMIC: (tensor<?x3xf32>) -> tensor<?x3xf32>

builtin.module {
  func.func @main(%0: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %1 = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<4x3xf32>
    %2 = "nn.constant"() <{value = #nn.weight<"fc.b">}> : () -> tensor<3xf32>
    %3 = "nn.gemm"(%0, %1, %2) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> : (tensor<?x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<?x3xf32>
    %4 = "nn.relu"(%3) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    func.return %4 : tensor<?x3xf32>
  }
}
