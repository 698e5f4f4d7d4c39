"""Compile options and the facade's physical-range checks."""

import numpy as np
import pytest

from spintron_nn.config import CompileConfig, parse_crossbar
from spintron_nn.errors import SpintronError
from spintron_nn.facade import MTJConfig


@pytest.mark.parametrize(
    "text, expected",
    [("128x128", (128, 128)), ("64X256", (64, 256)), ("32", (32, 32)), (" 16 x 1024 ", (16, 1024))],
)
def test_parse_crossbar(text, expected):
    assert parse_crossbar(text) == expected


@pytest.mark.parametrize("text", ["", "x", "128x", "12.5x3", "-64x64", "axb"])
def test_parse_crossbar_rejects(text):
    with pytest.raises(SpintronError, match="crossbar size"):
        parse_crossbar(text)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("weight_bits", 1, "weight bits"),
        ("weight_bits", 9, "weight bits"),
        ("activation_bits", 0, "activation bits"),
        ("cell_bits", 5, "cell bits"),
        ("adc_bits", 13, "ADC bits"),
        ("rows", 8, "crossbar rows"),
        ("cols", 2048, "crossbar columns"),
    ],
)
def test_config_ranges(field, value, words):
    with pytest.raises(SpintronError, match=words):
        CompileConfig(**{field: value})


def test_config_edges_accepted():
    CompileConfig(weight_bits=2, activation_bits=8, cell_bits=1, adc_bits=1, rows=16, cols=1024)
    CompileConfig(weight_bits=8, activation_bits=2, cell_bits=4, adc_bits=12, rows=1024, cols=16)


def test_config_unknown_target():
    with pytest.raises(SpintronError, match="unknown target"):
        CompileConfig(targets=("ir", "gds"))


def test_config_json_round_trip():
    config = CompileConfig(weight_bits=4, adc_bits=5, rows=64, cols=32, targets=("ir",))
    assert CompileConfig.from_json(config.to_json()) == config


def test_mtj_config_catches_the_proposals_unit_slip():
    # "40 nm^2" written as 40e-9 m^2 is 0.04 mm^2: refused with the unit and range.
    with pytest.raises(SpintronError) as info:
        MTJConfig(cell_area=40e-9)
    message = str(info.value)
    assert "cell_area" in message and "m^2" in message and "40e-18" in message


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"resistance_low": -5e3}, "resistance_low"),
        ({"resistance_high": 0.0}, "resistance_high"),
        ({"switching_voltage": 30.0}, "switching_voltage"),
        ({"read_voltage": 0.0}, "read_voltage"),
    ],
)
def test_mtj_config_ranges(kwargs, field):
    with pytest.raises(SpintronError, match=field):
        MTJConfig(**kwargs)


@pytest.mark.parametrize("field, value", [("resistance_high", "10k"), ("read_voltage", True)])
def test_mtj_config_non_numbers_are_named_as_such(field, value):
    # "10k" used to be reported as outside the plausible range
    with pytest.raises(SpintronError, match=f"MTJConfig.{field} must be a number in"):
        MTJConfig(**{field: value})


def _tiny_gemm():
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((3, 4), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])], [weight])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_converter_takes_a_dict_and_the_clis_crossbar_text():
    from spintron_nn.facade import SpintronConverter

    calibration = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    converted = SpintronConverter({"resistance_high": 1e4}).convert(
        _tiny_gemm(), crossbar_size="32x16", calibration=calibration)
    assert converted.mtj == MTJConfig(resistance_high=1e4)
    assert (converted.design.config.rows, converted.design.config.cols) == (32, 16)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda c: c({"r_high": 1e4}), "MTJConfig has no field r_high"),
        (lambda c: c(3), "takes an MTJConfig or a dict of its fields, got int"),
        (lambda c: c().convert(None, crossbar_size="64by64"), "must look like 128x128"),
        (lambda c: c().convert(None, crossbar_size=2.5), "crossbar_size must be an int"),
    ],
)
def test_converter_refuses_bad_arguments_clearly(make, message):
    from spintron_nn.facade import SpintronConverter

    with pytest.raises(SpintronError, match=message):
        make(SpintronConverter)


def test_mtj_config_needs_positive_tmr():
    with pytest.raises(SpintronError, match="TMR"):
        MTJConfig(resistance_high=5e3, resistance_low=5e3)


def test_mtj_config_tmr_and_overrides():
    mtj = MTJConfig(resistance_high=10e3, resistance_low=5e3, switching_voltage=0.3, cell_area=40e-18)
    assert mtj.tmr == pytest.approx(1.0)
    overrides = mtj.parameter_overrides()
    assert overrides["mtj.r_parallel"] == 5e3 and overrides["mtj.tmr0"] == pytest.approx(1.0)
    # The overrides are real table entries: the parameter table accepts them.
    table = CompileConfig(parameter_overrides=tuple(overrides.items())).parameters()
    assert table["mtj.r_parallel"].value == 5e3


def test_mtj_config_file_errors_before_any_work(tmp_path):
    bad = tmp_path / "cfg.toml"
    bad.write_text("[mtj]\nr_parallel = -5.0\n")
    with pytest.raises(SpintronError, match="r_parallel"):
        CompileConfig(mtj_config=str(bad))


def test_outputs_default_to_8_bits_and_old_bundles_keep_theirs():
    from spintron_nn.config import CompileConfig, precision_label

    assert CompileConfig().output_bits == 8 and CompileConfig(output_bits=None).output_bits is None
    old = CompileConfig(activation_bits=4).to_json()
    del old["output_bits"]  # a bundle written before the option: its outputs had the activation bits
    assert CompileConfig.from_json(old).output_bits is None
    assert CompileConfig.from_json(CompileConfig(activation_bits=4).to_json()).output_bits == 8
    assert precision_label(4, 4, 8) == "W4A4 (8-bit outputs)" and precision_label(8, 8, 8) == "W8A8"
    assert precision_label(4, 4, None) == "W4A4"
