"""Malformed and hostile models through the real CLI.

Every case must end with exit status 2, one line ``spintronc: error: <file>:``
on stderr, no traceback, and nothing left behind (no bundle, no output file,
no temporary folder), for both ``spintronc compile`` and ``spintronc run``.
External-data escapes point at FIFOs where possible: reading one would block,
so a refusal that comes *after* a read shows up as a timeout, not a pass.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.errors import SpintronError
from spintron_nn.frontend import load_model

RNG = np.random.default_rng(20261130)
PROGRESS_PREFIX = "["  # compile's progress lines: "[   0.0s] import"


# --------------------------------------------------------------------------
# model builders
# --------------------------------------------------------------------------


def gemm_model(weight: TensorProto | None = None, *, op: str = "Gemm", extra_inputs=()) -> onnx.ModelProto:
    """x[N,4] -> op(x, w[3,4], transB) -> y[N,3]."""
    if weight is None:
        weight = numpy_helper.from_array(RNG.standard_normal((3, 4)).astype(np.float32), "w")
    attrs = {"transB": 1} if op == "Gemm" else {}
    node = helper.make_node(op, ["x", "w", *extra_inputs], ["y"], name="fc", **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def external_weight(location: str, dims=(3, 4)) -> TensorProto:
    tensor = TensorProto()
    tensor.name = "w"
    tensor.data_type = TensorProto.FLOAT
    tensor.dims.extend(dims)
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    tensor.data_location = TensorProto.EXTERNAL
    return tensor


def save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


class Marker:
    """Unpickling this creates ``path``: proof that code ran."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


# --------------------------------------------------------------------------
# the cases: each returns the model path (inside tmp/"model")
# --------------------------------------------------------------------------


def case_empty(tmp: Path) -> Path:
    path = tmp / "model" / "empty.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    return path


def case_truncated(tmp: Path) -> Path:
    data = gemm_model().SerializeToString()
    path = tmp / "model" / "truncated.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(data[: len(data) // 2])
    return path


def case_random_bytes(tmp: Path) -> Path:
    path = tmp / "model" / "random.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(RNG.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return path


def case_unsupported_op(tmp: Path) -> Path:
    node = helper.make_node("Sin", ["x"], ["y"], name="sin1")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return save(model, tmp / "model" / "unsupported.onnx")


def case_contradicting_initializer(tmp: Path) -> Path:
    weight = numpy_helper.from_array(np.ones((3, 5), np.float32), "w")  # x has 4 features
    return save(gemm_model(weight), tmp / "model" / "contradiction.onnx")


def case_dangling_input(tmp: Path) -> Path:
    return save(gemm_model(op="Gemm", extra_inputs=["ghost"]), tmp / "model" / "dangling.onnx")


def case_input_without_shape(tmp: Path) -> Path:
    model = gemm_model()
    model.graph.input[0].type.tensor_type.ClearField("shape")
    return save(model, tmp / "model" / "input_without_shape.onnx")


def case_output_without_inferable_shape(tmp: Path) -> Path:
    """Reshape to a runtime shape of unknown length: no rank for 'y'."""
    model = gemm_model()
    model.graph.node[0].output[0] = "h"
    model.graph.node.append(helper.make_node("Reshape", ["h", "s"], ["y"], name="reshape"))
    model.graph.input.append(helper.make_tensor_value_info("s", TensorProto.INT64, ["K"]))
    model.graph.output[0].type.tensor_type.ClearField("shape")
    return save(model, tmp / "model" / "output_without_shape.onnx")


def _fifo(tmp: Path) -> Path:
    fifo = tmp / "outside" / "secret.bin"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    return fifo


def case_external_dotdot(tmp: Path) -> Path:
    _fifo(tmp)
    return save(gemm_model(external_weight("../outside/secret.bin")), tmp / "model" / "dotdot.onnx")


def case_external_absolute(tmp: Path) -> Path:
    fifo = _fifo(tmp)
    return save(gemm_model(external_weight(str(fifo))), tmp / "model" / "absolute.onnx")


