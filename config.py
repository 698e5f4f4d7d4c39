"""Compile options, validated once, shared by the CLI, the Python API and the facade."""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field

from spintron_nn.errors import SpintronError

KNOWN_TARGETS = ("ir", "sim", "verilog", "spice", "report")
# What estimate-energy prices reads at: the parameter table's input one-bit fraction,
# or each tile's measured on the calibration sample (passes/estimate_energy.py).
INPUT_ACTIVITIES = ("table", "measured")


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise SpintronError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")


def precision_label(weight_bits: int, activation_bits: int, output_bits: int | None = None,
                    layer_weight_bits=(), input_bits: int | None = None, layer_activation_bits=()) -> str:
    """``"W4A4"``, ``"W4A4 (8-bit outputs)"`` when the outputs are wider
    (``output_bits``), ``"W4A4 (8-bit inputs)"`` with another input width,
    ``"W4A4 (layer0 W8, layer1 A8)"`` with per-layer weight and activation widths."""
    label = f"W{weight_bits}A{activation_bits}"
    notes = [f"{layer} W{bits}" for layer, bits in layer_weight_bits]
    notes += [f"{layer} A{bits}" for layer, bits in layer_activation_bits]
    if input_bits is not None and input_bits != activation_bits:
        notes.append(f"{input_bits}-bit inputs")
    if output_bits is not None and output_bits != activation_bits:
        notes.append(f"{output_bits}-bit outputs")
    return label + (f" ({', '.join(notes)})" if notes else "")


# the range of each per-layer width (CompileConfig.layer_<kind>_bits)
LAYER_BITS_RANGES = {"weight": (2, 8), "activation": (2, 8), "ADC": (1, 12)}


def parse_layer_bits(text: str, kind: str = "weight") -> tuple[tuple[str, int], ...]:
    """``"layer0=8,layer3=6"`` -> ``(("layer0", 8), ("layer3", 6))`` (checked by
    :func:`check_layer_bits`); ``""`` -> ``()``.  ``kind``: a key of ``LAYER_BITS_RANGES``."""
    pairs = []
    for item in filter(None, (part.strip() for part in str(text).split(","))):
        name, sep, bits = item.partition("=")
        if not sep or not name.strip() or not re.fullmatch(r"[0-9]+", bits.strip()):
            raise SpintronError(f"per-layer {kind} bits must look like layer0=8,layer3=6, got {text!r}")
        pairs.append((name.strip(), int(bits)))
    return check_layer_bits(pairs, kind)


