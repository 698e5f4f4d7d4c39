"""``spintronc evaluate``: accuracies against their oracles (onnxruntime for float, the
simulator via ``spintronc run`` for sim and every device draw), and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from spintron_nn.tools.spintronc import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MODEL = EXAMPLES / "digits_mlp.onnx"


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    test = np.load(EXAMPLES / "digits_test.npz")
    np.save(root / "x.npy", test["x"][:200])
    np.save(root / "y.npy", test["y"][:200].astype(np.int64))
    assert main(["compile", str(MODEL), "-o", str(root / "bundle"), "-q", "--weight-bits", "3",
                 "--activation-bits", "4", "--calibration", str(EXAMPLES / "digits_calibration.npy")]) == 0
    return root


def _accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(scores.argmax(axis=1) == labels))


def test_accuracies_are_the_oracles(work, capsys):
    x, y = np.load(work / "x.npy"), np.load(work / "y.npy")
    flags = ["--conductance-variation", "0.2", "--stuck-at-zero", "0.02"]
    assert main(["evaluate", str(work / "bundle"), "--input", str(work / "x.npy"), "--labels", str(work / "y.npy"),
                 "--draws", "3", "--seed", "7", "--json", str(work / "result.json"), *flags]) == 0
    printed = capsys.readouterr().out
    result = json.loads((work / "result.json").read_text())
    session = ort.InferenceSession(str(MODEL), providers=["CPUExecutionProvider"])
    assert result["float"] == pytest.approx(_accuracy(session.run(None, {session.get_inputs()[0].name: x})[0], y),
                                            abs=1 / len(y))  # float32 ties between engines: one item at most
    assert main(["run", str(work / "bundle"), "--input", str(work / "x.npy"), "--output", str(work / "sim.npy")]) == 0
    assert result["sim"] == _accuracy(np.load(work / "sim.npy"), y)
    per_draw = []
    for draw in result["devices"]["draws"]:
        assert main(["run", str(work / "bundle"), "--input", str(work / "x.npy"), "--output", str(work / "d.npy"),
                     "--seed", str(draw["seed"]), *flags]) == 0
        per_draw.append(_accuracy(np.load(work / "d.npy"), y))
        assert draw["accuracy"] == per_draw[-1]
    assert [d["seed"] for d in result["devices"]["draws"]] == [7, 8, 9]
    assert result["devices"]["mean"] == pytest.approx(np.mean(per_draw))
    assert result["devices"]["min"] == min(per_draw) and result["devices"]["std"] == pytest.approx(
        np.std(per_draw, ddof=1))
    assert len(set(per_draw)) > 1 or per_draw[0] != result["sim"]  # the devices changed something
    assert f"{result['sim'] * 100:6.2f} %" in printed and "3 draws, seeds 7..9" in printed


@pytest.mark.parametrize("extra, words", [
    (["--draws", "2"], "--draws apply with device flags"),
    (["--seed", "3"], "--seed apply with device flags"),
    (["--verified-column-sums"], "draw nothing"),
    (["--conductance-variation", "0"], "draw nothing"),
    (["--conductance-variation", "0.1", "--draws", "2", "--seed", str(2**64 - 1)], "room for 2 draws"),
    (["--json", "{work}/folder.json"], "is a folder"),
    (["--json", "{bundle}/manifest.json"], "inside the bundle"),
    (["--json", "{inputs}"], "replace an input"),
    (["--conductance-variation", "0.1", "--draws", "0"], "--draws must be in 1..1000"),
    (["--labels-file-is-x"], "labels must be a 1-D array of integer"),
    (["--short-labels"], "199 labels for 200 input items"),
    (["--bad-class"], "class indices in 0..9"),
    (["--empty-labels"], "not a readable .npy/.npz array file"),  # walkthrough: was a traceback
    (["--truncated-labels"], "not a readable .npy/.npz array file"),
    (["--json", "{work}/r.txt"], "must end in .json"),
    (["--conductance-variation", "-1"], "--conductance-variation must be in"),
])
def test_bad_input_is_one_line_and_writes_nothing(work, tmp_path, capsys, extra, words):
    labels = str(work / "y.npy")
    if extra == ["--labels-file-is-x"]:
        labels, extra = str(work / "x.npy"), []
    elif extra == ["--short-labels"]:
        np.save(tmp_path / "short.npy", np.load(work / "y.npy")[:-1])
        labels, extra = str(tmp_path / "short.npy"), []
    elif extra in (["--empty-labels"], ["--truncated-labels"]):
        whole = (work / "y.npy").read_bytes()
        (tmp_path / "cut.npy").write_bytes(b"" if extra == ["--empty-labels"] else whole[: len(whole) // 2])
        labels, extra = str(tmp_path / "cut.npy"), []
    elif extra == ["--bad-class"]:
        bad = np.load(work / "y.npy").copy()
        bad[0] = 10
        np.save(tmp_path / "bad.npy", bad)
        labels, extra = str(tmp_path / "bad.npy"), []
    (tmp_path / "folder.json").mkdir()
    json_in = tmp_path / "x.json"
    json_in.write_bytes((work / "x.npy").read_bytes())
    if "{inputs}" in extra:
        extra = [str(json_in) if e == "{inputs}" else e for e in extra]
        extra = ["--input", str(json_in), *extra]
    extra = [e.format(work=tmp_path, bundle=work / "bundle") for e in extra]
    manifest = (work / "bundle" / "manifest.json").read_bytes()
    before = sorted(tmp_path.iterdir())
    assert main(["evaluate", str(work / "bundle"), "--input", str(work / "x.npy"), "--labels", labels,
                 "--json", str(tmp_path / "out.json"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("spintronc: error: ") and words in err[0], err
    assert sorted(tmp_path.iterdir()) == before
    assert (work / "bundle" / "manifest.json").read_bytes() == manifest


def test_last_seed_and_fixed_batch_bundles(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    weight = numpy_helper.from_array(rng.standard_normal((5, 8)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 5])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    x = rng.standard_normal((4, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 2, 3]))
    assert main(["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"), "-q",
                 "--calibration", str(tmp_path / "x.npy")]) == 0
    assert main(["evaluate", str(tmp_path / "b"), "--input", str(tmp_path / "x.npy"), "--labels",
                 str(tmp_path / "y.npy"), "--conductance-variation", "0.1", "--draws", "1",
                 "--seed", str(2**64 - 1)]) == 0
    out = capsys.readouterr().out
    assert "1 draw," in out and f"seeds {2**64 - 1}..{2**64 - 1}" in out
