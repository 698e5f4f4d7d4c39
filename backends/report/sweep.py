"""Design-space sweeps: compile and simulate a model at every point of a grid
of crossbar sizes, ADC bits and cell bits (and weight widths); tabulate accuracy, energy, latency
and area; mark the accuracy-vs-energy Pareto front.

Accuracy is the top-1 agreement of the bit-exact simulation with the float
graph on the evaluation inputs (the calibration set): the model's own labels
are not needed, and quantization/ADC loss is what a sweep is meant to show.
Points run in worker processes (``spawn``: a clean interpreter per worker,
no BLAS or torch state copied from the parent by fork).
"""

from __future__ import annotations

import csv
import itertools
import re
import json
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spintron_nn.config import CompileConfig, parse_crossbar
from spintron_nn.errors import SpintronError

SWEEP_SCHEMA_VERSION = 1
SWEEP_CSV = "sweep.csv"
SWEEP_JSON = "sweep.json"
PARETO_PNG = "pareto.png"
PARETO_SVG = "pareto.svg"
MAX_POINTS = 512  # a grid larger than this is almost surely a typo

# Row keys in table order (docs/report.md, "Sweeps").
COLUMNS = (
    "label", "crossbar", "rows", "cols", "cell_bits", "adc_bits", "weight_bits", "activation_bits",
    "output_bits", "input_bits", "grouped_tiling", "input_activity", "accuracy", "accuracy_ideal_adc", "relative_rms_error", "energy_j", "pj_per_mac", "tops_per_w",
    "latency_s", "area_m2", "cmos_energy_j", "tiles", "mean_utilisation", "pareto",
)


def parse_int_list(text: str, option: str) -> list[int]:
    """``"4,6,8"`` -> [4, 6, 8]; anything else is an error naming the option."""
    items = [item.strip() for item in str(text).split(",")]
    if not items or any(not re.fullmatch(r"[+-]?[0-9]+", item) for item in items):  # ASCII digits only
        raise SpintronError(f"{option} must be a comma-separated list of integers, got {text!r}")
    return list(dict.fromkeys(int(item) for item in items))


def parse_crossbar_list(text: str) -> list[tuple[int, int]]:
    return list(dict.fromkeys(parse_crossbar(item) for item in str(text).split(",")))


@dataclass(frozen=True)
class SweepGrid:
    crossbars: tuple[tuple[int, int], ...]
    adc_bits: tuple[int, ...]
    cell_bits: tuple[int, ...]
    weight_bits: tuple[int, ...] = ()  # empty: the base config's width at every point
    activation_bits: tuple[int, ...] = ()  # likewise

    def configs(self, base: CompileConfig) -> list[CompileConfig]:
        """One validated config per point (so a bad value fails before any work)."""
        widths = self.weight_bits or (base.weight_bits,)
        activations = self.activation_bits or (base.activation_bits,)
        count = len(self.crossbars) * len(self.adc_bits) * len(self.cell_bits) * len(widths) * len(activations)
        if count > MAX_POINTS:
            raise SpintronError(f"the sweep has {count} points, more than the limit of {MAX_POINTS}")
        return [
            base.replace(rows=rows, cols=cols, adc_bits=adc, cell_bits=cell, weight_bits=bits,
                         activation_bits=act, targets=("ir", "sim"))
            for bits, act, (rows, cols), cell, adc in itertools.product(widths, activations, self.crossbars,
                                                                        self.cell_bits, self.adc_bits)
        ]


# precision axes a sweep may vary, with their label tags (``a`` is the ADC's)
LABELLED_WIDTHS = (("weight_bits", "w"), ("activation_bits", "act"))


def varied_widths(configs: Sequence[CompileConfig]) -> tuple[str, ...]:
    """The precision axes (``LABELLED_WIDTHS`` keys) that take more than one value over ``configs``."""
    return tuple(key for key, _ in LABELLED_WIDTHS if len({getattr(c, key) for c in configs}) > 1)


def point_label(config: CompileConfig, varied: Sequence[str] = ()) -> str:
    """``128x128 c2 a6`` (crossbar, cell bits, ADC bits), with `` w4`` / `` act4`` when the sweep
    varies weight / activation widths (``varied``: :func:`varied_widths`)."""
    label = f"{config.crossbar} c{config.cell_bits} a{config.adc_bits}"
    return label + "".join(f" {tag}{getattr(config, key)}" for key, tag in LABELLED_WIDTHS if key in varied)


