// RUN: spintron-opt --list-passes | filecheck %s
// RUN: not spintron-opt 2>&1 | filecheck %s --check-prefix=NOINPUT

// Every float-graph pass, its summary line and its options with defaults.
// CHECK-DAG: canonicalize: Remove identities, neutral constant operands, redundant reshapes, duplicate constants and dead ops.
// CHECK-DAG: fold-batchnorm: Fold inference BatchNormalization into a preceding Conv / Gemm / MatMul's weights and bias.
// CHECK-DAG: {{^}}    standalone: 'bool' = false
// CHECK-DAG: fold-constants: Evaluate ops whose operands are all constants into new nn.constant ops.
// CHECK-DAG: {{^}}    max-elements: 'int' = 1048576
// CHECK-DAG: fuse-activations: Fold Relu / Clip into the clamp_min / clamp_max of a single-use Conv, Gemm or MatMul.
// CHECK-DAG: shape-inference: Recompute result types and function signatures from each op's shape rule.
// CHECK-DAG: {{^}}    batch: 'int | None' = none

// NOINPUT: spintron-opt: error: no input file (see --help)
