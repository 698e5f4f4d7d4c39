// RUN: spintron-opt %s -p fuse-activations | filecheck %s

// The gemm result is also returned: clamping it would change that output.
// CHECK:     %[[G:.*]] = "nn.gemm"(%x, %{{.*}}) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}>
// CHECK:     "nn.relu"(%[[G]])
// A relu after an add has no clamp to go into.
// CHECK:     "nn.add"
// CHECK:     "nn.relu"
// Disjoint clamps ([0, inf) then (-inf, -1]) are left as they are.
// CHECK:     "nn.matmul"({{.*}}) <{clamp_min = 0.000000e+00 : f32}>
// CHECK:     "nn.clip"

builtin.module {
  func.func @main(%x: tensor<1x3xf32>) -> (tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>) {
    %b = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<3x3xf32>
    %g = "nn.gemm"(%x, %b) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
    %r = "nn.relu"(%g) : (tensor<1x3xf32>) -> tensor<1x3xf32>
    %a = "nn.add"(%r, %x) : (tensor<1x3xf32>, tensor<1x3xf32>) -> tensor<1x3xf32>
    %r2 = "nn.relu"(%a) : (tensor<1x3xf32>) -> tensor<1x3xf32>
    %m = "nn.matmul"(%r2, %b) <{clamp_min = 0.000000e+00 : f32}> : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
    %k = "nn.clip"(%m) <{max = -1.000000e+00 : f32}> : (tensor<1x3xf32>) -> tensor<1x3xf32>
    func.return %g, %r2, %k : tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>
  }
}
