// RUN: spintron-opt %s -p canonicalize | filecheck %s

// Identity, x + 0, 1 * x, x - 0, x / 1 and a reshape chain that ends where it
// started all disappear; the two matmuls read equal weights under different
// keys, so the constants merge and the second matmul is CSE'd into the first.
// CHECK-LABEL: func.func @main(%x: tensor<?x12xf32>) -> tensor<?x4xf32>
// CHECK-NEXT:    %[[W:.*]] = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<12x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = "nn.matmul"(%x, %[[W]])
// CHECK-NEXT:    %[[S:.*]] = "nn.add"(%[[Y]], %[[Y]])
// CHECK-NEXT:    func.return %[[S]] : tensor<?x4xf32>
// CHECK-NEXT:  }

builtin.module {
  func.func @main(%x: tensor<?x12xf32>) -> tensor<?x4xf32> {
    %i = "nn.identity"(%x) : (tensor<?x12xf32>) -> tensor<?x12xf32>
    %zero = "nn.constant"() <{value = #nn.weight<"zero.a">}> : () -> tensor<12xf32>
    %a = "nn.add"(%i, %zero) : (tensor<?x12xf32>, tensor<12xf32>) -> tensor<?x12xf32>
    %one = "nn.constant"() <{value = #nn.weight<"one.a">}> : () -> tensor<1x12xf32>
    %m = "nn.mul"(%one, %a) : (tensor<1x12xf32>, tensor<?x12xf32>) -> tensor<?x12xf32>
    %zs = "nn.constant"() <{value = #nn.weight<"zero.s">}> : () -> tensor<f32>
    %s = "nn.sub"(%m, %zs) : (tensor<?x12xf32>, tensor<f32>) -> tensor<?x12xf32>
    %os = "nn.constant"() <{value = #nn.weight<"one.s">}> : () -> tensor<12xf32>
    %d = "nn.div"(%s, %os) : (tensor<?x12xf32>, tensor<12xf32>) -> tensor<?x12xf32>
    %r1 = "nn.reshape"(%d) <{shape = array<i64: -1, 3, 4>, allowzero = 0 : i64}> : (tensor<?x12xf32>) -> tensor<?x3x4xf32>
    %r2 = "nn.reshape"(%r1) <{shape = array<i64: -1, 2, 6>, allowzero = 0 : i64}> : (tensor<?x3x4xf32>) -> tensor<?x2x6xf32>
    %r3 = "nn.reshape"(%r2) <{shape = array<i64: -1, 12>, allowzero = 0 : i64}> : (tensor<?x2x6xf32>) -> tensor<?x12xf32>
    %w1 = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<12x4xf32>
    %y1 = "nn.matmul"(%r3, %w1) : (tensor<?x12xf32>, tensor<12x4xf32>) -> tensor<?x4xf32>
    %w2 = "nn.constant"() <{value = #nn.weight<"fc.w@copy">}> : () -> tensor<12x4xf32>
    %y2 = "nn.matmul"(%r3, %w2) : (tensor<?x12xf32>, tensor<12x4xf32>) -> tensor<?x4xf32>
    %sum = "nn.add"(%y1, %y2) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    func.return %sum : tensor<?x4xf32>
  }
}
