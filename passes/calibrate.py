"""``calibrate{data=PATH percentile=100}``: record activation ranges of the float graph.

Runs the ``nn`` graph in float (``backends.float_exec.run_float``) on
calibration inputs and writes, as discardable attributes:

* ``spin.range = array<f64: lo, hi>`` on every op producing a float tensor;
* ``spin.input_ranges = array<f64: lo0, hi0, lo1, hi1, ...>`` on ``@main``;
* ``spin.calibration_input<i> = #nn.weight<...>`` on ``@main``: the first
  calibration items of input ``i`` (float32, at most ``SAMPLE_BUDGET``
  numbers per input and ``MAX_SAMPLE_ITEMS`` items, whole batches of a
  fixed-batch model).  ``tile-crossbars`` runs them through the quantized
  network to choose each tile's ADC shift (docs/semantics.md section 5).

``percentile=100`` records min/max; ``p < 100`` records the ``(100-p)``-th and
``p``-th percentiles (of a seeded subsample of at most ``PERCENTILE_SAMPLES``
values per tensor).  Without ``data`` the pass warns and calibrates on
``SYNTHETIC_ITEMS`` standard-normal inputs (seed 0): a stand-in that keeps the
flow runnable, not a substitute for real data.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, ModuleOp, TensorType, f64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from spintron_nn.errors import SpintronError
from spintron_nn.ir.module_info import fixed_batch, input_names, main_function
from spintron_nn.ir.weights import WeightAttr, WeightBlob
from spintron_nn.passes.graph_utils import require_nn_graph

RANGE_ATTR = "spin.range"
INPUT_RANGES_ATTR = "spin.input_ranges"
SAMPLE_ATTR = "spin.calibration_input"  # + the input's index
SAMPLE_BUDGET = 1 << 18
MAX_SAMPLE_ITEMS = 64
PERCENTILE_SAMPLES = 100_000
SYNTHETIC_ITEMS = 32
CHUNK_ITEMS = 64


def load_calibration_file(path: str | Path, names: Sequence[str]) -> list[np.ndarray]:
    """Inputs from an ``.npy`` (one input) or an ``.npz`` keyed by input name.

    The CLI's reader, so ``--calibration`` and ``calibrate{data=...}`` accept
    the same files (it lives in tools/ and refuses pickles)."""
    from spintron_nn.array_files import load_arrays

    return load_arrays(path, list(names))


def synthetic_inputs(main: func.FuncOp) -> list[np.ndarray]:
    """SYNTHETIC_ITEMS standard-normal items per input (rounded up to whole
    batches of a fixed-batch model), seed 0."""
    rng = np.random.default_rng(0)
    batch = fixed_batch(main)
    items = SYNTHETIC_ITEMS if batch is None else batch * -(-SYNTHETIC_ITEMS // batch)
    arrays = []
    for typ in main.function_type.inputs.data:
        assert isinstance(typ, TensorType)
        shape = [items, *typ.get_shape()[1:]]
        arrays.append(rng.standard_normal(shape).astype(np.float32))
    return arrays


class _RangeStats:
    """Running min/max, or a bounded seeded subsample for percentiles."""

    def __init__(self, percentile: float, rng: np.random.Generator):
        self.percentile, self.rng = percentile, rng
        self.lo, self.hi = np.inf, -np.inf
        self.samples: list[np.ndarray] = []

    def add(self, array: np.ndarray) -> None:
        flat = np.asarray(array, dtype=np.float64).ravel()
        flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            return
        if self.percentile >= 100.0:
            self.lo, self.hi = min(self.lo, flat.min()), max(self.hi, flat.max())
            return
        if flat.size > PERCENTILE_SAMPLES:
            flat = self.rng.choice(flat, PERCENTILE_SAMPLES, replace=False)
        self.samples.append(flat)

    def range(self) -> tuple[float, float]:
        if self.percentile < 100.0 and self.samples:
            values = np.concatenate(self.samples)
            return (
                float(np.percentile(values, 100.0 - self.percentile)),
                float(np.percentile(values, self.percentile)),
            )
        if self.lo > self.hi:  # nothing finite was seen
            return 0.0, 0.0
        return float(self.lo), float(self.hi)


def _range_attr(values: Sequence[float]) -> DenseArrayBase:
    return DenseArrayBase.from_list(f64, [float(v) for v in values])


def read_range(op: Operation) -> tuple[float, float] | None:
    attr = op.attributes.get(RANGE_ATTR)
    if attr is None:
        return None
    lo, hi = attr.get_values()
    return lo, hi


def _sample_items(inputs: Sequence[np.ndarray], batch: int | None) -> int:
    item_size = max(int(np.prod(a.shape[1:])) for a in inputs)
    items = int(np.clip(SAMPLE_BUDGET // max(item_size, 1), 1, MAX_SAMPLE_ITEMS))
    return items if batch is None else batch * max(1, items // batch)


def calibration_sample(main: func.FuncOp) -> list[np.ndarray] | None:
    """The calibration items ``calibrate`` kept on ``@main``, one array per input."""
    found = [main.attributes.get(f"{SAMPLE_ATTR}{i}") for i in range(len(main.args))]
    return None if any(a is None for a in found) else [a.array for a in found]


def check_batched_inputs(module: ModuleOp) -> None:
    """Every input must have a leading (batch) dimension: calibration, the
    quantized simulation and the RTL / SPICE backends split their inputs
    into items along it.  A 0-d (scalar) input has none, and would fail
    deep in one of them; the float backend runs such a model as it is."""
    types = main_function(module).function_type.inputs.data
    for name, typ in zip(input_names(module), types, strict=True):
        if isinstance(typ, TensorType) and not typ.get_shape():
            raise SpintronError(
                f"calibrate: input '{name}' is a scalar (0-d tensor); mapping onto crossbars needs a leading "
                "batch dimension on every input: give it shape [N] (or [1]) in the model"
            )


def calibration_items(names: Sequence[str], inputs: Sequence[np.ndarray]) -> int:
    """The number of calibration items: the leading dimension, which every
    input must share (the float graph runs them together, chunk by chunk)."""
    from spintron_nn.array_files import check_one_batch

    check_one_batch({name: len(array) for name, array in zip(names, inputs, strict=True)},
                    what="calibration input")
    return len(inputs[0])


def calibrate_module(
    module: ModuleOp, inputs: Sequence[np.ndarray] | None, *, percentile: float = 100.0
) -> None:
    """Annotate ``module`` in place (see the module docstring)."""
    from spintron_nn.backends.float_exec import run_float

    if not 50.0 < percentile <= 100.0:
        raise SpintronError(f"calibrate: percentile must be in (50, 100], got {percentile}")
    main = main_function(module)
    check_batched_inputs(module)
    if inputs is None:
        warnings.warn(
            "calibrate: no calibration data given; using synthetic standard-normal inputs "
            "(seed 0): ranges and ADC shifts will not reflect real data",
            stacklevel=2,
        )
        inputs = synthetic_inputs(main)
    inputs = [np.asarray(a, dtype=np.float32) for a in inputs]
    if len(inputs) != len(main.args):
        raise SpintronError(f"calibrate: the model takes {len(main.args)} input(s), got {len(inputs)} array(s)")
    total = calibration_items(input_names(module), inputs)
    for name, array in zip(input_names(module), inputs, strict=True):
        if array.size and array.dtype.kind == "f" and float(array.min()) == float(array.max()):
            # e.g. np.zeros by mistake: every range after it is the range of one point
            warnings.warn(f"calibrate: calibration input '{name}' is constant (every value {float(array.min()):g}); "
                          "the ranges and ADC shifts will not reflect real data", stacklevel=2)
    rng = np.random.default_rng(0)
    stats: dict[SSAValue, _RangeStats] = {}

    def record(value: SSAValue, array: np.ndarray) -> None:
        stats.setdefault(value, _RangeStats(percentile, rng)).add(array)

    def observer(op: Operation, results: Sequence[np.ndarray]) -> None:
        if op.name == "nn.constant":
            return
        for value, array in zip(op.results, results):
            if np.asarray(array).dtype.kind == "f":
                record(value, array)

    batch = fixed_batch(main)
    if batch is not None and (total < batch or total % batch):
        raise SpintronError(f"calibrate: the model has a fixed batch of {batch}; give a multiple of it "
                            f"({total} calibration items)")
    step = CHUNK_ITEMS if batch is None else batch
    for start in range(0, total, step):
        chunk = [a[start : start + step] for a in inputs]
        for arg, array in zip(main.args, chunk):
            record(arg, array)
        run_float(module, chunk, observer=observer)

    main.attributes[INPUT_RANGES_ATTR] = _range_attr(
        [v for arg in main.args for v in stats[arg].range()]
    )
    for op in main.walk():
        if op.name == "nn.constant" or len(op.results) != 1 or op.results[0] not in stats:
            continue
        op.attributes[RANGE_ATTR] = _range_attr(stats[op.results[0]].range())
    items = _sample_items(inputs, batch)
    for index, array in enumerate(inputs):
        blob = WeightBlob(f"spin.calibration.input{index}", array[:items])
        main.attributes[f"{SAMPLE_ATTR}{index}"] = WeightAttr(blob)


@dataclass(frozen=True)
class CalibratePass(ModulePass):
    """Run the float graph on calibration inputs and record activation ranges."""

    name = "calibrate"

    data: str | None = None
    percentile: float = 100.0

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        require_nn_graph(op, self.name)
        inputs = None
        if self.data:
            inputs = load_calibration_file(self.data, input_names(op))
        calibrate_module(op, inputs, percentile=float(self.percentile))
