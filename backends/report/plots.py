"""The report's figures, drawn with matplotlib's Agg canvas (no display, no
pyplot global state, so worker processes and tests can draw in parallel).

Each ``*_figure`` function takes report data and returns a matplotlib Figure;
:func:`png_bytes` / :func:`svg_text` serialise one.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from spintron_nn.backends.report.schema import ENERGY_LABELS

DPI = 110
PJ = 1e12  # J -> pJ
# Colour-blind-safe qualitative palette (Okabe & Ito), one colour per component.
PALETTE = ("#0072B2", "#E69F00", "#D55E00", "#009E73", "#56B4E9", "#CC79A7", "#F0E442", "#999999")


def _bar_chart_width(bars: int) -> float:
    """Inches: wider with more bars, capped so the page does not shrink the text away."""
    return min(12.0, max(6.0, 0.45 * bars + 3.0))


def _label_bars(axes, bars: int) -> None:
    axes.tick_params(axis="x", labelrotation=90 if bars > 10 else 30, labelsize="small" if bars > 10 else "medium")


def _energy_unit(largest_j: float) -> tuple[float, str]:
    """(scale, unit) so the axis reads 1..1000 rather than an offset like 1e7 pJ."""
    for scale, unit in ((1e12, "pJ"), (1e9, "nJ"), (1e6, "uJ"), (1e3, "mJ")):
        if largest_j * scale < 1e4:
            return scale, unit
    return 1.0, "J"


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def svg_text(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})  # same figure, same bytes
    return buffer.getvalue()


def energy_breakdown_figure(layers: Sequence[dict], components: Sequence[str]) -> Figure:
    """Stacked bars: each layer's energy per inference by component (pJ)."""
    shown = [c for c in components if any(layer["energy_j"][c] for layer in layers)]
    names = [layer["name"] for layer in layers]
    scale, unit = _energy_unit(max((layer["energy_j"]["total"] for layer in layers), default=0.0))
    figure = _figure(_bar_chart_width(len(names)), 4.6)
    axes = figure.add_subplot()
    bottom = np.zeros(len(layers))
    for index, component in enumerate(shown):
        values = np.array([layer["energy_j"][component] * scale for layer in layers])
        axes.bar(names, values, bottom=bottom, label=ENERGY_LABELS[component],
                 color=PALETTE[index % len(PALETTE)], edgecolor="white", linewidth=0.5)
        bottom += values
    axes.set_ylabel(f"energy per inference ({unit})")
    axes.set_title("Energy by layer and component (spintronic)")
    _label_bars(axes, len(names))
    axes.legend(fontsize="small", loc="upper right", frameon=False)
    axes.grid(axis="y", alpha=0.3)
    return figure


def utilisation_figure(tiles: Sequence[dict]) -> Figure:
    """Heatmap: one row per crossbar layer, one cell per tile (in row-major
    order of its place in the weight matrix), colour = fraction of the array's positions that
    hold a weight of the layer (a grouped conv's tile: its diagonal blocks only)."""
    layers = list(dict.fromkeys(tile["layer"] for tile in tiles))
    per_layer = {
        name: sorted((t for t in tiles if t["layer"] == name), key=lambda t: (t["row_offset"], t["col_offset"]))
        for name in layers
    }
    width = max((len(v) for v in per_layer.values()), default=1)
    grid = np.full((max(len(layers), 1), width), np.nan)
    for row, name in enumerate(layers):
        for column, tile in enumerate(per_layer[name]):
            grid[row, column] = tile["utilisation"]
    figure = _figure(min(12.0, max(5.0, 0.6 * width + 3.0)), min(9.0, max(2.4, 0.3 * len(layers) + 1.6)))
    axes = figure.add_subplot()
    image = axes.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    axes.set_yticks(range(len(layers)), layers)
    axes.set_xticks(range(width))
    axes.set_xlabel("tile (row-major position in the layer's weight matrix)")
    axes.set_title("Crossbar tile utilisation")
    if width <= 24 and len(layers) <= 24:
        for (row, column), value in np.ndenumerate(grid):
            if not np.isnan(value):
                axes.text(column, row, f"{value:.0%}", ha="center", va="center",
                          color="white" if value < 0.6 else "black", fontsize="small")
    figure.colorbar(image, ax=axes, label="positions holding a weight / array positions")
    return figure


def cmos_comparison_figure(comparison: dict, operands: str = "int8") -> Figure:
    """Grouped bars per layer and in total: spintronic vs CMOS energy (log scale); ``operands``:
    the baseline's widths (schema.cmos_operands_label)."""
    entries = [*comparison["layers"], {"name": "TOTAL", **comparison["total"]}]
    names = [entry["name"] for entry in entries]
    spin = np.array([entry["spintronic_energy_j"] * PJ for entry in entries])
    cmos = np.array([entry["cmos_energy_j"] * PJ for entry in entries])
    x = np.arange(len(entries))
    figure = _figure(_bar_chart_width(len(entries)), 4.6)
    axes = figure.add_subplot()
    axes.bar(x - 0.2, spin, 0.4, label="spintronic crossbars", color=PALETTE[0])
    axes.bar(x + 0.2, cmos, 0.4, label=f"CMOS MAC array ({operands})", color=PALETTE[1])
    axes.set_xticks(x, names)
    _label_bars(axes, len(entries))
    axes.set_yscale("log")
    axes.set_ylabel("energy per inference (pJ, log)")
    axes.set_title("Spintronic vs CMOS baseline")
    axes.legend(fontsize="small", frameon=False)
    axes.grid(axis="y", alpha=0.3, which="both")
    return figure


def pareto_figure(points: Sequence[dict]) -> Figure:
    """Sweep: accuracy (top-1 agreement with float) vs energy per inference;
    Pareto-optimal points joined and labelled."""
    figure = _figure(7.5, 5.0)
    axes = figure.add_subplot()
    energy = np.array([p["energy_j"] * PJ for p in points])
    accuracy = np.array([p["accuracy"] * 100 for p in points])
    on_front = np.array([p["pareto"] for p in points], dtype=bool)
    axes.scatter(energy[~on_front], accuracy[~on_front], color=PALETTE[7], label="design point")
    axes.scatter(energy[on_front], accuracy[on_front], color=PALETTE[2], s=60, marker="D", label="Pareto-optimal")
    order = np.argsort(energy[on_front])
    axes.plot(energy[on_front][order], accuracy[on_front][order], color=PALETTE[2], linewidth=1)
    for point, e, a in zip(points, energy, accuracy):
        if point["pareto"]:
            axes.annotate(point["label"], (e, a), textcoords="offset points", xytext=(5, -12), fontsize="x-small")
    axes.set_xscale("log")
    axes.set_xlabel("energy per inference (pJ, log)")
    axes.set_ylabel("top-1 agreement with float (%)")
    axes.set_title("Design-space sweep: accuracy vs energy")
    axes.legend(fontsize="small", frameon=False)
    axes.grid(alpha=0.3, which="both")
    return figure
