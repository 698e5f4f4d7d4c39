"""PyTorch models through both exporters, checked against onnxruntime.

The models were written for these tests, not taken from the op tests: an
MLP, a CNN with BatchNorm, pooling, padding and stride, a depthwise block,
a residual add and a concat.  Each is exported with ``dynamo=False`` and
``dynamo=True``, imported, run with a batch size other than the example's,
and compared with onnxruntime on the exported model and with torch itself.
"""

from __future__ import annotations

import textwrap

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from spintron_nn.backends.float_exec import run_float
from spintron_nn.errors import SpintronError
from spintron_nn.frontend import load_model
from spintron_nn.frontend.torch import export_to_onnx
from spintron_nn.ir.io import print_module


def close(got: np.ndarray, ref: np.ndarray) -> bool:
    bound = 1e-4 * (1.0 + float(np.abs(ref).max()))
    return got.shape == ref.shape and float(np.abs(got - ref).max()) <= bound


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10), nn.Tanh())

    def forward(self, x):
        return self.net(x)


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, (3, 2), padding=(1, 0), bias=False)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = nn.functional.max_pool2d(x, 2, ceil_mode=True)
        x = self.pool(torch.sigmoid(self.conv2(x)))
        return torch.softmax(self.fc(x.flatten(1)), dim=1)


class Depthwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.pw = nn.Conv2d(4, 6, 1)
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x):
        x = nn.functional.relu6(self.dw(x))
        return nn.functional.adaptive_avg_pool2d(self.bn(self.pw(x)), 1).flatten(1)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        y = nn.functional.leaky_relu(self.a(x), 0.1)
        return torch.relu(self.b(y) + x)


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = nn.Linear(6, 4)
        self.right = nn.Linear(6, 3)
        self.head = nn.Linear(7, 2)

    def forward(self, x):
        both = torch.cat([torch.relu(self.left(x)), torch.sigmoid(self.right(x))], dim=1)
        return torch.log_softmax(self.head(both), dim=-1)


MODELS = {
    "mlp": (MLP, (2, 20)),
    "cnn": (CNN, (2, 3, 16, 16)),
    "depthwise": (Depthwise, (2, 4, 8, 8)),
    "residual": (Residual, (2, 4, 6, 6)),
    "concat": (Concat, (2, 6)),
}


def build(name: str) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(7)
    cls, shape = MODELS[name]
    module = cls().eval()
    for m in module.modules():  # non-trivial BatchNorm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return module, torch.randn(shape)


def other_batch(example: torch.Tensor, batch: int = 5) -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.standard_normal((batch, *example.shape[1:])).astype(np.float32)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_export_import_matches_onnxruntime_and_torch(name, dynamo):
    module, example = build(name)
    proto = export_to_onnx(module, example, dynamo=dynamo)
    ir = load_model(proto)
    assert "tensor<?x" in print_module(ir).split("\n")[1]  # dynamic batch in @main
    x = other_batch(example)
    (got,) = run_float(ir, [x])
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (ref,) = session.run(None, {session.get_inputs()[0].name: x})
    assert close(got, ref), float(np.abs(got - ref).max())
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    assert close(got, expected), float(np.abs(got - expected).max())


@pytest.mark.parametrize(
    "dynamo,opset",
    [(False, opset) for opset in range(11, 22)] + [(True, 18), (True, 21)],
)
def test_every_opset_from_11_to_21(dynamo, opset):
    module, example = build("cnn")
    proto = export_to_onnx(module, example, dynamo=dynamo, opset=opset)
    assert any(e.domain == "" and e.version == opset for e in proto.opset_import)
    x = other_batch(example, 3)
    (got,) = run_float(load_model(proto), [x])
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (ref,) = session.run(None, {session.get_inputs()[0].name: x})
    assert close(got, ref)


def test_load_model_takes_a_module_and_example(tmp_path):
    module, example = build("mlp")
    ir = load_model(module, example_input=example)
    x = other_batch(example, 3)
    (got,) = run_float(ir, [x])
    with torch.no_grad():
        assert close(got, module(torch.from_numpy(x)).numpy())


def test_module_without_example_is_an_error():
    module, _ = build("mlp")
    with pytest.raises(SpintronError, match="example input"):
        load_model(module)


def test_external_data_model_from_disk(tmp_path):
    module, example = build("cnn")
    proto = export_to_onnx(module, example)
    path = tmp_path / "cnn.onnx"
    onnx.save_model(
        proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
        location="cnn.weights", size_threshold=0,
    )
    assert (tmp_path / "cnn.weights").stat().st_size > 1000
    ir = load_model(path)
    x = other_batch(example, 4)
    (got,) = run_float(ir, [x])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (ref,) = session.run(None, {session.get_inputs()[0].name: x})
    assert close(got, ref)


