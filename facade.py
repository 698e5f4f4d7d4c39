"""The interface of the original proposal, on top of :func:`spintron_nn.compile`.

    from spintron_nn import SpintronConverter, MTJConfig
    mtj = MTJConfig(resistance_high=10e3, resistance_low=5e3,   # ohm
                    switching_voltage=0.3, cell_area=40e-18)      # volt, m^2
    design = SpintronConverter(mtj).convert(model, quantization_bits=8, crossbar_size=128)
    design.save_design("output/keyword_detector")

Units are SI.  A value outside its physical range is an error that names the
field, its unit and the plausible range: the proposal's own example wrote
``cell_area=40e-9`` for "40 nm^2", which is 0.04 mm^2.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from spintron_nn.config import CompileConfig, parse_crossbar
from spintron_nn.design import Design
from spintron_nn.errors import SpintronError, UnsupportedError

# field -> (unit, low, high, hint); ranges span published MTJ devices with margin.
_PLAUSIBLE = {
    "resistance_high": ("ohm", 100.0, 1e7, "R_AP of published MTJs is ~1 kOhm..1 MOhm"),
    "resistance_low": ("ohm", 100.0, 1e7, "R_P of published MTJs is ~0.5 kOhm..500 kOhm"),
    "switching_voltage": ("V", 0.05, 2.0, "STT/SOT switching needs ~0.1..1.5 V"),
    "cell_area": ("m^2", 1e-18, 1e-11, "40 nm^2 is 40e-18 m^2; a 1T1MTJ cell is ~1e-15 m^2"),
    "read_voltage": ("V", 0.01, 1.0, "reads use ~0.1..0.25 V to avoid disturb"),
}


@dataclass(frozen=True)
class MTJConfig:
    """MTJ device parameters in SI units (ohm, volt, square metre)."""

    resistance_high: float = 15e3
    resistance_low: float = 6e3
    switching_voltage: float = 0.3
    cell_area: float = 40e-18
    read_voltage: float = 0.2

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            unit, low, high, hint = _PLAUSIBLE[f.name]
            # bool is an int to Python, and "10k" is not compared with a range
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SpintronError(f"MTJConfig.{f.name} must be a number in {unit}, got {value!r}")
            if not low <= float(value) <= high:
                raise SpintronError(
                    f"MTJConfig.{f.name}={value!r} {unit} is outside the plausible range "
                    f"{low:g}..{high:g} {unit} ({hint})"
                )
        if self.resistance_high <= self.resistance_low:
            raise SpintronError(
                f"MTJConfig.resistance_high ({self.resistance_high:g} ohm) must exceed "
                f"resistance_low ({self.resistance_low:g} ohm): TMR must be positive"
            )

    @property
    def tmr(self) -> float:
        """Tunnel magnetoresistance ratio (R_AP - R_P) / R_P."""
        return (self.resistance_high - self.resistance_low) / self.resistance_low

    def parameter_overrides(self, cell_type: str = "mtj") -> dict[str, float]:
        """The device-table entries this configuration sets (docs/parameters.md),
        in the table of ``cell_type``: the cell the design is costed with
        (multi-level cells are domain-wall cells, ``dw.*``), or the junction's
        resistances would change a table the estimate never reads.

        ``switching_voltage`` and ``cell_area`` (the junction's area) have no
        entry: writes are costed from the table's write energy, and a bit
        cell's footprint is set by its access transistor (``cell_area.mtj`` in
        F^2), not by the junction.  Both are recorded in the design summary."""
        return {
            f"{cell_type}.r_parallel": float(self.resistance_low),
            f"{cell_type}.tmr0": float(self.tmr),
            "read.v_read": float(self.read_voltage),
        }


class ConvertedDesign:
    """What :meth:`SpintronConverter.convert` returns: a :class:`Design` with the
    proposal's method names."""

    def __init__(self, design: Design, mtj: MTJConfig):
        self.design = design
        self.mtj = mtj

    def run(self, inputs: Any, backend: str = "sim", **kwargs: Any):
        return self.design.run(inputs, backend=backend, **kwargs)

    def save_design(self, path: str | Path) -> Path:
        return self.design.save(path)

    def to_verilog(self, module_name: str = "top", target_frequency: float = 100e6) -> str:
        try:
            from spintron_nn.backends.verilog import emit_verilog  # type: ignore[attr-defined]
        except ImportError:
            raise UnsupportedError(
                "the Verilog backend is not part of this version yet"
            ) from None
        return emit_verilog(self.design, module_name=module_name, target_frequency=target_frequency)