def case_external_symlink(tmp: Path) -> Path:
    fifo = _fifo(tmp)
    path = save(gemm_model(external_weight("w.bin")), tmp / "model" / "symlink.onnx")
    (path.parent / "w.bin").symlink_to(fifo)
    return path


def case_external_hardlink(tmp: Path) -> Path:
    secret = tmp / "outside" / "secret.bin"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(np.ones((3, 4), np.float32).tobytes())
    path = save(gemm_model(external_weight("w.bin")), tmp / "model" / "hardlink.onnx")
    os.link(secret, path.parent / "w.bin")
    return path


def case_absurd_size(tmp: Path) -> Path:
    path = save(
        gemm_model(external_weight("w.bin", dims=(3, 1 << 40))), tmp / "model" / "absurd.onnx"
    )
    (path.parent / "w.bin").write_bytes(b"\0" * 48)
    return path


def case_pickle_pt(tmp: Path) -> Path:
    path = tmp / "model" / "weights.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(Marker(tmp / "marker")))
    return path


def case_torch_saved_pickle_pt(tmp: Path) -> Path:
    import torch

    path = tmp / "model" / "checkpoint.pt"
    path.parent.mkdir(parents=True)
    torch.save({"state_dict": Marker(tmp / "marker")}, path)
    return path


def case_unexportable_py(tmp: Path) -> Path:
    path = tmp / "model" / "cummax.py"
    path.parent.mkdir(parents=True)
    path.write_text(
        "import torch\n"
        "class M(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.cummax(x, 1)[0]\n"
        "def build_model():\n    return M()\n"
        "def example_input():\n    return torch.zeros(1, 4)\n"
    )
    return path


def case_raising_py(tmp: Path) -> Path:
    path = tmp / "model" / "broken.py"
    path.parent.mkdir(parents=True)
    path.write_text("def build_model():\n    return 1 / 0\n\ndef example_input():\n    return None\n")
    return path


CASES = {
    "empty": (case_empty, "empty"),
    "truncated": (case_truncated, "not a valid ONNX model"),
    "random_bytes": (case_random_bytes, "not a valid ONNX model"),
    "unsupported_op": (case_unsupported_op, "node 'sin1' (Sin, domain ai.onnx, opset 13): unsupported"),
    "contradicting_initializer": (case_contradicting_initializer, "fc"),
    "dangling_input": (case_dangling_input, "ghost"),
    # the checker alone said "Field 'shape' of 'type' is required but missing."
    "input_without_shape": (case_input_without_shape, "graph input 'x' has no shape: give its dimensions"),
    "output_without_shape": (
        case_output_without_inferable_shape, "graph output 'y' has no shape: onnx shape inference cannot"),
    "external_dotdot": (case_external_dotdot, "leaves the model's folder"),
    "external_absolute": (case_external_absolute, "absolute path"),
    "external_symlink": (case_external_symlink, "symbolic link"),
    "external_hardlink": (case_external_hardlink, "hard link"),
    "absurd_size": (case_absurd_size, "more than the"),
    "pickle_pt": (case_pickle_pt, "not a weights-only PyTorch checkpoint"),
    "torch_saved_pickle_pt": (case_torch_saved_pickle_pt, "not a weights-only PyTorch checkpoint"),
    "unexportable_py": (case_unexportable_py, "torch could not export the model to ONNX"),
    "raising_py": (case_raising_py, "build_model() raised ZeroDivisionError: division by zero (line 2)"),
}


# --------------------------------------------------------------------------
# the contract
# --------------------------------------------------------------------------


def spintronc_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The installed CLI in a fresh process, exactly as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "spintron_nn.tools.spintronc", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def spintronc(capfd, *args: str) -> subprocess.CompletedProcess:
    """The CLI's ``main`` in this process (a new interpreter per case would
    cost a second each).  An exception other than the contract's would
    propagate and fail the test, as a traceback would in a real run."""
    from spintron_nn.tools.spintronc import main

    capfd.readouterr()
    status = main(list(args))
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(args, status, out, err)


