// RUN: not spintron-opt %s -p 'canonicalize{aggressive=true}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not spintron-opt %s -p canonicalize 2>&1 | filecheck %s --check-prefix=VERIFY
// RUN: not spintron-opt %s -p 'canonicalize,canonicalise' 2>&1 | filecheck %s --check-prefix=UNKNOWN

// OPTION:  spintron-opt: error: pass 'canonicalize': Provided arguments ["aggressive"] not found in expected arguments []
// UNKNOWN: spintron-opt: error: unknown pass 'canonicalise' (known: {{.*}}canonicalize,

// An identity whose result type differs from its input does not verify.
// VERIFY:      spintron-opt: error: {{.*}}invalid.mlir: IR does not verify
// VERIFY-SAME: nn.identity: result #0 has type tensor<2xf32>
// VERIFY-NOT:  builtin.module

builtin.module {
  func.func @main(%x: tensor<3xf32>) -> tensor<2xf32> {
    %i = "nn.identity"(%x) : (tensor<3xf32>) -> tensor<2xf32>
    func.return %i : tensor<2xf32>
  }
}
