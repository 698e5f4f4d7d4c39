"""Crossbar size vs IR-drop accuracy loss on the digits MLP (64-48-10, W8A8,
2-bit domain-wall cells, 6-bit ADC), through ``--backend spice``.

For each square crossbar size the MLP is compiled (calibration:
examples/digits_calibration.npy) and run on the held-out digits
(examples/digits_test.npz) three ways: the integer simulator, the analog run
with the devices but ideal wires (cell nonlinearity only), and the analog run
with the table's wires.  Accuracy is against the true labels; the IR-drop
columns are the wires' share of the column-current error (LSB = one level).

    python benchmarks/bench_spice_network.py                # print the table
    python benchmarks/bench_spice_network.py --write-docs   # also update docs/spice.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import spintron_nn as sn
from spintron_nn.backends.spice.analysis import tile_errors
from spintron_nn.backends.spice.runner import AnalogTileCurrents, design_params, run_analog
from spintron_nn.config import CompileConfig

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "spice.md"
BEGIN, END = "<!-- bench_spice_network:begin -->", "<!-- bench_spice_network:end -->"


def accuracy(outputs: list[np.ndarray], labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(outputs[0], axis=1) == labels))


def sweep_row(size: int, x: np.ndarray, labels: np.ndarray, wire_resistance: float | None) -> str:
    config = CompileConfig(rows=size, cols=size)
    design = sn.compile(str(ROOT / "examples" / "digits_mlp.onnx"), config,
                        np.load(ROOT / "examples" / "digits_calibration.npy"))
    sim = accuracy(design.run(x, backend="sim"), labels)
    no_wires = accuracy(run_analog(design, [x], AnalogTileCurrents(
        design_params(design, wire_resistance=0.0))), labels)
    params = design_params(design, wire_resistance=wire_resistance)
    record: list = []
    start = time.perf_counter()
    wired = accuracy(run_analog(design, [x], AnalogTileCurrents(params, record=record)), labels)
    seconds = time.perf_counter() - start
    tiles = tile_errors(record, params)
    ir_max = max(t["max_ir_drop_lsb"] for t in tiles)
    ir_mean = float(np.mean([t["mean_ir_drop_lsb"] for t in tiles]))
    changed = max(t["code_mismatch_rate"] for t in tiles)
    largest = max(tiles, key=lambda t: t["rows"] * t["cols"])
    return (f"| {size}x{size} | {len(tiles)} | {largest['rows']}x{largest['cols']} | {params.r_wordline:.3g} | "
            f"{100 * sim:.1f} | {100 * no_wires:.1f} | {100 * wired:.1f} | {100 * (sim - wired):.1f} | "
            f"{ir_max:.2f} | {ir_mean:.3f} | {100 * changed:.1f} | {seconds:.0f} |")


HEADER = ["| crossbar | tiles | largest tile | ohm/segment | sim acc. % | spice, no wires % | spice % | "
          "loss (points) | max IR drop (LSB) | mean IR drop (LSB) | max codes changed % | spice time (s) |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]


def write_docs(text: str) -> None:
    doc = DOC.read_text()
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,32,64", help="square crossbar sizes (64 holds each MLP layer whole)")
    parser.add_argument("--wires", default="table,4", help="wire resistances: 'table' or ohm per segment")
    parser.add_argument("--samples", type=int, default=540, help="test digits to run (of 540)")
    parser.add_argument("--write-docs", action="store_true", help=f"update the table in {DOC}")
    args = parser.parse_args(argv)
    data = np.load(ROOT / "examples" / "digits_test.npz")
    x, labels = data["x"][: args.samples], data["y"][: args.samples]
    sections = []
    for wire in args.wires.split(","):
        resistance = None if wire == "table" else float(wire)
        label = "table wire geometry" if resistance is None else f"{resistance:g} ohm per wire segment"
        rows = list(HEADER)
        for size in (int(s) for s in args.sizes.split(",")):
            rows.append(sweep_row(size, x, labels, resistance))
            print(rows[-1], flush=True)
        sections.append(f"Digits MLP, {len(labels)} test digits, {label}:\n\n" + "\n".join(rows))
    text = "Measured by `python benchmarks/bench_spice_network.py --write-docs`:\n\n" + "\n\n".join(sections)
    print("\n" + text)
    if args.write_docs:
        write_docs(text)


if __name__ == "__main__":
    main()
