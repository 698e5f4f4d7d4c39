"""``spintron-opt``: pass listing, weights beside input and output, error contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spintron_nn.ir import io as ir_io
from spintron_nn.passes.pipeline import available_passes
from spintron_nn.tools.spintron_opt import main

FLOAT_PASSES = {
    # name -> the option lines --list-passes must show
    "canonicalize": [],
    "fold-constants": ["    max-elements: 'int' = 1048576"],
    "fold-batchnorm": ["    standalone: 'bool' = false"],
    "fuse-activations": [],
    "shape-inference": ["    batch: 'int | None' = none"],
}

IR = """\
builtin.module {
  func.func @main(%x: tensor<?x3xf32>) -> tensor<?x2xf32> {
    %w = "nn.constant"() <{value = #nn.weight<"fc.w">}> : () -> tensor<3x2xf32>
    %i = "nn.identity"(%x) : (tensor<?x3xf32>) -> tensor<?x3xf32>
    %y = "nn.matmul"(%i, %w) : (tensor<?x3xf32>, tensor<3x2xf32>) -> tensor<?x2xf32>
    %r = "nn.relu"(%y) : (tensor<?x2xf32>) -> tensor<?x2xf32>
    func.return %r : tensor<?x2xf32>
  }
}
"""


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.mlir"
    path.write_text(IR)
    weight = np.arange(6, dtype=np.float32).reshape(3, 2)
    ir_io.save_weights({"fc.w": weight}, ir_io.weights_path_for(path))
    return path


def test_list_passes_shows_every_registered_pass_with_its_options():
    # Through the console script, as a user would run it.
    result = subprocess.run(
        [sys.executable, "-m", "spintron_nn.tools.spintron_opt", "--list-passes"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    listed = {line.split(":")[0] for line in lines if not line.startswith(" ")}
    assert set(FLOAT_PASSES) <= listed
    assert set(available_passes()) == listed
    for name, options in FLOAT_PASSES.items():
        header = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
        assert len(lines[header]) > len(name) + 10  # a summary follows the name
        shown = []
        for line in lines[header + 1 :]:
            if not line.startswith(" "):
                break
            shown.append(line)
        assert shown == options


def test_output_file_gets_its_weights_beside_it(model, tmp_path, capsys):
    out = tmp_path / "out" / "opt.mlir"
    out.parent.mkdir()
    assert main([str(model), "-p", "canonicalize,fuse-activations", "-o", str(out)]) == 0
    text = out.read_text()
    assert "nn.identity" not in text and "nn.relu" not in text
    assert "clamp_min = 0.000000e+00 : f32" in text
    reloaded = ir_io.load_ir(out)  # reads out/opt.npz
    assert ir_io.print_module(reloaded) == text
    np.testing.assert_array_equal(
        ir_io.load_weights(ir_io.weights_path_for(out))["fc.w"],
        np.arange(6, dtype=np.float32).reshape(3, 2),
    )
    assert capsys.readouterr().out == ""


def test_stdin_with_explicit_weights(model, monkeypatch, capsys):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(IR))
    weights = str(ir_io.weights_path_for(model))
    assert main(["-", "--weights", weights, "-p", "shape-inference{batch=4}"]) == 0
    out = capsys.readouterr().out
    assert "func.func @main(%x: tensor<4x3xf32>) -> tensor<4x2xf32>" in out


def test_without_passes_the_text_is_printed_back_unchanged(model, capsys):
    assert main([str(model)]) == 0
    assert capsys.readouterr().out == IR


@pytest.mark.parametrize(
    "argv, message",
    [
        (["MODEL", "-p", "canonicalise"], "unknown pass 'canonicalise'"),
        (["MODEL", "-p", "fold-constants{"], "invalid pipeline 'fold-constants{'"),
        (["MODEL", "-p", "shape-inference{batch=0}"], "batch must be >= 1, got 0"),
        (["MISSING"], "cannot read"),
        ([], "no input file"),
    ],
)
def test_bad_usage_is_exit_2_with_a_diagnostic_and_no_output(
    argv, message, model, tmp_path, capsys
):
    out = tmp_path / "never.mlir"
    paths = {"MODEL": str(model), "MISSING": str(tmp_path / "missing.mlir")}
    argv = [paths.get(a, a) for a in argv]
    assert main([*argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spintron-opt: error: ") and message in err
    assert "Traceback" not in err
    assert not out.exists() and not ir_io.weights_path_for(out).exists()


def test_missing_weights_file_is_a_diagnostic(model, capsys):
    ir_io.weights_path_for(model).unlink()
    assert main([str(model)]) == 2
    assert 'weight "fc.w" is not in the weights file' in capsys.readouterr().err


@pytest.mark.parametrize(
    "spec, field, value",
    [
        # --list-passes prints the default as 100.0; users type 100
        ("calibrate{percentile=100}", "percentile", 100.0),
        ("tile-crossbars{max-saturation=1}", "max_saturation", 1.0),
        # a path need not be quoted when it has no spaces, commas or braces
        ("calibrate{data=/data/x.npy}", "data", "/data/x.npy"),
        ("calibrate{data=x.npy percentile=99.5}", "data", "x.npy"),
        ('calibrate{data="/a b/x.npy"}', "data", "/a b/x.npy"),
    ],
)
def test_pass_options_take_int_literals_for_floats_and_bare_paths(spec, field, value):
    from spintron_nn.passes.pipeline import parse_pass_pipeline

    (module_pass,) = parse_pass_pipeline(spec)
    assert getattr(module_pass, field) == value
    assert type(getattr(module_pass, field)) is type(value)


@pytest.mark.parametrize(
    "spec, message",
    [
        # Python's bool is an int: xDSL alone would take batch=true as 1
        ("shape-inference{batch=true}", "pass 'shape-inference': batch must be an integer, got true"),
        ("calibrate{percentile=false}", "pass 'calibrate': percentile must be a number, got false"),
        ("a,,b", "invalid pipeline 'a,,b': expected pass name here at ',b'"),
        (
            "calibrate{data=/my dir/x.npy}",
            "unknown token at '/x.npy}'; quote string values, e.g. calibrate{data=\"/path/x.npy\"}",
        ),
    ],
)
def test_pipeline_errors_are_one_line(spec, message, model, capsys):
    assert main([str(model), "-p", spec]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spintron-opt: error: ")
    assert message in err


def test_run_pipeline_refuses_a_list_of_names():
    from xdsl.dialects.builtin import ModuleOp

    from spintron_nn.errors import SpintronError
    from spintron_nn.passes.pipeline import run_pipeline

    with pytest.raises(SpintronError, match="pipeline must be a string"):
        run_pipeline(ModuleOp([]), ["canonicalize"])


@pytest.mark.parametrize("name", ["shape-inference{batch=2}", "calibrate", "quantize", "lower-to-spin"])
def test_nn_passes_refuse_a_lowered_design(name, model, tmp_path, capsys):
    """They used to fail deep inside: a shape rule ('spin.quantize: input and
    result shapes differ'), 'spin.dequantize has no quantization', ..."""
    lowered = tmp_path / "lowered.mlir"
    argv = [str(model), "-p", "calibrate,quantize,lower-to-spin", "-o", str(lowered)]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([str(lowered), "-p", name]) == 2
    err = capsys.readouterr().err
    pass_name = name.split("{")[0]
    assert err == (
        f"spintron-opt: error: {pass_name}: the module is already lowered to the spin dialect; "
        f"{pass_name} applies to nn graphs, such as a bundle's float.mlir\n"
    )