def evaluate_point(model: str, config: CompileConfig, calibration: str,
                   varied: Sequence[str] = ()) -> dict[str, Any]:
    """Compile, simulate and cost one point (runs in a worker process); ``varied``: the
    precision axes its label names (the sweep varies them)."""
    from spintron_nn.analysis import accuracy_summary, tile_statistics
    from spintron_nn.api import compile_model
    from spintron_nn.passes.estimate_energy import estimate_module

    from spintron_nn.array_files import load_arrays

    design = compile_model(model, config, calibration)
    # the whole calibration set, not the 64 inputs the compile keeps for verify
    accuracy = accuracy_summary(design.float_module, design.spin_module,
                                load_arrays(calibration, design.input_names))
    if "top-1 agreement with float" not in accuracy:
        raise SpintronError("the model's (first float) output is not a vector of class scores, so there is no top-1 "
                            "agreement to sweep (sweeps need a classifier)")
    estimate = estimate_module(design.spin_module, config.parameters(), activity=config.input_activity)
    spin, cmos = estimate["spintronic"]["total"], estimate["cmos"]["total"]
    tiles = tile_statistics(design.spin_module)
    return {
        "label": point_label(config, varied),
        "crossbar": config.crossbar,
        "rows": config.rows,
        "cols": config.cols,
        "cell_bits": config.cell_bits,
        "adc_bits": config.adc_bits,
        "weight_bits": config.weight_bits,
        "activation_bits": config.activation_bits,
        "output_bits": config.output_bits if config.output_bits is not None else config.activation_bits,
        "input_bits": config.graph_input_bits,
        "grouped_tiling": config.grouped_tiling,
        "input_activity": config.input_activity,
        "accuracy": accuracy.get("top-1 agreement with float"),
        "accuracy_ideal_adc": accuracy.get("top-1 agreement with float, ideal ADC"),
        "relative_rms_error": accuracy["relative RMS error vs float"],
        "energy_j": spin["energy_j"]["total"],
        "pj_per_mac": spin["pj_per_mac"],
        "tops_per_w": spin["tops_per_w"],
        "latency_s": spin["latency_s"],
        "area_m2": spin["area_m2"]["total"],
        "cmos_energy_j": cmos["energy_j"]["total"],
        "tiles": tiles["tiles"],
        "mean_utilisation": tiles.get("mean utilisation"),
        "pareto": False,
    }


def mark_pareto(points: list[dict]) -> list[dict]:
    """Set ``pareto`` on the points no other point beats: at most the energy
    and at least the accuracy, strictly better in one of the two."""
    for point in points:
        point["pareto"] = not any(
            other["energy_j"] <= point["energy_j"] and other["accuracy"] >= point["accuracy"]
            and (other["energy_j"] < point["energy_j"] or other["accuracy"] > point["accuracy"])
            for other in points
        )
    return points


def run_sweep(
    model: str,
    configs: Sequence[CompileConfig],
    calibration: str,
    *,
    jobs: int = 2,
    on_done: Callable[[int, int, dict], None] | None = None,
) -> list[dict]:
    """Every point, in grid order; the first failing point's error is raised
    (after cancelling the points not started)."""
    results: list[dict | None] = [None] * len(configs)
    varies = varied_widths(configs)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(configs)), mp_context=context) as pool:
        futures = {pool.submit(evaluate_point, model, config, calibration, varies): i
                   for i, config in enumerate(configs)}
        pending = set(futures)
        while pending:
            # FIRST_COMPLETED, not FIRST_EXCEPTION (which returns only when every point is
            # done unless one fails): the progress bar moves as points finish
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                if future.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise future.exception()
                results[futures[future]] = future.result()
                if on_done:
                    on_done(sum(r is not None for r in results), len(configs), future.result())
    return mark_pareto([r for r in results if r is not None])


def write_sweep(folder: Path, points: list[dict], meta: dict) -> None:
    """sweep.csv, sweep.json and the Pareto plot (PNG and SVG) into ``folder``."""
    from spintron_nn.backends.report import plots

    with open(folder / SWEEP_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: p[k] for k in COLUMNS} for p in points)
    document = {"schema_version": SWEEP_SCHEMA_VERSION, **meta, "columns": list(COLUMNS), "points": points}
    (folder / SWEEP_JSON).write_text(json.dumps(document, indent=2) + "\n")
    figure = plots.pareto_figure(points)
    (folder / PARETO_PNG).write_bytes(plots.png_bytes(figure))
    (folder / PARETO_SVG).write_text(plots.svg_text(figure))
