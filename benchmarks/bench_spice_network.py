"""Crossbar size vs IR-drop accuracy loss through ``--backend spice``, on the
digits MLP (examples/digits_mlp.onnx, 64-48-10) and a small digits CNN
trained here (seeded; conv 1->8, pool, conv 8->16, linear 256->10); W8A8,
2-bit domain-wall cells, 6-bit ADC.

For each square crossbar size the model is compiled and run on the held-out
digits (examples/digits_test.npz, the split of examples/make_digits_mlp.py)
three ways: the integer simulator, the analog run with the devices but ideal
wires (cell nonlinearity only), and the analog run with wires.  Accuracy is
against the true labels; the IR-drop columns are the wires' share of the
column-current error (LSB = one level).

    python benchmarks/bench_spice_network.py                # print the tables
    python benchmarks/bench_spice_network.py --write-docs   # also update docs/spice.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from bench_spice import DOC, write_docs   # the sibling script (benchmarks/ is on sys.path when run)

import spintron_nn as sn
from spintron_nn.backends.spice.analysis import tile_errors
from spintron_nn.backends.spice.runner import AnalogTileCurrents, design_params, run_analog
from spintron_nn.config import CompileConfig

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench_spice_network:begin -->", "<!-- bench_spice_network:end -->"


def accuracy(outputs: list[np.ndarray], labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(outputs[0], axis=1) == labels))


def train_digits_cnn(epochs: int = 150, seed: int = 0):
    """A small CNN on the digits training split; returns (model, x_train)."""
    import torch

    sys.path.insert(0, str(ROOT / "examples"))
    from make_digits_mlp import load_split

    x_train, _, y_train, _ = load_split()
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(16 * 4 * 4, 10))
    images, targets = torch.from_numpy(x_train.reshape(-1, 1, 8, 8)), torch.from_numpy(y_train)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), targets).backward()
        optimizer.step()
    return model.eval(), x_train.reshape(-1, 1, 8, 8)


def compile_model(name: str, size: int):
    config = CompileConfig(rows=size, cols=size)
    if name == "mlp":
        return sn.compile(str(ROOT / "examples" / "digits_mlp.onnx"), config,
                          np.load(ROOT / "examples" / "digits_calibration.npy"))
    import torch

    model, x_train = _CNN.setdefault("cnn", train_digits_cnn())
    rng = np.random.default_rng(0)
    calibration = x_train[rng.choice(len(x_train), 256, replace=False)]
    return sn.compile(model, config, calibration, example_input=torch.from_numpy(calibration[:1]))


_CNN: dict = {}


def sweep_row(name: str, size: int, x: np.ndarray, labels: np.ndarray, wire_resistance: float | None) -> str:
    design = compile_model(name, size)
    if name == "cnn":
        x = x.reshape(-1, 1, 8, 8)
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,cnn", help="mlp and/or cnn")
    parser.add_argument("--sizes", default="16,32,64", help="square crossbar sizes (64 holds each MLP layer whole)")
    parser.add_argument("--wires", default="table,4", help="wire resistances: 'table' or ohm per segment")
    parser.add_argument("--samples", type=int, default=540, help="test digits to run (of 540)")
    parser.add_argument("--write-docs", action="store_true", help=f"update the table in {DOC}")
    args = parser.parse_args(argv)
    data = np.load(ROOT / "examples" / "digits_test.npz")
    x, labels = data["x"][: args.samples], data["y"][: args.samples]
    sections = []
    titles = {"mlp": "Digits MLP (64-48-10)", "cnn": "Digits CNN (conv 1->8, pool, conv 8->16, linear 256->10)"}
    for name in args.models.split(","):
        for wire in args.wires.split(","):
            resistance = None if wire == "table" else float(wire)
            label = "table wire geometry" if resistance is None else f"{resistance:g} ohm per wire segment"
            rows = list(HEADER)
            for size in (int(s) for s in args.sizes.split(",")):
                rows.append(sweep_row(name, size, x, labels, resistance))
                print(rows[-1], flush=True)
            sections.append(f"{titles[name]}, {len(labels)} test digits, {label}:\n\n" + "\n".join(rows))
    text = "Measured by `python benchmarks/bench_spice_network.py --write-docs`:\n\n" + "\n\n".join(sections)
    print("\n" + text)
    if args.write_docs:
        write_docs(text, BEGIN, END)


if __name__ == "__main__":
    main()
