// RUN: not spintron-opt %s -p 'fold-batchnorm{standalone=maybe}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not spintron-opt %s -p fold-batchnorm 2>&1 | filecheck %s --check-prefix=VERIFY

// The option is checked before the input is read.
// OPTION: spintron-opt: error: pass 'fold-batchnorm': Incompatible types: given ('maybe',), expected <class 'bool'>

// A BN whose mean has the wrong length does not verify; nothing is printed.
// VERIFY:     spintron-opt: error: {{.*}}invalid.mlir: IR does not verify
// VERIFY:     nn.batch_normalization: mean has shape [3], expected [2]
// VERIFY-NOT: builtin.module

builtin.module {
  func.func @main(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
    %g = "nn.constant"() <{value = #nn.weight<"bn.gamma">}> : () -> tensor<2xf32>
    %m = "nn.constant"() <{value = #nn.weight<"bn.mean">}> : () -> tensor<3xf32>
    %n = "nn.batch_normalization"(%x, %g, %g, %m, %g) <{epsilon = 1.000000e-05 : f32}> : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<3xf32>, tensor<2xf32>) -> tensor<1x2xf32>
    func.return %n : tensor<1x2xf32>
  }
}
