"""``report.html``: one self-contained page (inline CSS, plots as base64 PNG,
no script, no external resource) rendered from the report dictionary, so
that it opens anywhere and can be mailed as one file."""

from __future__ import annotations

import base64
from html import escape

from spintron_nn.backends.report import plots
from spintron_nn.backends.report.formatting import area, number, percent, si
from spintron_nn.backends.report.rtl import html_section as rtl_html_section
from spintron_nn.backends.report.schema import ENERGY_LABELS, cmos_operands_label
from spintron_nn.backends.spice.report_section import html_section as spice_html_section

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
td { white-space: nowrap; } td.text { white-space: normal; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
.note { color: #555; font-size: 0.9em; }
"""


def _img(figure, alt: str) -> str:
    data = base64.b64encode(plots.png_bytes(figure)).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list[str]], text_columns: tuple[int, ...] = (0,)) -> str:
    """Numbers right-aligned, the ``text_columns`` (names, prose) left-aligned."""

    def cells(values: list[str], tag: str) -> str:
        return "".join(
            f'<{tag}{" class=text" if i in text_columns else ""}>{escape(str(v))}</{tag}>'
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    return f"<table><tr>{cells(header, 'th')}</tr>{body}</table>"


def _config_section(report: dict) -> str:
    config = dict(report["config"])
    for key in ("layer_weight_bits", "layer_activation_bits", "layer_adc_bits"):
        if config.get(key):  # [["layer0", 8], ...] -> layer0=8, ... (as --layer-weight-bits takes it)
            config[key] = ", ".join(f"{name}={bits}" for name, bits in config[key])
    rows = [[key, "-" if value in (None, []) else value] for key, value in config.items()]
    return f"<h2>Configuration</h2>{_table(['option', 'value'], rows)}"


def _totals_section(report: dict) -> str:
    spin, cmos = report["spintronic"]["total"], report["cmos"]["total"]
    ratio = report["comparison"]["total"]["energy_ratio"]
    rows = [
        [f"energy per {'inference' if report.get('inputs_per_call', 1) == 1 else 'call'}",
         si(spin["energy_j"]["total"], "J"), si(cmos["energy_j"]["total"], "J")],
        ["latency (one call)", si(spin["latency_s"], "s"), si(cmos["latency_s"], "s")],
        ["area", area(spin["area_m2"]["total"]), area(cmos["area_m2"]["total"])],
        ["MACs", str(spin["macs"]), str(cmos["macs"])],
        ["energy per MAC", si(_pj(spin["pj_per_mac"]), "J"), si(_pj(cmos["pj_per_mac"]), "J")],
        ["TOPS/W", number(spin["tops_per_w"]), number(cmos["tops_per_w"])],
        ["weight programming (once)", si(spin["programming_energy_j"], "J"), "-"],
    ]
    verdict = (f"CMOS / spintronic energy = {ratio:.3g} (above 1: the crossbars use less energy)"
               if ratio is not None else "")

    return (f"<h2>Totals</h2>{_table(['', 'spintronic', f'CMOS baseline ({cmos_operands_label(report)})'], rows)}"
            f'<p class="note">{escape(verdict)}</p>')


def _per_call(report: dict) -> str:
    count = report.get("inputs_per_call", 1)
    return ("batch 1, energies per inference" if count == 1 else
            f"energies and latencies per call of the graph: {count} inputs (the model has a fixed batch)")


def _pj(value: float | None) -> float | None:
    return None if value is None else value * 1e-12


def _accuracy_section(report: dict) -> str:
    accuracy = report["accuracy"]
    rows = [
        ["evaluated on", accuracy["evaluated_on"] or "-", ""],
        ["top-1 agreement with float", percent(accuracy["top1_agreement"], 2),
         percent(accuracy["top1_agreement_ideal_adc"], 2)],
        ["relative RMS error vs float", number(accuracy["relative_rms_error"]),
         number(accuracy["relative_rms_error_ideal_adc"])],
        ["ADC cost (agreement points)", number(accuracy["adc_cost_points"]), ""],
    ]
    return f"<h2>Accuracy</h2>{_table(['', 'real ADC', 'ideal ADC'], rows)}"


def _layers_section(report: dict) -> str:
    components = [c for c in report["energy_components"]
                  if any(l["energy_j"][c] for l in report["spintronic"]["layers"])]
    header = ["layer", "kind", "MACs", "energy", "latency", "pJ/MAC", *(ENERGY_LABELS[c] for c in components)]
    rows = []
    for layer in report["spintronic"]["layers"]:
        total = layer["energy_j"]["total"]
        shares = [percent(layer["energy_j"][c] / total if total else None) for c in components]
        rows.append([layer["name"], layer["kind"], str(layer["macs"]), si(total, "J"), si(layer["latency_s"], "s"),
                     number(layer["pj_per_mac"]), *shares])
    return f"<h2>Layers</h2>{_table(header, rows, text_columns=(0, 1))}"


def _parameters_section(report: dict) -> str:
    rows = [[p["name"], f"{p['value']:g}", p["unit"], p["source"]] for p in report["parameters"]]
    overrides = ""
    if report["overrides"]:
        changed = [[o["name"], f"{o['value']:g}", f"{o['shipped_value']:g}", o["unit"], o["origin"]]
                   for o in report["overrides"]]
        overrides = ("<h3>User overrides</h3>"
                     + _table(["parameter", "value", "shipped value", "unit", "from"], changed, text_columns=(0, 3, 4)))
    table = _table(["parameter", "value", "unit", "source"], rows, text_columns=(0, 2, 3))
    return (f"<h2>Parameters used</h2><p class=note>Every entry the estimate read, with its source "
            f"(docs/parameters.md has the full tables).</p>{overrides}{table}")


def render_html(report: dict) -> str:
    title = f"SpinTron-NN-Kit report: {report['source'] or 'design'}"
    figures = [
        _img(plots.energy_breakdown_figure(report["spintronic"]["layers"], report["energy_components"]),
             "energy per layer by component"),
        _img(plots.cmos_comparison_figure(report["comparison"], cmos_operands_label(report)),
             "spintronic vs CMOS energy per layer"),
    ]
    if report["tiles"]:
        figures.append(_img(plots.utilisation_figure(report["tiles"]), "crossbar tile utilisation"))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="note">schema {report["schema_version"]}, spintron_nn {escape(report["generator"]["spintron_nn"])}; '
        f"{_per_call(report)}, weight programming listed apart.</p>",
        _totals_section(report),
        _accuracy_section(report),
        spice_html_section(report, _table),
        rtl_html_section(report, _table),
        "<h2>Plots</h2>",
        *figures,
        _layers_section(report),
        _config_section(report),
        _parameters_section(report),
        "</body></html>",
    ])
