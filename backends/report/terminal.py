"""The compact table ``spintronc report OUT/`` prints: one row per layer
(MACs, energy, latency, pJ/MAC, share of each energy component, CMOS ratio),
the totals, and one line each for area, efficiency and accuracy."""

from __future__ import annotations

from spintron_nn.backends.report.formatting import area, number, percent, si
from spintron_nn.backends.report.rtl import terminal_lines as rtl_terminal_lines
from spintron_nn.backends.report.schema import cmos_operands_label
from spintron_nn.backends.spice.report_section import terminal_lines as spice_terminal_lines
from spintron_nn.config import adc_label, precision_label, tiling_label

# Short column heads for the energy components (docs/report.md has the long names).
_SHORT = {"cell_read": "read", "row_driver": "drv", "adc": "adc", "shift_add": "s+a", "mac": "mac",
          "digital": "dig", "buffer": "buf", "leakage": "leak"}


def _share(part: float, total: float) -> str:
    return f"{100 * part / total:.0f}%" if total else "-"


def _row(entry: dict, name: str, components: list[str], ratio: float | None) -> list[str]:
    energy = entry["energy_j"]
    return [
        name, str(entry["macs"]), si(energy["total"], "J"), si(entry["latency_s"], "s"),
        number(entry["pj_per_mac"]), *(_share(energy[c], energy["total"]) for c in components),
        number(ratio),
    ]


def _align(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in rows]


def _per_call_lines(report: dict) -> list[str]:
    count = report.get("inputs_per_call", 1)
    return [] if count == 1 else [f"energy, latency and MACs are per call of the graph: {count} inputs "
                                  "(the model has a fixed batch)"]


def format_report(report: dict) -> str:
    spin = report["spintronic"]
    # only the components that cost something in this design, so the table stays narrow
    components = [c for c in report["energy_components"] if spin["total"]["energy_j"][c]]
    ratios = {entry["name"]: entry["energy_ratio"] for entry in report["comparison"]["layers"]}
    header = ["layer", "MACs", "energy", "latency", "pJ/MAC", *(_SHORT[c] for c in components), "CMOS/spin"]
    rows = [header]
    rows += [_row(layer, layer["name"], components, ratios[layer["name"]]) for layer in spin["layers"]]
    rows.append(_row(spin["total"], "TOTAL", components, report["comparison"]["total"]["energy_ratio"]))
    lines = _align(rows)
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    total, cmos = spin["total"], report["cmos"]["total"]
    accuracy = report["accuracy"]
    config = report["config"]
    legend = ", ".join(f"{_SHORT[c]}={c}" for c in components)
    # An override the estimate never read changed nothing (e.g. mtj.* with
    # multi-level cells, which are domain-wall cells): say so, or it looks applied.
    read = {p["name"] for p in report["parameters"]}
    overrides = [f"{o['name']} = {o['value']:g} {o['unit']} (shipped {o['shipped_value']:g}, from {o['origin']})"
                 + ("" if o["name"] in read else "; not used by this design's cost model")
                 for o in report["overrides"]]
    precision = precision_label(config["weight_bits"], config["activation_bits"], config.get("output_bits"),
                                config.get("layer_weight_bits", ()), config.get("input_bits"),
                                config.get("layer_activation_bits", ()))
    return "\n".join([
        f"design: {report['source']}  "
        f"({precision}, "
        f"{config['cell_bits']}-bit cells, {adc_label(config['adc_bits'], config.get('layer_adc_bits', ()))}, {config['rows']}x{config['cols']} crossbars"
        f"{tiling_label(config.get('grouped_tiling'))}"
        f"{', input activity measured on the calibration data' if config.get('input_activity') == 'measured' else ''}"
        f"{', signed inputs' if config.get('signed_inputs') else ''})",
        *lines,
        *_per_call_lines(report),
        f"shares of each row's energy: {legend}; CMOS/spin = CMOS energy / spintronic energy "
        f"(CMOS baseline: a digital MAC array at {cmos_operands_label(report)})",
        f"area {area(total['area_m2']['total'])} (CMOS {area(cmos['area_m2']['total'])}); "
        f"{number(total['tops_per_w'])} TOPS/W (CMOS {number(cmos['tops_per_w'])}); "
        f"weight programming {si(total['programming_energy_j'], 'J')} once",
        f"accuracy: top-1 agreement with float {percent(accuracy['top1_agreement'], 2)} "
        f"(ideal ADC {percent(accuracy['top1_agreement_ideal_adc'], 2)}) on {accuracy['evaluated_on'] or '-'}",
        *(f"parameter override: {line}" for line in overrides),
        *spice_terminal_lines(report),
        *rtl_terminal_lines(report),
    ])
