// RUN: spintron-opt %s -p fold-constants | filecheck %s
// RUN: spintron-opt %s -p 'fold-constants{max-elements=4}' | filecheck %s --check-prefix=SMALL

// (a * s + c)^T is computed once into a weight; the reshaped bias too.
// CHECK-LABEL: func.func @main
// CHECK-NEXT:  %[[W:.*]] = "nn.constant"() <{value = #nn.weight<"folded.transpose">}> : () -> tensor<6x4xf32>
// CHECK-NEXT:  %[[Y:.*]] = "nn.matmul"(%x, %[[W]])
// CHECK-NEXT:  %[[B:.*]] = "nn.constant"() <{value = #nn.weight<"folded.reshape">}> : () -> tensor<4xf32>
// CHECK-NEXT:  "nn.add"(%[[Y]], %[[B]])
// CHECK-NOT:   "nn.mul"
// CHECK-NOT:   "nn.transpose"

// With max-elements=4 only the 4-element bias is folded.
// SMALL:     "nn.mul"
// SMALL:     "nn.transpose"
// SMALL:     #nn.weight<"folded.reshape">
// SMALL-NOT: "nn.reshape"

builtin.module {
  func.func @main(%x: tensor<?x6xf32>) -> tensor<?x4xf32> {
    %a = "nn.constant"() <{value = #nn.weight<"a">}> : () -> tensor<4x6xf32>
    %s = "nn.constant"() <{value = #nn.weight<"s">}> : () -> tensor<1x6xf32>
    %p = "nn.mul"(%a, %s) : (tensor<4x6xf32>, tensor<1x6xf32>) -> tensor<4x6xf32>
    %c = "nn.constant"() <{value = #nn.weight<"c">}> : () -> tensor<6xf32>
    %q = "nn.add"(%p, %c) : (tensor<4x6xf32>, tensor<6xf32>) -> tensor<4x6xf32>
    %w = "nn.transpose"(%q) <{perm = array<i64: 1, 0>}> : (tensor<4x6xf32>) -> tensor<6x4xf32>
    %y = "nn.matmul"(%x, %w) : (tensor<?x6xf32>, tensor<6x4xf32>) -> tensor<?x4xf32>
    %b2 = "nn.constant"() <{value = #nn.weight<"b">}> : () -> tensor<2x2xf32>
    %b = "nn.reshape"(%b2) <{shape = array<i64: 4>, allowzero = 0 : i64}> : (tensor<2x2xf32>) -> tensor<4xf32>
    %z = "nn.add"(%y, %b) : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
    func.return %z : tensor<?x4xf32>
  }
}
