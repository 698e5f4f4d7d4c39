// RUN: not spintron-opt %s -p quantize 2>&1 | filecheck %s --check-prefix=ORDER
// RUN: not spintron-opt %s -p 'quantize{weight-bits=1}' 2>&1 | filecheck %s --check-prefix=BITS
// RUN: not spintron-opt %s -p 'quantize{activation-bits=9}' 2>&1 | filecheck %s --check-prefix=ABITS

// ORDER: spintron-opt: error: quantize: no activation ranges on @main: run the calibrate pass first
// ORDER-NOT: builtin.module
// BITS:  spintron-opt: error: weight bits must be in 2..8, got 1
// ABITS: spintron-opt: error: activation bits must be in 2..8, got 9

builtin.module {
  func.func @main(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<4x3xf32>
    %g = "nn.gemm"(%x, %w) <{alpha = 1.000000e+00 : f32, beta = 1.000000e+00 : f32, trans_a = 0 : i64, trans_b = 0 : i64}> : (tensor<?x4xf32>, tensor<4x3xf32>) -> tensor<?x3xf32>
    func.return %g : tensor<?x3xf32>
  }
}
