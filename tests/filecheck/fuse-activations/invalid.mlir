// RUN: not spintron-opt %s -p 'fuse-activations{relu6=true}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not spintron-opt %s -p fuse-activations 2>&1 | filecheck %s --check-prefix=VERIFY

// OPTION: spintron-opt: error: pass 'fuse-activations': Provided arguments ["relu6"] not found in expected arguments []

// An output clamp whose bounds cross does not verify.
// VERIFY:     spintron-opt: error: {{.*}}invalid.mlir: IR does not verify
// VERIFY-SAME: nn.matmul: clamp bounds 2.0 > 1.0
// VERIFY-NOT: builtin.module

builtin.module {
  func.func @main(%x: tensor<1x3xf32>) -> tensor<1x3xf32> {
    %b = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<3x3xf32>
    %m = "nn.matmul"(%x, %b) <{clamp_min = 2.000000e+00 : f32, clamp_max = 1.000000e+00 : f32}> : (tensor<1x3xf32>, tensor<3x3xf32>) -> tensor<1x3xf32>
    func.return %m : tensor<1x3xf32>
  }
}