def _as_mtj_config(mtj_config: MTJConfig | dict[str, float] | None) -> MTJConfig:
    """``None`` is the default device; a dict is taken as MTJConfig's fields."""
    if mtj_config is None:
        return MTJConfig()
    if isinstance(mtj_config, MTJConfig):
        return mtj_config
    if isinstance(mtj_config, dict):
        known = [f.name for f in fields(MTJConfig)]
        unknown = sorted(str(key) for key in mtj_config if key not in known)
        if unknown:
            raise SpintronError(
                f"MTJConfig has no field {', '.join(unknown)} (fields: {', '.join(known)})"
            )
        return MTJConfig(**mtj_config)
    raise SpintronError(
        f"SpintronConverter takes an MTJConfig or a dict of its fields, got {type(mtj_config).__name__}"
    )


def _crossbar_rows_cols(crossbar_size: Any) -> tuple[int, int]:
    """``128``, ``(64, 128)`` or the CLI's text ``"64x128"`` -> (rows, cols);
    CompileConfig checks the sizes themselves."""
    if isinstance(crossbar_size, str):
        return parse_crossbar(crossbar_size)
    if isinstance(crossbar_size, int) and not isinstance(crossbar_size, bool):
        return crossbar_size, crossbar_size
    if isinstance(crossbar_size, (tuple, list)) and len(crossbar_size) == 2:
        return crossbar_size[0], crossbar_size[1]
    raise SpintronError(
        f"crossbar_size must be an int, a (rows, cols) pair or text like '128x128', got {crossbar_size!r}"
    )


class SpintronConverter:
    def __init__(self, mtj_config: MTJConfig | dict[str, float] | None = None):
        self.mtj_config = _as_mtj_config(mtj_config)

    def convert(
        self,
        model: Any,
        quantization_bits: int = 8,
        crossbar_size: int | tuple[int, int] | str = 128,
        *,
        activation_bits: int = 8,
        output_bits: int | None = 8,
        input_bits: int | None = None,
        layer_quantization_bits: dict[str, int] | None = None,
        layer_activation_bits: dict[str, int] | None = None,
        layer_adc_bits: dict[str, int] | None = None,
        grouped_tiling: str = "aligned",
        input_activity: str = "table",
        signed_inputs: bool = False,
        cell_bits: int = 2,
        adc_bits: int = 6,
        calibration: Any = None,
        example_input: Any = None,
    ) -> ConvertedDesign:
        """``quantization_bits`` is the weight precision; activations default to
        8 bits because bit-serial inputs make them cheap (docs/semantics.md).
        ``layer_quantization_bits``: single matrix layers' own weight precision,
        e.g. ``{"layer0": 8}`` (names as the report lists them); ``input_activity="measured"``
        prices the reads at the calibration data's input one-bit fractions; ``signed_inputs=True``
        makes layers with a non-zero input zero point read ``x - zp`` (docs/semantics.md 4a);
        ``input_bits``: the network inputs' code width (default ``activation_bits``);
        ``layer_activation_bits``: single matrix layers' result code widths, e.g. ``{"layer0": 8}``;
        ``layer_adc_bits``: single matrix layers' ADC resolutions."""
        from spintron_nn.api import compile_model
        from spintron_nn.energy.cost_model import default_cell_type

        rows, cols = _crossbar_rows_cols(crossbar_size)
        config = CompileConfig(
            weight_bits=quantization_bits,
            layer_weight_bits=layer_quantization_bits or (),
            layer_activation_bits=layer_activation_bits or (),
            layer_adc_bits=layer_adc_bits or (),
            activation_bits=activation_bits,
            output_bits=output_bits,
            input_bits=input_bits,
            grouped_tiling=grouped_tiling,
            input_activity=input_activity,
            signed_inputs=signed_inputs,
            cell_bits=cell_bits,
            adc_bits=adc_bits,
            rows=rows,
            cols=cols,
            parameter_overrides=tuple(sorted(self.mtj_config.parameter_overrides(default_cell_type(cell_bits)).items())),
        )
        design = compile_model(model, config, calibration, example_input=example_input)
        design.summary["mtj_config"] = {f.name: getattr(self.mtj_config, f.name) for f in fields(self.mtj_config)}
        return ConvertedDesign(design, self.mtj_config)
