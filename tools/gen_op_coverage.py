"""ONNX's own node tests through the frontend and the float executor.

``SpintronBackend`` is an ``onnx.backend.base.Backend``: ``prepare`` keeps the
model, ``run`` imports it with :func:`spintron_nn.frontend.load_model` and
executes it with :func:`spintron_nn.backends.float_exec.run_float`.  The
cases of ``onnx.backend.test.loader.load_model_tests(kind="node")`` whose
operator the frontend claims (``frontend.onnx_ops.claimed_ops``) are run and
compared with the expected outputs within ``1e-4 * (1 + max|ref|)``.

Running this file writes ``docs/op-coverage.md``: per op, passed / failed /
skipped cases with the reason for every case that does not pass.
``tests/test_onnx_node_tests.py`` asserts the same outcomes.

Two adapter rules, both needed because the ``nn`` dialect has import-time
parameters and carries numeric and bool tensors only:
* a graph input that the op takes as a parameter (Reshape's shape, Clip's
  bounds, axes: ``OpRule.const_inputs``) is bound to the case's value as an
  initializer before import; every other input stays run-time data, in its
  own type;
* cases with data of a type the dialect does not carry (strings, sequences,
  optionals) are skipped with that reason.
"""

from __future__ import annotations

import argparse
import re
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.backend.base import Backend, BackendRep

from spintron_nn.errors import SpintronError

TOLERANCE = 1e-4  # times (1 + max|ref|), the project's float tolerance
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "op-coverage.md"

# Cases of claimed ops that are not expected to pass, with the reason.
_TRAINING = "training mode: the compiler imports inference graphs only"
_RANDOM = "training-mode Dropout with a nonzero ratio drops at random: not an inference graph"
_INDICES = "MaxPool's Indices output is not imported (no use in inference)"
EXPLICIT_SKIPS: dict[str, str] = {
    "test_batchnorm_epsilon_training_mode": _TRAINING,
    "test_batchnorm_example_training_mode": _TRAINING,
    "test_training_dropout": _RANDOM,
    "test_training_dropout_default": _RANDOM,
    "test_training_dropout_default_mask": _RANDOM,
    "test_training_dropout_mask": _RANDOM,
    "test_maxpool_with_argmax_2d_precomputed_pads": _INDICES,
    "test_maxpool_with_argmax_2d_precomputed_strides": _INDICES,
}


# --------------------------------------------------------------------------
# the backend adapter
# --------------------------------------------------------------------------


def _const_positions(model: onnx.ModelProto) -> set[str]:
    """Graph values consumed where the op wants an import-time constant."""
    from spintron_nn.frontend.onnx_ops import lookup

    names = set()
    for node in model.graph.node:
        rule = lookup(node.domain, node.op_type)
        if rule is None:
            continue
        for index in rule.const_inputs:
            if index < len(node.input) and node.input[index]:
                names.add(node.input[index])
    return names


