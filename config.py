"""Compile options, validated once, shared by the CLI, the Python API and the facade."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

from spintron_nn.errors import SpintronError

KNOWN_TARGETS = ("ir", "sim", "verilog", "spice", "report")


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise SpintronError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


def precision_label(weight_bits: int, activation_bits: int, output_bits: int | None = None) -> str:
    """``"W4A4"``, or ``"W4A4 (8-bit outputs)"`` when the outputs are wider (``output_bits``)."""
    label = f"W{weight_bits}A{activation_bits}"
    if output_bits is not None and output_bits != activation_bits:
        label += f" ({output_bits}-bit outputs)"
    return label


def tiling_label(grouped_tiling: str | None) -> str:
    """``", grouped convs on the array grid"`` for the non-default tiling, else ``""``."""
    return ", grouped convs on the array grid" if grouped_tiling == "grid" else ""


def parse_crossbar(text: str) -> tuple[int, int]:
    """``"128x128"`` or ``"128"`` -> (rows, cols)."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(text))
    if not match:
        raise SpintronError(f"crossbar size must look like 128x128, got {text!r}")
    rows = int(match.group(1))
    cols = int(match.group(2) or rows)
    return rows, cols


@dataclass(frozen=True)
class CompileConfig:
    """Hardware and quantization choices for one compile (see docs/semantics.md)."""

    weight_bits: int = 8
    activation_bits: int = 8
    cell_bits: int = 2
    adc_bits: int = 6
    rows: int = 128
    cols: int = 128
    per_channel: bool = True
    # Code width of the network's outputs where a matrix layer produces them
    # (None = activation_bits).  They feed no crossbar, so widening them costs
    # one wider requant register and keeps a classifier's top logits apart
    # (docs/semantics.md section 2): 8 by default, so that a low-bit compile
    # does not lose decisions to ties of its logits.
    output_bits: int | None = 8
    # Grouped/depthwise convs: "aligned" tiles of whole groups (least energy) or the
    # "grid" (fewest arrays); tiling.py has the trade-off.
    grouped_tiling: str = "aligned"
    targets: tuple[str, ...] = ("ir", "sim", "report")
    pipeline: str | None = None  # overrides the default flow when given
    # Device/energy parameter overrides (docs/parameters.md): a TOML file
    # (--mtj-config) and/or dotted-name values (the facade's MTJConfig).
    mtj_config: str | None = None
    parameter_overrides: tuple[tuple[str, float], ...] = ()
    spice_tiles: str | None = None  # tiles with SPICE decks (backends/spice/bundle.py); None = bounded default
    # The mtj_config file's text, read once at construction: a pipe can be
    # read only once, and a file edited mid-compile must not give the passes
    # different tables.  Saved with the config, so a bundle keeps its
    # parameters after the file is gone.
    mtj_config_text: str | None = field(default=None, repr=False)

    def __post_init__(self):
        _check_range("weight bits", self.weight_bits, 2, 8)
        _check_range("activation bits", self.activation_bits, 2, 8)
        if self.output_bits is not None:
            _check_range("output bits", self.output_bits, 2, 8)
        from spintron_nn.tiling import check_grouped_tiling

        check_grouped_tiling(self.grouped_tiling)
        _check_range("cell bits", self.cell_bits, 1, 4)
        _check_range("ADC bits", self.adc_bits, 1, 12)
        _check_range("crossbar rows", self.rows, 16, 1024)
        _check_range("crossbar columns", self.cols, 16, 1024)
        if self.mtj_config is not None and self.mtj_config_text is None:
            from spintron_nn.parameters import read_parameter_file

            object.__setattr__(self, "mtj_config_text", read_parameter_file(self.mtj_config))
        if self.mtj_config_text is not None or self.parameter_overrides:
            self.parameters()  # validate now: a bad override fails before any work
        unknown = [t for t in self.targets if t not in KNOWN_TARGETS]
        if unknown:
            raise SpintronError(
                f"unknown target(s) {', '.join(unknown)} (known: {', '.join(KNOWN_TARGETS)})"
            )

    def parameters(self):
        """The parameter table with this config's overrides applied (built
        once per config, from the captured ``mtj_config_text``)."""
        return self._parameter_table

    @functools.cached_property
    def _parameter_table(self):
        # cached_property writes the instance __dict__ directly, so it works
        # on a frozen dataclass and stays out of fields(), ==, and to_json.
        from spintron_nn.parameters import load_parameters

        table = load_parameters()
        if self.mtj_config_text is not None:
            table = table.with_override_text(self.mtj_config_text, origin=self.mtj_config or "mtj_config_text")
        if self.parameter_overrides:
            table = table.with_values(dict(self.parameter_overrides))
        return table

    @property
    def crossbar(self) -> str:
        return f"{self.rows}x{self.cols}"

    def replace(self, **changes) -> CompileConfig:
        if "mtj_config" in changes and "mtj_config_text" not in changes:
            changes["mtj_config_text"] = None  # a new file: read it, not the old one's text
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["targets"] = list(self.targets)
        data["parameter_overrides"] = [list(p) for p in self.parameter_overrides]
        return data

    @classmethod
    def from_json(cls, data: dict) -> CompileConfig:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values.setdefault("output_bits", None)  # bundles from before output_bits: the activation bits
        values.setdefault("grouped_tiling", "grid")  # ... and from before group-aligned tiles
        if "targets" in values:
            values["targets"] = tuple(values["targets"])
        if "parameter_overrides" in values:
            values["parameter_overrides"] = tuple(tuple(p) for p in values["parameter_overrides"])
        return cls(**values)
