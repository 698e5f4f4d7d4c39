"""Hand-built ONNX graphs: import, run in float, compare with onnxruntime.

One small graph per claimed op and attribute variant, across opsets 11-21,
with a symbolic batch where the op allows it.  Weights are seeded random;
the oracle is onnxruntime on the same model, tolerance
``1e-4 * (1 + max|ref|)``.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.backends.float_exec import run_float
from spintron_nn.errors import SpintronError, UnsupportedError
from spintron_nn.frontend import load_model
from spintron_nn.ir.io import print_module
from spintron_nn.ir.module_info import input_names, output_names

SEED = 1234


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_close(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.dtype.kind in "iu":
        np.testing.assert_array_equal(got, ref)
        return
    bound = 1e-4 * (1.0 + float(np.abs(ref).max(initial=0.0)))
    error = float(np.abs(got.astype(np.float64) - ref).max(initial=0.0))
    assert error <= bound, f"max error {error} > {bound}"


def check_against_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    module = load_model(model)
    assert input_names(module) == list(feeds)
    got = run_float(module, feeds)
    ref = onnxruntime_outputs(model, feeds)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert_close(g, r)


class Graph:
    """A one-input graph under construction: ``x`` of ``shape``, weights added
    as seeded initializers."""

    def __init__(self, shape, opset: int = 17, batch_symbolic: bool = True):
        self.rng = np.random.default_rng(SEED)
        self.shape = list(shape)
        self.opset = opset
        dims = ["N", *shape[1:]] if batch_symbolic else list(shape)
        self.inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)]
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = []

    def weight(self, name: str, shape, *, positive: bool = False, dtype=np.float32) -> str:
        array = self.rng.standard_normal(shape)
        if positive:
            array = np.abs(array) + 0.5
        self.initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def const(self, name: str, values, dtype=np.int64) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def node(self, op: str, inputs, outputs=None, **attrs) -> str:
        outputs = outputs or [f"{op.lower()}{len(self.nodes)}"]
        self.nodes.append(helper.make_node(op, list(inputs), outputs, name=f"n{len(self.nodes)}", **attrs))
        return outputs[0]

    def model(self, *outputs: str, domains=(), shapes=None) -> onnx.ModelProto:
        """``shapes`` gives output shapes onnx's inference cannot work out
        (the checker insists on them)."""
        shapes = shapes or {}
        graph = helper.make_graph(
            self.nodes,
            "g",
            self.inputs,
            [
                helper.make_tensor_value_info(o, TensorProto.FLOAT if o in shapes else TensorProto.UNDEFINED, shapes.get(o))
                for o in outputs
            ],
            self.initializers,
        )
        opsets = [helper.make_opsetid("", self.opset), *(helper.make_opsetid(d, 1) for d in domains)]
        model = helper.make_model(graph, opset_imports=opsets)
        model = onnx.shape_inference.infer_shapes(model)  # typed outputs for onnxruntime
        return model

    def run(self, *outputs: str, batch: int = 3, shapes=None) -> None:
        model = self.model(*outputs, shapes=shapes)
        x = np.random.default_rng(SEED + 1).standard_normal([batch, *self.shape[1:]]).astype(np.float32)
        check_against_onnxruntime(model, {"x": x})


# --------------------------------------------------------------------------
# one test per op family; parameters cover the attribute variants
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "attrs,weight_shape,opset",
    [
        ({}, (4, 3, 3, 3), 11),
        ({"pads": [1, 0, 2, 1], "strides": [2, 1]}, (4, 3, 3, 3), 13),
        ({"dilations": [2, 2], "pads": [2, 2, 2, 2]}, (4, 3, 3, 3), 17),
        ({"group": 3}, (6, 1, 3, 3), 21),  # depthwise, multiplier 2
        ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (4, 3, 2, 2), 17),
        ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (4, 3, 2, 2), 17),
        ({"auto_pad": "VALID"}, (4, 3, 3, 3), 17),
    ],
)
def test_conv(attrs, weight_shape, opset):
    g = Graph([1, 3, 7, 8], opset)
    y = g.node("Conv", ["x", g.weight("w", weight_shape), g.weight("b", weight_shape[:1])], **attrs)
    g.run(y)


def test_conv_1d_without_bias():
    g = Graph([1, 2, 9])
    g.run(g.node("Conv", ["x", g.weight("w", (3, 2, 4))], strides=[2]))


@pytest.mark.parametrize(
    "attrs,b_shape,c_shape",
    [
        ({}, (5, 4), (4,)),
        ({"transB": 1, "alpha": 0.5, "beta": 2.0}, (4, 5), (1, 4)),
        ({"transB": 1}, (4, 5), None),
    ],
)
def test_gemm(attrs, b_shape, c_shape):
    g = Graph([1, 5])
    inputs = ["x", g.weight("b", b_shape)] + ([g.weight("c", c_shape)] if c_shape else [])
    g.run(g.node("Gemm", inputs, **attrs))


def test_gemm_trans_a_static_batch():
    g = Graph([5, 3], batch_symbolic=False)
    g.run(g.node("Gemm", ["x", g.weight("b", (5, 4)), g.weight("c", (4,))], transA=1), batch=5)


@pytest.mark.parametrize("x_shape,w_shape", [([1, 6], (6, 4)), ([1, 2, 3, 6], (2, 6, 4)), ([1, 3, 6], (6,))])
def test_matmul(x_shape, w_shape):
    g = Graph(x_shape)
    g.run(g.node("MatMul", ["x", g.weight("w", w_shape)]))


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("w_shape", [(4,), (3, 1), (1, 3, 4)])
def test_binary_broadcast(op, w_shape):
    g = Graph([1, 3, 4])
    g.run(g.node(op, ["x", g.weight("w", w_shape, positive=(op == "Div"))]))


def test_binary_two_runtime_operands():
    g = Graph([1, 3, 4])
    a = g.node("Relu", ["x"])
    g.run(g.node("Mul", [a, "x"]))


@pytest.mark.parametrize(
    "op,attrs", [("Relu", {}), ("Sigmoid", {}), ("Tanh", {}), ("LeakyRelu", {"alpha": 0.2}), ("LeakyRelu", {})]
)
def test_unary(op, attrs):
    g = Graph([1, 3, 4])
    g.run(g.node(op, ["x"], **attrs))


@pytest.mark.parametrize("opset", [11, 13, 21])
@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (None, 0.3), (0.1, None), (None, None)])
def test_clip_input_form(opset, bounds):
    g = Graph([1, 3, 4], opset)
    names = [g.const(n, v, np.float32) if v is not None else "" for n, v in zip(("lo", "hi"), bounds)]
    while names and names[-1] == "":
        names.pop()
    g.run(g.node("Clip", ["x", *names]))


def test_clip_with_min_above_max_is_max_everywhere_float_and_compiled():
    """ONNX: min(max(x, min), max), so Clip(1, -1) is -1; the compile used to
    stop at 'fused clamp [1.0, -1.0] is empty' (without the model's name)."""
    from spintron_nn.api import compile_model
    from spintron_nn.config import CompileConfig

    g = Graph([2, 4])
    gemm = g.node("Gemm", ["x", g.weight("w", (3, 4))], transB=1)
    g.run(g.node("Clip", [gemm, g.const("lo", 1.0, np.float32), g.const("hi", -1.0, np.float32)]))
    x = np.random.default_rng(SEED).standard_normal((8, 4)).astype(np.float32)
    design = compile_model(g.model("clip1"), CompileConfig(), x)
    (got,) = design.run(x)
    np.testing.assert_array_equal(got, np.full((8, 3), -1.0, np.float32))


def test_clip_attribute_form_opset_6_is_converted():
    """Opset 6 models go through onnx's version converter first."""
    g = Graph([1, 3, 4], 6)
    g.run(g.node("Clip", ["x"], min=-0.25, max=0.5))


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("opset,axis", [(11, 1), (11, 2), (11, -1), (13, 1), (13, -1), (17, 0)])
def test_softmax_axis_conventions(op, opset, axis):
    g = Graph([1, 3, 5], opset)
    g.run(g.node(op, ["x"], axis=axis))


def test_softmax_default_axis_opset_11_is_the_2d_coercion():
    g = Graph([1, 3, 5], 11)
    g.run(g.node("Softmax", ["x"]))


@pytest.mark.parametrize(
    "op,attrs",
    [
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}),
        ("MaxPool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2], "ceil_mode": 1}),
        ("MaxPool", {"kernel_shape": [2, 2], "dilations": [2, 2]}),
        ("MaxPool", {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
        ("AveragePool", {"kernel_shape": [2, 3], "strides": [2, 2], "ceil_mode": 1}),
        ("AveragePool", {"kernel_shape": [2, 2], "dilations": [2, 1]}),
    ],
)
def test_pools(op, attrs):
    g = Graph([1, 2, 7, 8], opset=19)
    g.run(g.node(op, ["x"], **attrs))


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pools(op):
    g = Graph([1, 3, 5, 4])
    g.run(g.node(op, ["x"]))


@pytest.mark.parametrize("opset", [11, 15])
def test_batch_normalization(opset):
    g = Graph([1, 3, 4, 4], opset)
    params = [g.weight("s", (3,)), g.weight("b", (3,)), g.weight("m", (3,)), g.weight("v", (3,), positive=True)]
    g.run(g.node("BatchNormalization", ["x", *params], epsilon=1e-3))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_flatten(axis):
    g = Graph([2, 3, 4], batch_symbolic=(axis != 0))
    g.run(g.node("Flatten", ["x"], axis=axis), batch=2)


@pytest.mark.parametrize("target", [[0, -1], [0, 4, 3], [-1, 2, 6]])
def test_reshape_constant_targets(target):
    g = Graph([1, 3, 4])
    g.run(g.node("Reshape", ["x", g.const("shape", target)]))


def test_transpose_and_concat():
    g = Graph([1, 3, 4])
    t = g.node("Transpose", ["x"], perm=[0, 2, 1])
    g.run(g.node("Concat", [t, g.node("Relu", [t])], axis=2))


def test_concat_with_constant_needs_static_batch():
    g = Graph([2, 3, 4], batch_symbolic=False)
    g.run(g.node("Concat", ["x", g.weight("w", (2, 3, 2))], axis=-1), batch=2)


@pytest.mark.parametrize("opset", [11, 13, 21])
def test_squeeze_unsqueeze_both_forms(opset):
    g = Graph([1, 3, 1, 4], opset)
    if opset < 13:
        s = g.node("Squeeze", ["x"], axes=[2])
        u = g.node("Unsqueeze", [s], axes=[1, -1])
    else:
        s = g.node("Squeeze", ["x", g.const("sa", [2])])
        u = g.node("Unsqueeze", [s, g.const("ua", [1, -1])])
    g.run(u)


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_both_forms(opset, keepdims):
    g = Graph([1, 3, 4, 5], opset)
    if opset < 18:
        y = g.node("ReduceMean", ["x"], axes=[2, 3], keepdims=keepdims)
    else:
        y = g.node("ReduceMean", ["x", g.const("axes", [-1, 2])], keepdims=keepdims)
    g.run(y)


@pytest.mark.parametrize("opset", [11, 13])
def test_identity_and_dropout(opset):
    g = Graph([1, 3, 4], opset)
    d = g.node("Dropout", ["x"], ratio=0.3) if opset < 12 else g.node("Dropout", ["x", g.const("r", 0.3, np.float32)])
    g.run(g.node("Identity", [d]))


@pytest.mark.parametrize("attrs", [{"axis": 1}, {"axis": -1, "keepdims": 0}, {"axis": 1, "select_last_index": 1}])
def test_argmax(attrs):
    g = Graph([1, 5, 3])
    g.run(g.node("ArgMax", ["x"], **attrs))


# --------------------------------------------------------------------------
# shape subgraphs as the exporters write them
# --------------------------------------------------------------------------


def test_shape_gather_unsqueeze_concat_reshape_with_dynamic_batch():
    """torch.onnx.export(dynamo=False) of ``x.view(x.size(0), -1)``."""
    g = Graph([1, 3, 4], opset=13)
    shape = g.node("Shape", ["x"])
    batch = g.node("Gather", [shape, g.const("zero", 0)], axis=0)
    batch1 = g.node("Unsqueeze", [batch, g.const("ax", [0])])
    target = g.node("Concat", [batch1, g.const("rest", [-1])], axis=0)
    y = g.node("Reshape", ["x", target])
    model = g.model(y, shapes={y: ["N", 12]})
    text = print_module(load_model(model))
    assert "nn.reshape" in text and "tensor<?x12xf32>" in text
    assert "nn.constant" not in text  # the shape computation left nothing behind
    g.run(y, batch=5, shapes={y: ["N", 12]})


def test_shape_slice_concat_constant_of_shape():
    """dynamo-style: ``Shape -> Slice -> Concat`` target, plus Constant and
    ConstantOfShape operands."""
    g = Graph([1, 3, 4], opset=18)
    shape = g.node("Shape", ["x"])
    batch = g.node("Slice", [shape, g.const("s", [0]), g.const("e", [1])])
    target = g.node("Concat", [batch, g.const("m1", [-1])], axis=0)
    y = g.node("Reshape", ["x", target])
    half = numpy_helper.from_array(np.array([0.5], np.float32))
    ones = g.node("ConstantOfShape", [g.const("n", [12])], value=half)
    scaled = g.node("Add", [y, ones])
    constant = g.node("Constant", [], value=numpy_helper.from_array(np.full((12,), 2.0, np.float32)))
    g.run(g.node("Mul", [scaled, constant]))


def test_graph_outputs_keep_their_names_and_the_batch_is_dynamic():
    g = Graph([1, 4], opset=17)
    a = g.node("Relu", ["x"], ["first"])
    g.node("Sigmoid", [a], ["second"])
    module = load_model(g.model("first", "second"))
    assert output_names(module) == ["first", "second"]
    assert "tensor<?x4xf32>" in print_module(module)


def test_weights_keep_their_initializer_names():
    g = Graph([1, 5], opset=17)
    y = g.node("Gemm", ["x", g.weight("fc.weight", (4, 5)), g.weight("fc.bias", (4,))], transB=1)
    text = print_module(load_model(g.model(y)))
    assert '#nn.weight<"fc.weight">' in text and '#nn.weight<"fc.bias">' in text


# --------------------------------------------------------------------------
# refusals that name what is wrong
# --------------------------------------------------------------------------


def test_unsupported_op_names_node_op_domain_and_opset():
    g = Graph([1, 4], opset=19)
    g.node("Mish", ["x"])
    with pytest.raises(UnsupportedError, match=r"node 'n0' \(Mish, domain ai.onnx, opset 19\)"):
        load_model(g.model("mish0"))


def test_custom_domain_op_is_unsupported():
    g = Graph([1, 4], opset=17)
    g.nodes.append(helper.make_node("Fancy", ["x"], ["y"], name="f", domain="com.example"))
    graph = helper.make_graph(g.nodes, "g", g.inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    with pytest.raises(UnsupportedError, match=r"Fancy, domain com.example, opset 1"):
        load_model(model)


def test_an_attribute_the_op_does_not_understand_is_refused():
    g = Graph([1, 3, 4], opset=17)
    g.nodes.append(helper.make_node("Relu", ["x"], ["y"], name="r", surprise=3))
    graph = helper.make_graph(g.nodes, "g", g.inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(SpintronError, match="surprise"):
        load_model(model)


def test_conv_bias_that_contradicts_the_weight_names_the_node():
    g = Graph([1, 3, 5, 5])
    g.node("Conv", ["x", g.weight("w", (4, 3, 3, 3)), g.weight("b", (5,))])
    with pytest.raises(SpintronError, match=r"node 'n0' \(Conv.*bias"):
        load_model(g.model("conv0"))


def test_runtime_reshape_target_is_refused():
    g = Graph([1, 6], opset=17)
    g.inputs.append(helper.make_tensor_value_info("shape", TensorProto.INT64, [2]))
    g.node("Reshape", ["x", "shape"])
    with pytest.raises(SpintronError, match=r"target shape \('shape'\) must be a constant"):
        load_model(g.model("reshape0"))


def test_string_graph_input_is_refused():
    g = Graph([1, 6], opset=17)
    g.inputs.append(helper.make_tensor_value_info("names", TensorProto.STRING, [2]))
    g.node("Relu", ["x"])
    with pytest.raises(SpintronError, match="graph input 'names' is STRING; the nn dialect carries numeric"):
        load_model(g.model("relu0"))


def test_symbolic_non_batch_dimension_is_refused():
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "C"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    with pytest.raises(SpintronError, match="dimension 1 of graph input 'x' is symbolic"):
        load_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def test_model_proto_with_external_data_needs_its_folder():
    g = Graph([1, 4], opset=17)
    tensor = numpy_helper.from_array(np.ones((3, 4), np.float32), "w")
    tensor.ClearField("raw_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "w.bin"
    tensor.data_location = TensorProto.EXTERNAL
    g.initializers.append(tensor)
    g.node("Gemm", ["x", "w"], transB=1)
    with pytest.raises(SpintronError, match="external data"):
        load_model(g.model("gemm0"))


def test_model_local_functions_are_inlined():
    body = [helper.make_node("Relu", ["a"], ["r"]), helper.make_node("Mul", ["r", "a"], ["b"])]
    function = helper.make_function("local", "ReluTimesX", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    g = Graph([1, 3], opset=17)
    g.nodes.append(helper.make_node("ReluTimesX", ["x"], ["y"], domain="local"))
    graph = helper.make_graph(g.nodes, "g", g.inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)], functions=[function]
    )
    x = np.random.default_rng(SEED).standard_normal((4, 3)).astype(np.float32)
    check_against_onnxruntime(model, {"x": x})


def test_weight_keys_stay_unique_after_cleaning_names():
    g = Graph([1, 4], opset=17)
    a = g.node("Add", ["x", g.weight('w"1', (4,))])
    y = g.node("Add", [a, g.weight("w_1", (4,))])
    from spintron_nn.ir.weights import collect_weights

    weights = collect_weights(load_model(g.model(y)))
    arrays = {t.name: numpy_helper.to_array(t) for t in g.initializers}
    assert sorted(weights) == ["w_1", "w_1.1"]
    np.testing.assert_array_equal(weights["w_1"], arrays["w_1"])  # the clean name keeps its key
    np.testing.assert_array_equal(weights["w_1.1"], arrays['w"1'])


def representative_models() -> list[onnx.ModelProto]:
    models = []
    g = Graph([1, 3, 7, 8])
    g.node("Conv", ["x", g.weight("w", (4, 3, 3, 3)), g.weight("b", (4,))], pads=[1, 1, 1, 1], strides=[2, 2])
    models.append(g.model("conv0"))
    g = Graph([1, 2, 7, 8], opset=19)
    g.node("AveragePool", ["x"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 0], ceil_mode=1)
    models.append(g.model("averagepool0"))
    g = Graph([1, 2, 7, 8])
    g.node("MaxPool", ["x"], kernel_shape=[2, 2], auto_pad="SAME_UPPER", dilations=[2, 1], strides=[1, 2])
    models.append(g.model("maxpool0"))
    g = Graph([1, 5])
    g.node("Gemm", ["x", g.weight("b", (4, 5)), g.weight("c", (4,))], transB=1, alpha=0.5)
    models.append(g.model("gemm0"))
    g = Graph([1, 3, 4], opset=13)
    g.node("Clip", ["x", g.const("lo", -1.0, np.float32), g.const("hi", 1.0, np.float32)])
    models.append(g.model("clip0"))
    g = Graph([1, 3, 4])
    g.node("Reshape", ["x", g.const("shape", [0, 2, 6])])
    models.append(g.model("reshape0"))
    g = Graph([1, 3, 1, 4], opset=13)
    s = g.node("Squeeze", ["x", g.const("sa", [2])])
    g.node("Unsqueeze", [s, g.const("ua", [1])])
    models.append(g.model("unsqueeze1"))
    g = Graph([1, 3, 4, 5], opset=18)
    g.node("ReduceMean", ["x", g.const("axes", [2, 3])], keepdims=0)
    models.append(g.model("reducemean0"))
    g = Graph([1, 3, 5], opset=11)
    g.node("Softmax", ["x"], axis=2)
    models.append(g.model("softmax0"))
    g = Graph([1, 3, 4], opset=15)
    params = [g.weight("s", (3,)), g.weight("b", (3,)), g.weight("m", (3,)), g.weight("v", (3,), positive=True)]
    t = g.node("Transpose", ["x"], perm=[0, 2, 1])
    f = g.node("Flatten", [g.node("BatchNormalization", ["x", *params])], axis=1)
    g.node("Concat", [f, g.node("Flatten", [t], axis=1)], axis=1)
    models.append(g.model("concat4"))
    return models


def _mutate(model: onnx.ModelProto, rng: np.random.Generator) -> onnx.ModelProto:
    """Change one attribute value, one initializer's shape or one input dim."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    node = model.graph.node[int(rng.integers(len(model.graph.node)))]
    choice = int(rng.integers(3))
    if choice == 0 and node.attribute:
        attr = node.attribute[int(rng.integers(len(node.attribute)))]
        if attr.type == onnx.AttributeProto.INTS and attr.ints:
            attr.ints[int(rng.integers(len(attr.ints)))] = int(rng.integers(-5, 6))
            if rng.random() < 0.3:
                attr.ints.append(int(rng.integers(-3, 4)))
        elif attr.type == onnx.AttributeProto.INT:
            attr.i = int(rng.integers(-5, 6))
        elif attr.type == onnx.AttributeProto.FLOAT:
            attr.f = float(rng.standard_normal())
    elif choice == 1 and model.graph.initializer:
        tensor = model.graph.initializer[int(rng.integers(len(model.graph.initializer)))]
        array = numpy_helper.to_array(tensor)
        shape = list(array.shape) or [1]
        shape[int(rng.integers(len(shape)))] = int(rng.integers(0, 5))
        resized = np.resize(array, shape) if array.size else np.zeros(shape, array.dtype)
        tensor.CopyFrom(numpy_helper.from_array(resized.astype(array.dtype), tensor.name))
    else:
        dims = model.graph.input[0].type.tensor_type.shape.dim
        dims[int(rng.integers(1, len(dims)))].dim_value = int(rng.integers(1, 6))
    return model


def test_mutated_graphs_fail_only_with_spintron_errors():
    """Seeded mutations of attributes and shapes: each graph either imports
    or is refused with a SpintronError, never another exception.  Found a
    stride of 0 reaching a division and empty Clip bounds."""
    rng = np.random.default_rng(77)
    models = representative_models()
    outcomes = {"imported": 0, "refused": 0}
    for trial in range(600):
        try:
            load_model(_mutate(models[trial % len(models)], rng))
            outcomes["imported"] += 1
        except SpintronError:
            outcomes["refused"] += 1
    assert outcomes["imported"] > 0 and outcomes["refused"] > 0


# --------------------------------------------------------------------------
# element types other than float32
# --------------------------------------------------------------------------


def test_integer_graph_computes_in_its_own_type_like_onnxruntime():
    """int32 data with an int32 initializer: Div truncates toward zero, Max
    broadcasts, Less gives bool, Where picks, Cast back to float."""
    g = Graph([2, 5], opset=17)
    g.inputs = [helper.make_tensor_value_info("x", TensorProto.INT32, ["N", 5])]
    d = g.node("Div", ["x", g.const("d", [3, -3, 2, -2, 7], np.int32)])
    m = g.node("Max", [d, g.const("floor", [-4], np.int32)])
    less = g.node("Less", [m, g.const("zero", 0, np.int32)])
    w = g.node("Where", [less, g.const("minus", -1, np.int32), m])
    y = g.node("Cast", [w], to=TensorProto.FLOAT)
    model = g.model(y, less)
    x = np.random.default_rng(SEED).integers(-20, 20, size=(4, 5)).astype(np.int32)
    module = load_model(model)
    got = run_float(module, {"x": x})
    ref = onnxruntime_outputs(model, {"x": x})
    assert [a.dtype for a in got] == [np.float32, np.bool_]
    for g_out, r_out in zip(got, ref):
        assert np.array_equal(g_out, r_out)


def test_float16_graph_imports_runs_and_is_refused_by_quantize():
    g = Graph([2, 4], opset=17)
    g.inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", 4])]
    y = g.node("Relu", [g.node("Add", ["x", g.weight("b", (4,), dtype=np.float16)])])
    model = g.model(y)
    module = load_model(model)
    x = np.random.default_rng(SEED).standard_normal((3, 4)).astype(np.float16)
    (got,) = run_float(module, {"x": x})
    (ref,) = onnxruntime_outputs(model, {"x": x})
    assert got.dtype == np.float16 and np.array_equal(got, ref)

    from spintron_nn.passes.flows import quantize_and_lower

    with pytest.raises(SpintronError, match="quantize: .* f16 tensors; only float32 graphs"):
        quantize_and_lower(module, [x])


def test_castlike_and_dropout_mask_import():
    g = Graph([3, 3], opset=17, batch_symbolic=False)
    target = g.const("like", [0], np.float16)
    half = g.node("CastLike", ["x", target])
    y, mask = g.node("Dropout", ["x"], outputs=["y", "mask"]), "mask"
    model = g.model(half, y, mask)
    module = load_model(model)
    x = np.random.default_rng(SEED).standard_normal((3, 3)).astype(np.float32)
    got = run_float(module, {"x": x})
    ref = onnxruntime_outputs(model, {"x": x})
    assert [a.dtype for a in got] == [np.float16, np.float32, np.bool_]
    for g_out, r_out in zip(got, ref):
        assert np.array_equal(g_out, r_out)


@pytest.mark.parametrize("mask_reader", ["graph output", "node"])
def test_dropout_mask_of_a_dynamic_batch_is_refused_when_read(mask_reader):
    g = Graph([2, 3], opset=17)
    y = g.node("Dropout", ["x"], outputs=["y", "mask"])
    outputs = ["y", "mask"]
    if mask_reader == "node":
        outputs = [y, g.node("Cast", ["mask"], to=TensorProto.FLOAT)]
    with pytest.raises(SpintronError, match="mask output of a dynamic-batch Dropout"):
        load_model(g.model(*outputs))


@pytest.mark.parametrize("op, attrs", [("Dropout", {}), ("MaxPool", {"kernel_shape": [2, 2]})])
def test_an_unread_second_output_of_a_dynamic_batch_graph_is_ignored(op, attrs):
    """PyTorch exports keep Dropout's mask (and MaxPool's Indices) named though
    nothing reads them; the import refused such a Dropout for a dynamic batch."""
    g = Graph([2, 3, 4, 4], opset=17)
    y = g.node(op, ["x"], outputs=["y", "unread"], **attrs)
    g.run(g.node("Relu", [y]))