def check_layer_bits(pairs, kind: str = "weight") -> tuple[tuple[str, int], ...]:
    """Per-layer ``kind`` (a key of ``LAYER_BITS_RANGES``) widths as sorted ``(layer name, bits)``
    pairs (a dict or pairs in); each in its range, each layer named once.  Names are the compiled
    matrix layers' (``layer0``, ``layer1``, ... as the report lists them);
    lowering rejects a name that is not one.  Sorted naturally (layer2 before layer10)."""
    if isinstance(pairs, dict):
        items = list(pairs.items())
    elif isinstance(pairs, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
        items = [tuple(p) for p in pairs]
    else:
        raise SpintronError(f"per-layer {kind} bits must be a {{layer name: bits}} dict or (name, bits) pairs, "
                            f"got {pairs!r}")
    names = [name for name, _ in items]
    for name, bits in items:
        # ASCII only: the names travel through pass-option text (quantize{layer-weight-bits="..."})
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
            raise SpintronError(f"per-layer {kind} bits: {name!r} is not a layer name (like layer0)")
        _check_range(f"{kind} bits of {name}", bits, *LAYER_BITS_RANGES[kind])
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SpintronError(f"per-layer {kind} bits: {', '.join(repeated)} given more than once")
    return tuple(sorted(items, key=lambda item: _natural_key(item[0])))


def check_layer_weight_bits(pairs) -> tuple[tuple[str, int], ...]:
    """:func:`check_layer_bits` of weight widths."""
    return check_layer_bits(pairs, "weight")


def _natural_key(name: str) -> tuple:
    """``layer10`` after ``layer2``: digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", name))


def adc_label(adc_bits: int, layer_adc_bits=()) -> str:
    """``"6-bit ADC"``, ``"6-bit ADC (layer0 8-bit)"`` with per-layer resolutions."""
    notes = ", ".join(f"{layer} {bits}-bit" for layer, bits in layer_adc_bits)
    return f"{adc_bits}-bit ADC" + (f" ({notes})" if notes else "")


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
    # Weight widths of single matrix layers, overriding weight_bits there
    # (e.g. the input and output layers at 8 bits, the usual mixed-precision
    # choice): sorted (layer name, bits) pairs, names as the report lists them.
    layer_weight_bits: tuple[tuple[str, int], ...] = ()
    # Code widths of single matrix layers' results (after the bias/activation they
    # absorb), overriding activation_bits there: the next layers read that many bit
    # planes (docs/semantics.md section 2, "Per-layer codes").  A network output's
    # width is output_bits; naming that layer is an error.
    layer_activation_bits: tuple[tuple[str, int], ...] = ()
    cell_bits: int = 2
    adc_bits: int = 6
    # ADC resolutions of single matrix layers' tiles (1..12), overriding adc_bits there
    layer_adc_bits: tuple[tuple[str, int], ...] = ()
    rows: int = 128
    cols: int = 128
    per_channel: bool = True
    # Code width of the network's outputs where a matrix layer produces them
    # (None = activation_bits).  They feed no crossbar, so widening them costs
    # one wider requant register and keeps a classifier's top logits apart
    # (docs/semantics.md section 2): 8 by default, so that a low-bit compile
    # does not lose decisions to ties of its logits.
    output_bits: int | None = 8
    # Code width of the network's inputs (None = activation_bits): the graph
    # inputs are quantized to it and the layers that read them directly read
    # that many bit planes (e.g. 8-bit inputs for a W4A4 network, the usual
    # "first layer at 8 bits"); pools, reshapes and clamps keep the width, any
    # other op gives activation_bits codes (docs/semantics.md section 2).
    input_bits: int | None = None
    # Grouped/depthwise convs: "aligned" tiles of whole groups (least energy) or the
    # "grid" (fewest arrays); tiling.py has the trade-off.
    grouped_tiling: str = "aligned"
    # Input one-bit fraction the energy estimate prices reads at: "table"
    # (crossbar.input_one_fraction, 0.5) or "measured" per tile on the
    # calibration sample (passes/estimate_energy.py); ReLU layers' inputs are
    # mostly zeros, so measured is lower there.
    input_activity: str = "table"
    # Layers whose inputs have a non-zero zero point (an input layer on standardised
    # data) read x - zp as two's-complement bit-serial codes: no zero-point term, so
    # the devices' static drift is not read zp times (docs/semantics.md section 4a).
    # Every backend (sim, C kernel, RTL, SPICE), energy and training implement it.
    signed_inputs: bool = False
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
        object.__setattr__(self, "layer_weight_bits", check_layer_weight_bits(self.layer_weight_bits))
        object.__setattr__(self, "layer_activation_bits", check_layer_bits(self.layer_activation_bits, "activation"))
        object.__setattr__(self, "layer_adc_bits", check_layer_bits(self.layer_adc_bits, "ADC"))
        if self.output_bits is not None:
            _check_range("output bits", self.output_bits, 2, 8)
        if self.input_bits is not None:
            _check_range("input bits", self.input_bits, 2, 8)
        from spintron_nn.tiling import check_grouped_tiling

        check_grouped_tiling(self.grouped_tiling)
        if self.input_activity not in INPUT_ACTIVITIES:
            raise SpintronError(f"input activity must be one of {', '.join(INPUT_ACTIVITIES)}, "
                                f"got {self.input_activity!r}")
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
            table = table.with_values(dict(self.parameter_overrides), origin="--parameters / parameter_overrides")
        return table

    def weight_bits_of(self, layer: str) -> int:
        """The weight width of matrix layer ``layer`` (``"layer0"``, ...)."""
        return dict(self.layer_weight_bits).get(layer, self.weight_bits)

    def adc_bits_of(self, layer: str) -> int:
        """The ADC resolution of matrix layer ``layer``'s tiles."""
        return dict(self.layer_adc_bits).get(layer, self.adc_bits)

    def for_layer(self, layer: str) -> CompileConfig:
        """This config as matrix layer ``layer`` sees it: ``weight_bits`` and ``adc_bits``
        its own (for code that prices or quantizes one layer at a time)."""
        bits, adc = self.weight_bits_of(layer), self.adc_bits_of(layer)
        if (bits, adc) == (self.weight_bits, self.adc_bits):
            return self
        if layer not in self._layer_configs:
            self._layer_configs[layer] = self.replace(weight_bits=bits, adc_bits=adc, layer_weight_bits=(),
                                                      layer_adc_bits=())
        return self._layer_configs[layer]

    @functools.cached_property
    def _layer_configs(self) -> dict[str, CompileConfig]:
        return {}

    @property
    def graph_input_bits(self) -> int:
        """The code width of the network's inputs."""
        return self.activation_bits if self.input_bits is None else self.input_bits

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
        data["layer_weight_bits"] = [list(p) for p in self.layer_weight_bits]
        data["layer_activation_bits"] = [list(p) for p in self.layer_activation_bits]
        data["layer_adc_bits"] = [list(p) for p in self.layer_adc_bits]
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