def files_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


def assert_refused(result: subprocess.CompletedProcess, model: Path, expected: str, *, progress_ok=False):
    lines = result.stderr.splitlines()
    if progress_ok:
        lines = [line for line in lines if not line.startswith(PROGRESS_PREFIX)]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"spintronc: error: {model}:"), lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize("name", sorted(CASES))
def test_compile_refuses(name, tmp_path, capfd):
    make, expected = CASES[name]
    model = make(tmp_path)
    before = files_under(tmp_path)
    result = spintronc(capfd, "compile", str(model), "-o", str(tmp_path / "out"), "--targets", "ir", "-q")
    assert_refused(result, model, expected)
    assert files_under(tmp_path) == before  # no bundle, no temporary folder, no marker


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_refuses(name, tmp_path, capfd):
    make, expected = CASES[name]
    model = make(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((1, 4), np.float32))
    before = files_under(tmp_path)
    result = spintronc(
        capfd, "run", str(model), "--input", str(tmp_path / "x.npy"),
        "--output", str(tmp_path / "y.npy"), "--backend", "float",
    )
    assert_refused(result, model, expected)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("name", ["random_bytes", "pickle_pt", "external_symlink", "unexportable_py"])
def test_real_process_compile_refuses(name, tmp_path):
    """End to end in a new interpreter, without -q: progress lines may come
    before the error, but there is exactly one error line."""
    make, expected = CASES[name]
    model = make(tmp_path)
    before = files_under(tmp_path)
    result = spintronc_process("compile", str(model), "-o", str(tmp_path / "out"), "--targets", "ir", cwd=tmp_path)
    assert_refused(result, model, expected, progress_ok=True)
    assert files_under(tmp_path) == before


def test_real_process_run_refuses(tmp_path):
    model = case_pickle_pt(tmp_path)
    np.save(tmp_path / "x.npy", np.zeros((1, 4), np.float32))
    before = files_under(tmp_path)
    result = spintronc_process(
        "run", str(model), "--input", "x.npy", "--output", "y.npy", "--backend", "float", cwd=tmp_path
    )
    assert_refused(result, model, "not a weights-only PyTorch checkpoint")
    assert files_under(tmp_path) == before


def test_debug_shows_the_traceback(tmp_path):
    model = case_empty(tmp_path)
    result = spintronc_process("--debug", "compile", str(model), "-o", str(tmp_path / "out"), "-q", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


# --------------------------------------------------------------------------
# the Python API gives the same refusals
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_model_refuses(name, tmp_path):
    make, expected = CASES[name]
    model = make(tmp_path)
    with pytest.raises(SpintronError) as info:
        load_model(model, architecture=tmp_path / "unused.py")
    assert expected in str(info.value)
    assert not (tmp_path / "marker").exists()


def peak_memory_of_refusal(model, match: str) -> int:
    """Bytes allocated at the peak while ``load_model`` refuses ``model``."""
    tracemalloc.start()
    try:
        with pytest.raises(SpintronError, match=match):
            load_model(model)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_absurd_size_is_refused_before_allocating(tmp_path):
    assert peak_memory_of_refusal(case_absurd_size(tmp_path), "more than the") < 200 * 2**20


def test_inline_tensor_whose_bytes_contradict_its_shape(tmp_path):
    weight = numpy_helper.from_array(np.ones((3, 4), np.float32), "w")
    weight.dims[1] = 400_000_000  # declares 4.8 GB, holds 48 bytes
    with pytest.raises(SpintronError, match="declares"):
        load_model(gemm_model(weight))


def test_constant_of_shape_of_absurd_size(tmp_path):
    shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "shape")
    graph = helper.make_graph(
        [
            helper.make_node("ConstantOfShape", ["shape"], ["big"], name="fill"),
            helper.make_node("Add", ["x", "big"], ["y"], name="add"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1 << 20, 1 << 20])],
        [shape],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert peak_memory_of_refusal(model, "fill") < 200 * 2**20


