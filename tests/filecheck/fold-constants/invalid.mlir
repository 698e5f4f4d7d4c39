// RUN: not spintron-opt %s -p 'fold-constants{max-elements=-1}' 2>&1 | filecheck %s --check-prefix=NEGATIVE
// RUN: not spintron-opt %s -p 'fold-constants{max-elements=1e6}' 2>&1 | filecheck %s --check-prefix=TYPE
// RUN: not spintron-opt %s -p fold-constants 2>&1 | filecheck %s --check-prefix=WEIGHT

// NEGATIVE: spintron-opt: error: pass 'fold-constants': max-elements must be >= 0, got -1
// TYPE:     spintron-opt: error: pass 'fold-constants': Incompatible types: given ('1e6',), expected <class 'int'>

// The weights file lacks the key "absent.w" (make_weights.py leaves absent.* out):
// WEIGHT:      spintron-opt: error: {{.*}}invalid.mlir: invalid IR:
// WEIGHT:      weight "absent.w" is not in the weights file loaded with this IR
// WEIGHT-NOT:  builtin.module

builtin.module {
  func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    %c = "nn.constant"() <{value = #nn.weight<"absent.w">}> : () -> tensor<2xf32>
    %y = "nn.add"(%x, %c) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    func.return %y : tensor<2xf32>
  }
}
