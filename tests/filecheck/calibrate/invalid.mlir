// RUN: not spintron-opt %s -p 'calibrate{percentile=30.0}' 2>&1 | filecheck %s --check-prefix=PERCENTILE
// RUN: not spintron-opt %s -p 'calibrate{data="%S/does-not-exist.npy"}' 2>&1 | filecheck %s --check-prefix=DATA

// PERCENTILE: spintron-opt: error: calibrate: percentile must be in (50, 100], got 30.0
// DATA:       spintron-opt: error: {{.*}}does-not-exist.npy: no such file
// DATA-NOT:   builtin.module

builtin.module {
  func.func @main(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<4x3xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    func.return %g : tensor<?x3xf32>
  }
}