def test_external_data_inside_the_folder_loads(tmp_path):
    """The positive control for the escape cases: a plain file beside the model."""
    weights = RNG.standard_normal((3, 4)).astype(np.float32)
    path = save(gemm_model(external_weight("w.bin")), tmp_path / "model" / "ok.onnx")
    (path.parent / "w.bin").write_bytes(weights.tobytes())
    module = load_model(path)
    from spintron_nn.backends.float_exec import run_float

    x = RNG.standard_normal((2, 4)).astype(np.float32)
    (y,) = run_float(module, [x])
    np.testing.assert_allclose(y, x @ weights.T, rtol=1e-5, atol=1e-5)


def test_corrupted_models_fail_only_with_spintron_errors():
    """Seeded byte corruption of real models: each either imports or is
    refused with a SpintronError, never another exception (which the CLI
    would show as a traceback).  Found non-UTF-8 names and absurd opsets."""
    from spintron_nn.frontend.safety import parse_model_bytes

    example = Path(__file__).resolve().parent.parent / "examples" / "digits_mlp.onnx"
    sources = [example.read_bytes(), gemm_model().SerializeToString()]
    rng = np.random.default_rng(5)
    outcomes = {"imported": 0, "refused": 0}
    for trial in range(400):
        data = bytearray(sources[trial % 2])
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        try:
            load_model(parse_model_bytes(bytes(data), "corrupt.onnx"))
            outcomes["imported"] += 1
        except SpintronError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and outcomes["imported"] > 0  # both paths exercised


def test_model_file_beyond_protobufs_limit_is_not_read(tmp_path):
    path = tmp_path / "huge.onnx"
    with open(path, "wb") as f:
        f.truncate(3 << 30)  # sparse: no disk, but 3 GiB if read
    assert peak_memory_of_refusal(path, "2 GiB limit") < 200 * 2**20


IR_ONLY_OPTIONS = {
    "--weight-bits": "4", "--layer-weight-bits": "layer0=4", "--activation-bits": "4",
    "--layer-activation-bits": "layer0=4", "--layer-adc-bits": "layer0=4", "--output-bits": "4",
    "--input-bits": "4", "--signed-inputs": None, "--input-activity": "measured", "--grouped-tiling": "grid",
    "--cell-bits": "1", "--adc-bits": "4", "--crossbar": "64x64", "--mtj-config": "cfg.toml",
    "--parameters": "cmos.operand_bits=0",
}


@pytest.mark.filterwarnings("ignore:calibrate. no calibration data")
@pytest.mark.parametrize("flag", sorted(IR_ONLY_OPTIONS))
def test_options_of_the_mapped_design_are_refused_with_the_ir_target_alone(flag, tmp_path, capfd):
    """The float IR ignores crossbar options: giving one would do nothing, so it is an error naming it."""
    from spintron_nn.tools.commands.compile import _MAPPING_OPTIONS

    assert len(IR_ONLY_OPTIONS) == len(_MAPPING_OPTIONS)  # every such option is covered here
    (tmp_path / "cfg.toml").write_text("")
    onnx.save(gemm_model(), tmp_path / "m.onnx")
    value = IR_ONLY_OPTIONS[flag] if flag != "--mtj-config" else str(tmp_path / "cfg.toml")
    before = files_under(tmp_path)
    result = spintronc(capfd, "compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "out"), "--targets", "ir",
                       "-q", flag, *([value] if value is not None else []))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"spintronc: error: {flag} shapes the crossbar design"), result.stderr
    assert files_under(tmp_path) == before
    with_sim = spintronc(capfd, "compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "out"), "--targets", "ir,sim",
                         "-q", flag, *([value] if value is not None else []))
    assert "shapes the crossbar design" not in with_sim.stderr
