"""``CompileConfig`` reads its ``--mtj-config`` file once: the passes, the
report and a reloaded bundle all see the values of construction time."""

from __future__ import annotations

import json
import os
import pickle
import threading

import pytest

from spintron_nn.config import CompileConfig
from spintron_nn.energy.params import load_parameters
from spintron_nn.errors import SpintronError

NAME = "mtj.r_parallel"


def shipped(name: str = NAME) -> float:
    return load_parameters().value(name)


def write_override(path, value: float) -> None:
    path.write_text(f'"{NAME}" = {value!r}\n')


def test_a_file_rewritten_after_construction_does_not_change_the_table(tmp_path):
    cfg = tmp_path / "cfg.toml"
    write_override(cfg, 5.0e3)
    config = CompileConfig(mtj_config=str(cfg))
    write_override(cfg, 7.0e3)
    assert config.parameters().value(NAME) == 5.0e3
    assert config.parameters()[NAME].origin == str(cfg)
    # A new config of the same path reads the new contents, and is not equal.
    fresh = CompileConfig(mtj_config=str(cfg))
    assert fresh.parameters().value(NAME) == 7.0e3
    assert fresh != config


def test_a_deleted_file_and_a_json_round_trip_keep_the_values(tmp_path):
    cfg = tmp_path / "cfg.toml"
    write_override(cfg, 5.5e3)
    config = CompileConfig(mtj_config=str(cfg), adc_bits=5)
    cfg.unlink()
    assert config.parameters().value(NAME) == 5.5e3
    # The manifest form carries the text, so a bundle loads without the file.
    again = CompileConfig.from_json(json.loads(json.dumps(config.to_json())))
    assert again == config and again.parameters().value(NAME) == 5.5e3
    # Worker processes (sweep) get a pickled config.
    assert pickle.loads(pickle.dumps(config)).parameters().value(NAME) == 5.5e3


def test_replace_keeps_the_captured_text_unless_the_file_changes(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    write_override(first, 5.0e3)
    write_override(second, 8.0e3)
    config = CompileConfig(mtj_config=str(first))
    write_override(first, 9.0e3)
    assert config.replace(adc_bits=4).parameters().value(NAME) == 5.0e3
    assert config.replace(mtj_config=str(second)).parameters().value(NAME) == 8.0e3
    assert config.replace(mtj_config=None).parameters().value(NAME) == shipped()


def test_a_pipe_is_read_once(tmp_path):
    fifo = tmp_path / "cfg.fifo"
    os.mkfifo(fifo)

    def writer():  # one writer, one reader: a second read would block
        with open(fifo, "w") as handle:
            handle.write(f'"{NAME}" = 4500.0\n')

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    config = CompileConfig(mtj_config=str(fifo))
    thread.join()
    assert config.parameters().value(NAME) == 4.5e3
    assert config.replace(rows=64).parameters().value(NAME) == 4.5e3


def test_no_file_means_the_shipped_table():
    config = CompileConfig()
    assert config.mtj_config_text is None and config.parameters().value(NAME) == shipped()
    assert "mtj_config_text" not in repr(CompileConfig(mtj_config_text=f'"{NAME}" = 5e3\n'))


def test_overrides_apply_on_top_of_the_file(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(f'"{NAME}" = 5000.0\n"mtj.tmr0" = 2.0\n')
    config = CompileConfig(mtj_config=str(cfg), parameter_overrides=((NAME, 6.0e3),))
    assert config.parameters().value(NAME) == 6.0e3
    assert config.parameters().value("mtj.tmr0") == 2.0


@pytest.mark.parametrize("text, words", [
    ('"mtj.r_parallel" = -1.0\n', "mtj.r_parallel"),
    ("[mtj\n", "TOML"),
    ('"mtj.no_such" = 1.0\n', "unknown parameter"),
])
def test_a_bad_file_fails_at_construction(tmp_path, text, words):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(text)
    with pytest.raises(SpintronError, match=words):
        CompileConfig(mtj_config=str(cfg))


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(SpintronError, match="no such parameter file") as info:
        CompileConfig(mtj_config=str(tmp_path / "nope.toml"))
    assert "nope.toml" in str(info.value)


def test_a_bundle_loads_with_its_parameters_after_the_config_file_is_gone(tmp_path):
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    import spintron_nn as sn

    rng = np.random.default_rng(7)
    weight = numpy_helper.from_array(rng.standard_normal((3, 4)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    cfg = tmp_path / "cfg.toml"
    write_override(cfg, 5.5e3)
    design = sn.compile(str(tmp_path / "m.onnx"), CompileConfig(mtj_config=str(cfg), cell_bits=1),
                        calibration=rng.standard_normal((8, 4)).astype(np.float32))
    design.save(tmp_path / "bundle")
    cfg.unlink()
    loaded = sn.load(tmp_path / "bundle")
    assert loaded.config == design.config
    assert loaded.config.parameters().value(NAME) == 5.5e3