ARCHITECTURE = textwrap.dedent(
    """
    import torch
    from torch import nn

    def build_model():
        torch.manual_seed(3)
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))

    def example_input():
        return torch.zeros(1, 8)
    """
)


def test_python_file_with_build_model(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(ARCHITECTURE)
    ir = load_model(path)
    namespace: dict = {}
    exec(ARCHITECTURE, namespace)
    reference = namespace["build_model"]().eval()
    x = other_batch(torch.zeros(1, 8), 3)
    (got,) = run_float(ir, [x])
    with torch.no_grad():
        assert close(got, reference(torch.from_numpy(x)).numpy())


@pytest.mark.parametrize("wrapped", [False, True], ids=["state_dict", "checkpoint"])
def test_checkpoint_with_architecture(tmp_path, wrapped):
    arch = tmp_path / "model.py"
    arch.write_text(ARCHITECTURE)
    torch.manual_seed(99)  # weights different from build_model()'s
    trained = torch.nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)).eval()
    state = trained.state_dict()
    torch.save({"state_dict": state, "epoch": 3} if wrapped else state, tmp_path / "w.pt")
    ir = load_model(tmp_path / "w.pt", architecture=arch)
    x = other_batch(torch.zeros(1, 8), 3)
    (got,) = run_float(ir, [x])
    with torch.no_grad():
        assert close(got, trained(torch.from_numpy(x)).numpy())


def test_checkpoint_without_architecture_is_an_error(tmp_path):
    torch.save(MLP().state_dict(), tmp_path / "w.pt")
    with pytest.raises(SpintronError, match="architecture"):
        load_model(tmp_path / "w.pt")


def test_checkpoint_that_does_not_fit_the_architecture(tmp_path):
    arch = tmp_path / "model.py"
    arch.write_text(ARCHITECTURE)
    torch.save(MLP().state_dict(), tmp_path / "w.pt")
    with pytest.raises(SpintronError, match="do not fit the architecture"):
        load_model(tmp_path / "w.pt", architecture=arch)


def test_python_file_missing_functions(tmp_path):
    path = tmp_path / "model.py"
    path.write_text("x = 1\n")
    with pytest.raises(SpintronError, match="build_model"):
        load_model(path)


def test_an_exception_in_the_users_file_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "model.py"
    path.write_text("def build_model():\n    raise ValueError('no weights here')\n\ndef example_input():\n    return None\n")
    with pytest.raises(SpintronError, match=r"build_model\(\) raised ValueError: no weights here \(line 2\)"):
        load_model(path)


def test_a_module_torch_cannot_export_is_a_spintron_error():
    class Unexportable(nn.Module):
        def forward(self, x):
            return torch.cummax(x, 1)[0]  # no ONNX symbolic for aten::cummax

    with pytest.raises(SpintronError, match="torch could not export.*cummax"):
        load_model(Unexportable(), example_input=torch.zeros(1, 3))


def test_several_inputs_take_forwards_parameter_names_and_calibration_gives_the_example():
    """Walkthrough: inputs were named input_0, input_1 (an .npz had to use those names), and a
    module compiled with calibration data still asked for an example input."""
    import spintron_nn as sn

    class Fusion(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 3), torch.nn.Linear(5, 3)

        def forward(self, image, audio):
            return self.a(image) + self.b(audio)

    rng = np.random.default_rng(0)
    calibration = [rng.standard_normal((16, 4)).astype(np.float32), rng.standard_normal((16, 5)).astype(np.float32)]
    torch.manual_seed(0)
    model = Fusion().eval()
    design = sn.compile(model, sn.CompileConfig(targets=("ir", "sim")), calibration=calibration)
    assert design.input_names == ["image", "audio"]
    got = design.run({"image": calibration[0], "audio": calibration[1]}, backend="float")[0]
    with torch.no_grad():
        expected = model(*(torch.from_numpy(a) for a in calibration)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    by_name = {"audio": calibration[1], "image": calibration[0]}  # a dict or an .npz keyed by those names
    assert sn.compile(model, sn.CompileConfig(targets=("ir",)), calibration=by_name).input_names == ["image", "audio"]


def test_a_parameter_named_output_does_not_collide_with_the_output():
    """Review: forward(self, output, y) made torch rename the input 'output.1'."""
    import spintron_nn as sn

    class Named(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 3), torch.nn.Linear(5, 3)

        def forward(self, output, y):
            return self.a(output) + self.b(y)

    rng = np.random.default_rng(1)
    data = {"output": rng.standard_normal((8, 4)).astype(np.float32), "y": rng.standard_normal((8, 5)).astype(np.float32)}
    design = sn.compile(Named().eval(), sn.CompileConfig(targets=("ir", "sim")), calibration=data)
    assert design.input_names == ["output", "y"] and design.output_names == ["result"]
    assert design.run(data, backend="sim")[0].shape == (8, 3)
