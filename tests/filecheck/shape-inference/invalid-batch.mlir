// RUN: not spintron-opt %s -p 'shape-inference{batch=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not spintron-opt %s -p 'shape-inference{batch=x}' 2>&1 | filecheck %s --check-prefix=TYPE
// RUN: not spintron-opt %s -p 'shape-inference{bach=2}' 2>&1 | filecheck %s --check-prefix=NAME

// ZERO: spintron-opt: error: pass 'shape-inference': batch must be >= 1, got 0
// TYPE: spintron-opt: error: pass 'shape-inference': Incompatible types: given ('x',), expected int | None
// NAME: spintron-opt: error: pass 'shape-inference': Provided arguments ["bach"] not found in expected arguments ["batch"]

builtin.module {
  func.func @main(%0: tensor<?x4xf32>) -> tensor<?x4xf32> {
    %1 = "nn.relu"(%0) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    func.return %1 : tensor<?x4xf32>
  }
}
