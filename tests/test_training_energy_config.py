"""The energy regulariser prices layers with the config's own parameter table
(its --mtj-config file and overrides), like ``estimate-energy`` does."""

from __future__ import annotations

from spintron_nn.config import CompileConfig
from spintron_nn.training.energy import layer_energy

ROW_DRIVER = "row_driver.energy_per_activation"


def _slope(config: CompileConfig) -> float:
    """Energy per unit of input one-bit fraction: the part training can change."""
    return layer_energy(96, 40, 3, config, 1.0) - layer_energy(96, 40, 3, config, 0.0)


def test_overrides_change_the_trainable_energy():
    base = CompileConfig(weight_bits=4, activation_bits=4)
    default_driver = base.parameters().value(ROW_DRIVER)
    doubled = base.replace(parameter_overrides=((ROW_DRIVER, 2 * default_driver),))
    # row drivers fire only for 1 bits: doubling them raises the slope, not the f=0 energy
    assert _slope(doubled) > _slope(base)
    assert layer_energy(96, 40, 3, doubled, 0.0) == layer_energy(96, 40, 3, base, 0.0)


def test_mtj_config_file_and_override_price_the_same(tmp_path):
    base = CompileConfig(weight_bits=4, activation_bits=4)
    value = 3 * base.parameters().value(ROW_DRIVER)
    path = tmp_path / "mtj.toml"
    path.write_text(f'["{ROW_DRIVER}"]\nvalue = {value!r}\n')
    from_file = base.replace(mtj_config=str(path))
    from_override = base.replace(parameter_overrides=((ROW_DRIVER, value),))
    assert _slope(from_file) == _slope(from_override) > _slope(base)


def test_mean_level_fraction_prices_only_unknown_levels():
    base = CompileConfig(weight_bits=4, activation_bits=4)
    other = base.replace(parameter_overrides=(("crossbar.mean_level_fraction", 0.9),))
    levels = [1000]  # the 96x40 matrix is one 128x128 tile
    # known levels: the table's mean level is not used, as in estimate-energy's compiled tiles
    assert layer_energy(96, 40, 3, other, 0.5, level_sums=levels) == layer_energy(96, 40, 3, base, 0.5,
                                                                                  level_sums=levels)
    assert layer_energy(96, 40, 3, other, 0.5) > layer_energy(96, 40, 3, base, 0.5)
    # more levels, more conductance, more read energy
    assert layer_energy(96, 40, 3, base, 0.5, level_sums=[2000]) > layer_energy(96, 40, 3, base, 0.5,
                                                                                 level_sums=levels)
