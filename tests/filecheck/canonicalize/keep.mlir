// RUN: spintron-opt %s -p canonicalize | filecheck %s

// Nothing here is a no-op:
// adding zeros that broadcast [3] to [2x3] widens x,
// CHECK:      "nn.add"(%x, %{{.*}}) : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// 0 - x is a negation, not x,
// CHECK:      "nn.sub"(%{{.*}}, %x) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
// the outer reshape copies (0) a dimension of the inner one's result,
// CHECK:      %[[R:.*]] = "nn.reshape"(%x) <{shape = array<i64: 3, 1>
// CHECK-NEXT: "nn.reshape"(%[[R]]) <{shape = array<i64: 0, 1, 1>
// and a multiplier that is not all ones stays.
// CHECK:      "nn.mul"

builtin.module {
  func.func @main(%x: tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x1x1xf32>, tensor<3xf32>) {
    %z = "nn.constant"() <{value = #nn.weight<"zero.b">}> : () -> tensor<2x3xf32>
    %a = "nn.add"(%x, %z) : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %n = "nn.sub"(%z, %x) : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %r1 = "nn.reshape"(%x) <{shape = array<i64: 3, 1>, allowzero = 0 : i64}> : (tensor<3xf32>) -> tensor<3x1xf32>
    %r2 = "nn.reshape"(%r1) <{shape = array<i64: 0, 1, 1>, allowzero = 0 : i64}> : (tensor<3x1xf32>) -> tensor<3x1x1xf32>
    %k = "nn.constant"() <{value = #nn.weight<"scale">}> : () -> tensor<3xf32>
    %m = "nn.mul"(%x, %k) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    func.return %a, %n, %r2, %m : tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x1x1xf32>, tensor<3xf32>
  }
}