def bind_parameters(model: onnx.ModelProto, inputs: list[np.ndarray]):
    """``model`` with parameter inputs turned into initializers, and the
    inputs that remain run-time data."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initialized = {t.name for t in graph.initializer}
    graph_inputs = [i for i in graph.input if i.name not in initialized]
    parameters = _const_positions(model)
    kept, data = [], []
    for info, array in zip(graph_inputs, inputs, strict=True):
        array = np.asarray(array)
        if info.name in parameters:
            graph.initializer.append(numpy_helper.from_array(array, info.name))
        else:
            kept.append(info)
            data.append(array)
    if model.ir_version >= 4:  # before IR 4 initializers must stay graph inputs
        del graph.input[:]
        graph.input.extend(kept)
    return model, data


class SpintronRep(BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.model = model

    def run(self, inputs, **kwargs):
        from spintron_nn.backends.float_exec import run_float
        from spintron_nn.frontend import load_model

        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        model, data = bind_parameters(self.model, list(inputs))
        return run_float(load_model(model), data)


class SpintronBackend(Backend):
    @classmethod
    def prepare(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs) -> SpintronRep:
        return SpintronRep(model)

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **kwargs):
        return cls.prepare(model, device).run(inputs)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"


# --------------------------------------------------------------------------
# selecting and running cases
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    case: str
    op: str
    status: str  # "passed" | "failed" | "skipped"
    reason: str = ""


def _squash(name: str) -> str:
    return name.lower().replace("_", "")


def _primary_op(case, all_ops: list[str]) -> str | None:
    """The operator a node test is about: its only node, or for a function
    expansion the longest op name prefixing the case name."""
    nodes = [n for n in case.model.graph.node if n.op_type != "Constant"]
    if len(nodes) == 1 and "_expanded" not in case.name:
        return nodes[0].op_type
    stem = _squash(re.sub(r"^test_", "", case.name))
    stem = stem.removeprefix("aionnxml")
    best = None
    for op in all_ops:
        if stem.startswith(_squash(op)) and (best is None or len(op) > len(best)):
            best = op
    return best


def claimed_cases():
    """``(op, case)`` for every node test of a claimed operator."""
    from onnx.backend.test import loader

    from spintron_nn.frontend.onnx_ops import claimed_ops

    claimed = {op for _, op in claimed_ops()}
    all_ops = sorted({s.name for s in onnx.defs.get_all_schemas_with_history()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = loader.load_model_tests(kind="node")
    selected = []
    for case in cases:
        if case.model is None and case.model_dir is not None:
            case = case._replace(model=onnx.load(Path(case.model_dir) / "model.onnx"))
        op = _primary_op(case, all_ops)
        if op in claimed:
            selected.append((op, case))
    return selected


def _as_array(value):
    """A case's input or output as numpy; None for sequences and optionals."""
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value)  # strings are object arrays: _carried refuses them
    return None


def _carried(array: np.ndarray) -> bool:
    from spintron_nn.ir import dtypes

    if array.dtype == object and all(isinstance(v, (str, bytes)) for v in array.flat):
        return False

    try:
        dtypes.element_type(array.dtype)
    except dtypes.UnsupportedElementType:
        return False
    return True


def _type_label(array: np.ndarray) -> str:
    return "string" if array.dtype == object else str(array.dtype)


def _categorical_skip(case) -> str | None:
    """Whole families of cases outside what the nn dialect carries, with the
    reason: ops the frontend does not claim, strings, sequences, optionals."""
    from spintron_nn.frontend.onnx_ops import claimed_ops

    from spintron_nn.frontend.shape_folding import EVALUATORS

    claimed = {op for _, op in claimed_ops()}
    foreign = sorted({n.op_type for n in case.model.graph.node} - claimed - set(EVALUATORS) - {"Shape"})
    if foreign:
        return f"function expansion uses unclaimed ops {', '.join(foreign)}"
    for inputs, outputs in case.data_sets or []:
        for value in inputs:
            array = _as_array(value)
            if array is None:
                return "sequence or optional input"
            if not _carried(array):
                return f"{_type_label(array)} data: the nn dialect carries numeric and bool tensors only"
        for value in outputs:
            array = _as_array(value)
            if array is None:
                return "sequence or optional output"
            if not _carried(array):
                return f"{_type_label(array)} result: the nn dialect carries numeric and bool tensors only"
    return None


