// RUN: not spintron-opt %s -p lower-to-spin 2>&1 | filecheck %s --check-prefix=MAPPING
// RUN: not spintron-opt %s -p 'lower-to-spin{crossbar=2048x128}' 2>&1 | filecheck %s --check-prefix=SIZE
// RUN: not spintron-opt %s -p 'lower-to-spin{crossbar=128by128}' 2>&1 | filecheck %s --check-prefix=FORMAT
// RUN: not spintron-opt %s -p 'lower-to-spin{adc-bits=13}' 2>&1 | filecheck %s --check-prefix=ADC

// The float unit re-quantizes an op's result with its calibrated range: none, no mapping.
// MAPPING: spintron-opt: error: lower-to-spin: nn.div has no quantization: run calibrate and quantize first
// MAPPING-NOT: builtin.module
// SIZE:   spintron-opt: error: crossbar rows must be in 16..1024, got 2048
// FORMAT: spintron-opt: error: crossbar must look like 128x128 (rows x cols), got '128by128'
// ADC:    spintron-opt: error: ADC bits must be in 1..12, got 13

builtin.module {
  func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {spin.input_scales = array<f64: 0.0078125>, spin.input_zero_points = array<i64: 128>, spin.activation_bits = 8 : i64, spin.weight_bits = 8 : i64, spin.per_channel = 1 : i64} {
    %m = "nn.div"(%x, %x) : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
    func.return %m : tensor<?x4xf32>
  }
}
