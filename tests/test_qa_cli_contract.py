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
    status = main(argv)
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