def _compare(outputs: list[np.ndarray], expected: list[np.ndarray]) -> str | None:
    if len(outputs) != len(expected):
        return f"{len(outputs)} outputs, expected {len(expected)}"
    for index, (got, ref) in enumerate(zip(outputs, expected)):
        ref = np.asarray(ref)
        got = np.asarray(got)
        if got.shape != ref.shape:
            return f"output {index}: shape {list(got.shape)}, expected {list(ref.shape)}"
        if got.dtype != ref.dtype:
            return f"output {index}: dtype {got.dtype}, expected {ref.dtype}"
        if ref.dtype.kind in "iub":
            if not np.array_equal(got.astype(np.int64), ref.astype(np.int64)):
                return f"output {index}: integer values differ"
            continue
        ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
        if not np.array_equal(np.isnan(ref64), np.isnan(got64)):
            return f"output {index}: NaN positions differ"
        infinite = np.isinf(ref64)
        if not np.array_equal(ref64[infinite], got64[infinite]):
            return f"output {index}: infinities differ"
        finite = np.isfinite(ref64)
        bound = TOLERANCE * (1.0 + (np.abs(ref64[finite]).max() if finite.any() else 0.0))
        error = np.abs(ref64[finite] - got64[finite]).max() if finite.any() else 0.0
        if not error <= bound:
            return f"output {index}: max error {error:.3g} > {bound:.3g}"
    return None


def run_case(op: str, case) -> Outcome:
    if case.name in EXPLICIT_SKIPS:
        return Outcome(case.name, op, "skipped", EXPLICIT_SKIPS[case.name])
    reason = _categorical_skip(case)
    if reason:
        return Outcome(case.name, op, "skipped", reason)
    rep = SpintronBackend.prepare(case.model)
    for inputs, expected in case.data_sets:
        inputs = [_as_array(v) for v in inputs]
        expected = [_as_array(v) for v in expected]
        try:
            outputs = rep.run(inputs)
        except SpintronError as exc:
            return Outcome(case.name, op, "failed", " ".join(str(exc).split()))
        except Exception as exc:  # a bug in this project: record it, keep going
            message = " ".join(str(exc).split())
            return Outcome(case.name, op, "failed", f"internal error {type(exc).__name__}: {message}")
        mismatch = _compare(outputs, list(expected))
        if mismatch:
            return Outcome(case.name, op, "failed", mismatch)
    return Outcome(case.name, op, "passed")


def run_all() -> list[Outcome]:
    return [run_case(op, case) for op, case in claimed_cases()]


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------


def render(outcomes: list[Outcome]) -> str:
    by_op: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_op[outcome.op].append(outcome)
    totals = Counter(o.status for o in outcomes)
    counted = totals["passed"] + totals["failed"] + totals["skipped"]
    lines = [
        "# ONNX node-test coverage",
        "",
        "Generated by `python -m spintron_nn.tools.gen_op_coverage` (do not edit).",
        "Every case of `onnx.backend.test.loader.load_model_tests(kind=\"node\")` whose",
        "operator the frontend claims is imported with `frontend.load_model` and run",
        "with the float executor; outputs must match within `1e-4 * (1 + max|ref|)`.",
        f"onnx {onnx.__version__}.",
        "",
        f"**{totals['passed']} of {counted} cases pass "
        f"({100.0 * totals['passed'] / max(counted, 1):.1f} %)**, "
        f"{totals['failed']} fail, {totals['skipped']} are skipped; "
        f"{100.0 * totals['passed'] / max(totals['passed'] + totals['failed'], 1):.1f} % "
        "of the cases not skipped pass.",
        "",
        "| op | passed | failed | skipped |",
        "|---|---:|---:|---:|",
    ]
    for op in sorted(by_op):
        count = Counter(o.status for o in by_op[op])
        lines.append(f"| {op} | {count['passed']} | {count['failed']} | {count['skipped']} |")
    lines += ["", "## Cases that do not pass", ""]
    for op in sorted(by_op):
        rest = [o for o in by_op[op] if o.status != "passed"]
        if not rest:
            continue
        lines.append(f"### {op}")
        lines.append("")
        for outcome in sorted(rest, key=lambda o: o.case):
            lines.append(f"- `{outcome.case}`: {outcome.status}: {outcome.reason}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(DOC_PATH), help="markdown file to write")
    args = parser.parse_args(argv)
    text = render(run_all())
    Path(args.output).write_text(text)
    print(text.split("\n\n")[2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
