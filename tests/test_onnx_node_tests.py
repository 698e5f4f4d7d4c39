"""ONNX's own node tests for every operator the frontend claims.

Each case is imported with ``frontend.load_model`` and run by the float
executor through the ``onnx.backend.base.Backend`` adapter in
``tools/gen_op_coverage.py``; the expected outputs are onnx's reference
values.  A case must pass unless it is in the adapter's explicit skip list
or a skipped family (non-float32 data, function expansions using ops the
frontend does not claim), each with its reason.
"""

from __future__ import annotations

import pytest

from spintron_nn.tools import gen_op_coverage as coverage

CASES = coverage.claimed_cases()


@pytest.mark.parametrize("op,case", CASES, ids=[case.name for _, case in CASES])
def test_node_case(op, case):
    outcome = coverage.run_case(op, case)
    if outcome.status == "skipped":
        pytest.skip(outcome.reason)
    assert outcome.status == "passed", outcome.reason


# onnx's Cast cases all cast to or from types the dialect does not carry
# (float16, double, float8, strings, ...); Cast float->float and
# int64->int64 are checked by the skl2onnx tests in test_frontend_sklearn.py.
CHECKED_ELSEWHERE = {"Cast"}


def test_every_claimed_op_has_passing_cases():
    """A claim with no passing onnx case would be a claim nothing checks."""
    from spintron_nn.frontend.onnx_ops import claimed_ops

    passing = {op for op, case in CASES if coverage.run_case(op, case).status == "passed"}
    claimed = {op for _, op in claimed_ops()}
    assert claimed - passing - CHECKED_ELSEWHERE == set()


def test_adapter_is_an_onnx_backend():
    import numpy as np
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    (out,) = coverage.SpintronBackend.run_model(model, [np.array([-1.0, 2.0], np.float32)])
    assert out.tolist() == [0.0, 2.0]
    assert coverage.SpintronBackend.supports_device("CPU")
