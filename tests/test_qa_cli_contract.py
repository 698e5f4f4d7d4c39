"""The CLI contract of docs/cli.md as a new user meets it (found by QA).

Bad input or usage: exit 2, exactly one stderr line ``<prog>: error: ...``,
no traceback, nothing written and nothing of the user's destroyed.  The
commands run in-process (``main(argv)``) on a 4->3 Gemm so the file stays fast.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from spintron_nn.tools import spintron_opt, spintronc

RNG = np.random.default_rng(20261130)


def _gemm_model() -> onnx.ModelProto:
    weight = numpy_helper.from_array(RNG.standard_normal((3, 4)).astype(np.float32), "w")
    node = helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """model.onnx, calib.npy and a compiled bundle/ in one folder."""
    root = tmp_path_factory.mktemp("qa")
    onnx.save(_gemm_model(), root / "model.onnx")
    np.save(root / "calib.npy", RNG.standard_normal((16, 4)).astype(np.float32))
    assert spintronc.main(["compile", str(root / "model.onnx"), "-o", str(root / "bundle"),
                           "--calibration", str(root / "calib.npy"), "-q"]) == 0
    return root


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"/")
            for p in sorted(folder.rglob("*"))}


def expect_usage_error(capsys, main, argv, folder: Path, *words: str) -> str:
    """Run ``main(argv)``; check exit 2, one error line naming ``words``, and
    that ``folder`` is byte-for-byte as before."""
    capsys.readouterr()
    before = listing(folder)
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse's usage errors exit from inside
        status = exc.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured.err
    assert len(lines) == 1 and lines[0].split(":")[1:2] == [" error"], captured.err
    for word in words:
        assert word in lines[0], lines[0]
    assert captured.out == ""
    assert listing(folder) == before
    return lines[0]


def compile_argv(work: Path, output: Path, *extra: str) -> list[str]:
    return ["compile", str(work / "model.onnx"), "-o", str(output),
            "--calibration", str(work / "calib.npy"), "-q", *extra]


# ------------------------------------------------------------- outputs


def test_compile_refuses_to_replace_a_folder_that_is_not_a_bundle(capsys, work, tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("months of work")
    expect_usage_error(capsys, spintronc.main, compile_argv(work, precious), tmp_path,
                       str(precious), "refusing")


def test_compile_refuses_to_replace_a_file(capsys, work, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    expect_usage_error(capsys, spintronc.main, compile_argv(work, target), tmp_path, str(target))


def test_compile_replaces_its_own_bundle_and_fills_an_empty_folder(capsys, work, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    assert spintronc.main(compile_argv(work, target)) == 0
    assert (target / "manifest.json").is_file()
    assert spintronc.main(compile_argv(work, target, "--adc-bits", "4")) == 0
    assert '"adc_bits": 4' in (target / "manifest.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no .old or temporary left


def test_compile_into_an_unwritable_place_is_one_line(capsys, work, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    expect_usage_error(capsys, spintronc.main, compile_argv(work, blocker / "sub" / "bundle"), tmp_path,
                       "cannot write")


def test_bundle_and_outputs_get_ordinary_permissions(work, tmp_path):
    old = os.umask(0o022)
    try:
        assert spintronc.main(compile_argv(work, tmp_path / "b")) == 0
        assert spintronc.main(["run", str(tmp_path / "b"), "--input", str(work / "calib.npy"),
                               "--output", str(tmp_path / "y.npy")]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "y.npy").stat().st_mode) == 0o644


def test_run_output_that_is_a_folder(capsys, work, tmp_path):
    expect_usage_error(capsys, spintronc.main, ["run", str(work / "bundle"), "--input", str(work / "calib.npy"),
                                                "--output", str(tmp_path)], tmp_path, str(tmp_path))


def test_spintron_opt_output_into_a_missing_folder(capsys, work, tmp_path):
    missing = tmp_path / "missing"
    expect_usage_error(capsys, spintron_opt.main,
                       [str(work / "bundle" / "float.mlir"), "-o", str(missing / "x.mlir")], tmp_path,
                       str(missing))


def test_sweep_refuses_a_foreign_folder_before_any_work(capsys, work, tmp_path):
    (tmp_path / "data.csv").write_text("1,2,3")
    expect_usage_error(capsys, spintronc.main, ["sweep", str(work / "model.onnx"), "--calibration",
                                                str(work / "calib.npy"), "-o", str(tmp_path), "-q"],
                       tmp_path, "refusing")


# -------------------------------------------------------------- inputs


def _bad_arrays() -> dict[str, tuple[np.ndarray, str]]:
    good = RNG.standard_normal((4, 4)).astype(np.float32)
    nan, inf = good.copy(), good.copy()
    nan[1, 2], inf[0, 0] = np.nan, -np.inf
    return {
        "int": (np.ones((4, 4), np.int64), "int64"),
        "bool": (np.ones((4, 4), bool), "bool"),
        "features": (np.ones((4, 5), np.float32), "[4, 5]"),
        "rank": (np.ones((4,), np.float32), "[4]"),
        "batch0": (np.ones((0, 4), np.float32), "empty"),
        "nan": (nan, "NaN"),
        "inf": (inf, "infinite"),
    }


@pytest.mark.parametrize("case", sorted(_bad_arrays()))
def test_bad_calibration_is_refused_before_any_output(capsys, work, tmp_path, case):
    array, words = _bad_arrays()[case]
    np.save(tmp_path / "calib.npy", array)
    argv = ["compile", str(work / "model.onnx"), "-o", str(tmp_path / "b"),
            "--calibration", str(tmp_path / "calib.npy"), "-q"]
    expect_usage_error(capsys, spintronc.main, argv, tmp_path, str(tmp_path / "calib.npy"), words)


@pytest.mark.parametrize("backend", ["sim", "float"])
@pytest.mark.parametrize("case", sorted(_bad_arrays()))
def test_bad_run_input_is_refused(capsys, work, tmp_path, case, backend):
    array, words = _bad_arrays()[case]
    np.save(tmp_path / "x.npy", array)
    argv = ["run", str(work / "bundle"), "--input", str(tmp_path / "x.npy"),
            "--output", str(tmp_path / "y.npy"), "--backend", backend]
    expect_usage_error(capsys, spintronc.main, argv, tmp_path, str(tmp_path / "x.npy"), words)


def test_float64_inputs_are_cast_not_refused(work, tmp_path):
    """numpy's default dtype: accepted and computed in float32 (docs/cli.md)."""
    x = RNG.standard_normal((3, 4))
    np.save(tmp_path / "x64.npy", x)
    np.save(tmp_path / "x32.npy", x.astype(np.float32))
    for name in ("x64", "x32"):
        assert spintronc.main(["run", str(work / "bundle"), "--input", str(tmp_path / f"{name}.npy"),
                               "--output", str(tmp_path / f"y_{name}.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y_x64.npy"), np.load(tmp_path / "y_x32.npy"))


def test_python_api_checks_calibration_arrays(work):
    import spintron_nn as sn
    from spintron_nn.errors import SpintronError

    with pytest.raises(SpintronError, match="NaN"):
        sn.compile(str(work / "model.onnx"), calibration=_bad_arrays()["nan"][0])
    design = sn.load(work / "bundle")
    with pytest.raises(SpintronError, match="empty"):
        design.run(_bad_arrays()["batch0"][0])


# ---------------------------------------------------------- usage, docs


def test_no_command_is_one_error_line(capsys, tmp_path):
    line = expect_usage_error(capsys, spintronc.main, [], tmp_path, "command")
    assert "compile" in line


def test_warnings_are_one_line_not_python_source(capsys, work, tmp_path):
    """No --calibration: calibrate warns; the user sees one line, not
    ``/path/flows.py:63: UserWarning`` followed by a source line."""
    import subprocess
    import sys

    # A real process: in-process, pytest records warnings instead of printing them.
    argv = ["compile", str(work / "model.onnx"), "-o", str(tmp_path / "b"), "-q"]
    done = subprocess.run([sys.executable, "-m", "spintron_nn.tools.spintronc", *argv],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines and all(line.startswith("spintronc: warning: ") for line in lines), lines
    assert any("calibration" in line for line in lines)


@pytest.mark.parametrize("value", ["2", "-0.1", "nan"])
def test_min_agreement_outside_0_1_is_a_usage_error(capsys, work, value):
    expect_usage_error(capsys, spintronc.main, ["verify", str(work / "bundle"), "--min-agreement", value],
                       work, "--min-agreement")


def test_run_on_a_missing_target_says_so(capsys, work, tmp_path):
    expect_usage_error(capsys, spintronc.main, ["run", str(tmp_path / "nothing"), "--input",
                                                str(work / "calib.npy"), "--output", str(tmp_path / "y.npy")],
                       tmp_path, "no such")


@pytest.mark.parametrize("name", ["y.txt", "y"])
def test_run_output_must_be_npy_or_npz(capsys, work, tmp_path, name):
    expect_usage_error(capsys, spintronc.main, ["run", str(work / "bundle"), "--input", str(work / "calib.npy"),
                                                "--output", str(tmp_path / name)], tmp_path, ".npy")


def test_report_on_a_model_file_or_a_changed_bundle(capsys, work, tmp_path):
    expect_usage_error(capsys, spintronc.main, ["report", str(work / "model.onnx")], work, "not a design bundle")
    changed = tmp_path / "changed"
    changed.mkdir()
    for file in (work / "bundle").iterdir():
        (changed / file.name).write_bytes(file.read_bytes())
    with open(changed / "report.json", "a") as handle:
        handle.write(" ")
    expect_usage_error(capsys, spintronc.main, ["report", str(changed)], tmp_path, "changed since compile")


def test_architecture_with_an_onnx_model_is_not_silently_ignored(capsys, work, tmp_path):
    argv = compile_argv(work, tmp_path / "b", "--architecture", str(work / "model.onnx"))
    expect_usage_error(capsys, spintronc.main, argv, tmp_path, "--architecture")


def test_summary_speaks_of_the_class_scores_when_the_label_comes_first(tmp_path):
    """skl2onnx classifiers output (label int64, probabilities): the compile
    summary and the report must measure the scores, not the integer labels."""
    import spintron_nn as sn

    weight = numpy_helper.from_array(RNG.standard_normal((3, 4)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["scores"], transB=1),
         helper.make_node("ArgMax", ["scores"], ["label"], axis=1, keepdims=0)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 3])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    calibration = RNG.standard_normal((32, 4)).astype(np.float32)
    design = sn.compile(model, calibration=calibration)
    expected = design.run(calibration, backend="float")[1].astype(np.float64)
    actual = design.run(calibration, backend="sim")[1].astype(np.float64)
    rms = np.linalg.norm(actual - expected) / np.linalg.norm(expected)
    agreement = np.mean(expected.argmax(1) == actual.argmax(1))
    assert design.summary["evaluated output"] == "scores"
    assert design.summary["relative RMS error vs float"] == pytest.approx(rms, abs=1e-6)
    assert design.summary["top-1 agreement with float"] == pytest.approx(agreement, abs=1e-4)


def test_verify_of_an_ir_only_bundle_names_the_bundle(capsys, work, tmp_path):
    argv = compile_argv(work, tmp_path / "ir", "--targets", "ir")
    assert spintronc.main(argv) == 0
    expect_usage_error(capsys, spintronc.main, ["verify", str(tmp_path / "ir")], tmp_path,
                       str(tmp_path / "ir"), "--targets ir")


# --------------------------------------------------------- spintron-opt


def test_spintron_opt_on_a_binary_file(capsys, work):
    expect_usage_error(capsys, spintron_opt.main, [str(work / "calib.npy")], work,
                       str(work / "calib.npy"), "binary")


def test_spintron_opt_with_a_missing_weights_file(capsys, work, tmp_path):
    expect_usage_error(capsys, spintron_opt.main,
                       [str(work / "bundle" / "float.mlir"), "--weights", str(tmp_path / "w.npz")], tmp_path,
                       str(tmp_path / "w.npz"), "no such file")


def test_spintron_opt_usage_error_is_one_line(capsys, work):
    expect_usage_error(capsys, spintron_opt.main, ["--no-such-option"], work, "--no-such-option")


def test_spice_tiles_without_the_spice_target_is_not_silently_ignored(capsys, work, tmp_path):
    argv = compile_argv(work, tmp_path / "b", "--spice-tiles", "0")
    expect_usage_error(capsys, spintronc.main, argv, tmp_path, "--spice-tiles", "spice")


@pytest.mark.parametrize("spec", ["calibrate", "canonicalize,quantize", "tile-crossbars"])
def test_pipeline_with_lowering_passes_is_refused(capsys, work, tmp_path, spec):
    """--pipeline replaces the float passes; a lowering pass in it used to run a
    second, option-less calibration (two warnings) or silently nothing."""
    argv = compile_argv(work, tmp_path / "b", "--pipeline", spec)
    expect_usage_error(capsys, spintronc.main, argv, tmp_path, "--pipeline")


def test_pipeline_syntax_error_says_where_without_carets(capsys, work, tmp_path):
    """xDSL's caret block (source line, ``^``, message) used to be folded into
    one line: a stray ``^`` and the pipeline twice."""
    argv = compile_argv(work, tmp_path / "b", "--pipeline", "canonicalize,,fold-batchnorm")
    line = expect_usage_error(capsys, spintronc.main, argv, tmp_path,
                              "expected pass name here at ',fold-batchnorm'")
    assert "^" not in line and "pass-pipeline:" not in line


@pytest.mark.parametrize("cell_bits", [1, 2])
def test_facade_mtj_resistances_change_the_energy(work, cell_bits):
    """MTJConfig's resistances used to land in mtj.* while 2-bit cells are
    costed as domain-wall cells (dw.*): the user's device changed nothing."""
    from spintron_nn import MTJConfig, SpintronConverter
    from spintron_nn.backends.report.build import build_report

    calibration = np.load(work / "calib.npy")
    totals = []
    for r_low in (5e3, 2e3):
        converted = SpintronConverter(MTJConfig(resistance_high=2 * r_low, resistance_low=r_low)).convert(
            str(work / "model.onnx"), cell_bits=cell_bits, calibration=calibration)
        report = build_report(converted.design)
        read = {p["name"]: p["value"] for p in report["parameters"]}
        assert any(name.endswith(".r_parallel") and value == r_low for name, value in read.items()), read
        totals.append(report["spintronic"]["total"]["energy_j"]["cell_read"])
    assert totals[0] != totals[1]


def test_report_says_when_an_override_is_not_used(capsys, work, tmp_path):
    """--mtj-config mtj.r_parallel with 2-bit (domain-wall) cells changes
    nothing; the report must not present it as applied."""
    toml = tmp_path / "cfg.toml"
    toml.write_text("[mtj.r_parallel]\nvalue = 3.0e3\n[dw.r_parallel]\nvalue = 3.0e3\n")
    assert spintronc.main(compile_argv(work, tmp_path / "b", "--mtj-config", str(toml))) == 0
    capsys.readouterr()
    assert spintronc.main(["report", str(tmp_path / "b")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("parameter override")]
    assert len(lines) == 2
    assert [line.endswith("not used by this design's cost model") for line in lines] == [False, True], lines


def test_closed_stdout_is_not_a_traceback():
    """`spintron-opt --list-passes | head -1`: the reader is gone before the
    tool writes; that is no bug to show a traceback for."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "spintron_nn.tools.spintron_opt", "--list-passes"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # before the interpreter has even started writing
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "Broken pipe" not in stderr, stderr


def test_torch_tensors_are_one_input_not_a_list_of_rows(work):
    """A PyTorch user passes tensors: a [N, 4] tensor was iterated as N inputs
    ("the model takes 1 input(s), got N")."""
    import torch

    import spintron_nn as sn

    calibration = np.load(work / "calib.npy")
    design = sn.compile(str(work / "model.onnx"), calibration=torch.from_numpy(calibration))
    expected = design.run(calibration)[0]
    np.testing.assert_array_equal(design.run(torch.from_numpy(calibration).requires_grad_())[0], expected)
    np.testing.assert_array_equal(design.run((torch.from_numpy(calibration),))[0], expected)


def test_run_never_writes_over_its_input_or_into_the_bundle(work, capsys):
    x = work / "x_for_run.npy"
    np.save(x, RNG.standard_normal((4, 4)).astype(np.float32))
    kept = x.read_bytes()
    for output, words in ((x, "replace an input"), (work / "bundle" / "y.npy", "inside the bundle")):
        assert spintronc.main(["run", str(work / "bundle"), "--input", str(x), "--output", str(output)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and words in err[0]
    assert x.read_bytes() == kept and not (work / "bundle" / "y.npy").exists()


def test_outputs_that_decide_nothing_are_held_to_their_error():
    """Found by a user walkthrough: a constant output passed verify with top-1 agreement 1 (every
    arg-max tied) at a relative RMS error of 1, and saturated tanh outputs failed it (the float
    arg-max among tied 1.0s is arbitrary)."""
    from spintron_nn.analysis import is_classifier_output, top1_agreement

    rng = np.random.default_rng(0)
    logits = rng.standard_normal((50, 6)).astype(np.float32)
    assert is_classifier_output(logits)
    assert not is_classifier_output(np.zeros((50, 6), np.float32))
    saturated = np.ones((50, 6), np.float32)
    saturated[:10, 0] = 0.5  # 40 of 50 rows tie at the top
    assert not is_classifier_output(saturated)
    tied = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 2.0], [3.0, 0.0, 1.0]], np.float32)
    chosen = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], np.float32)  # maximal, maximal, wrong
    assert top1_agreement(tied, chosen) == pytest.approx(2 / 3)
