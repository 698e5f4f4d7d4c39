"""Mixed precision on the bundled digits MLP: uniform weight widths vs single layers at 8 bits.

    python examples/mixed_precision.py [--widths 2,3,4] [--activation-bits 4] [--out examples/output/mixed_precision]
                                       [--search]

Post-training quantization of ``examples/digits_mlp.onnx`` (the README's
model, calibrated on ``digits_calibration.npy``) at each uniform weight width,
and the same with ``layer0`` (input layer), ``layer1`` (output layer) or both
at 8 bits (``CompileConfig(layer_weight_bits=...)``, the CLI's
``--layer-weight-bits``), and with 8-bit input codes (``input_bits=8``,
``--input-bits 8``: the pixels, read by ``layer0``).  Prints the simulator's top-1 accuracy on the 540
held-out images of ``digits_test.npz`` and the report's energy per inference
and crossbar area; docs/cli.md quotes the table.  With both layers at 8 bits
the design is the uniform W8 one, whatever the default width (same accuracy,
same energy): a check of the option on real data.

``--search`` also lets ``training.precision.choose_layer_weight_bits`` pick
the widths (8, 6, 4, 3, 2 bits; no accuracy to spend) for the zoo's trained
``digits_mlp`` (QAT at W4A4, 8-bit outputs) on the validation split of
``examples/digits.py``, and ``choose_layer_widths`` the weight, input and
hidden-result widths together (activations from 8 bits down), and compiles
the choices and the uniform W8 and W4 designs with the same settings,
reporting their test accuracy (sim) and energy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import spintron_nn as sn
from spintron_nn.backends.report.build import build_report

HERE = Path(__file__).resolve().parent
# (layer weight widths, input code width or None for the activation width)
CHOICES = (({}, None), ({"layer0": 8}, None), ({"layer1": 8}, None), ({"layer0": 8, "layer1": 8}, None),
           ({}, 8), ({"layer0": 8}, 8))


def measure(weight_bits: int, layer_weight_bits: dict, input_bits: int | None, activation_bits: int,
            calibration, x, y) -> dict:
    config = sn.CompileConfig(weight_bits=weight_bits, activation_bits=activation_bits,
                              layer_weight_bits=layer_weight_bits, input_bits=input_bits)
    design = sn.compile(str(HERE / "digits_mlp.onnx"), config, calibration=calibration)
    total = build_report(design)["spintronic"]["total"]
    return {"label": sn.config.precision_label(weight_bits, activation_bits, None, config.layer_weight_bits,
                                               input_bits),
            "accuracy": float((design.run(x, backend="sim")[0].argmax(axis=1) == y).mean()),
            "energy_j": total["energy_j"]["total"], "area_m2": total["area_m2"]["total"]}


def search(activation_bits: int) -> list[dict]:
    """Widths chosen on the validation split; the chosen and uniform designs on the test split."""
    import torch

    import digits  # examples/digits.py: its data split
    from spintron_nn import models
    from spintron_nn.training.precision import choose_layer_weight_bits, choose_layer_widths

    torch.set_num_threads(1)
    split = digits.load_split()
    model = models.get("digits_mlp", pretrained=True).eval()
    calibration = split.x_train[:256]
    base = sn.CompileConfig(weight_bits=8, activation_bits=activation_bits)
    choice = choose_layer_weight_bits(model, base, calibration, split.x_val, split.y_val,
                                      widths=(8, 6, 4, 3, 2), max_accuracy_drop=0.0, progress=print)
    both = choose_layer_widths(model, base, calibration, split.x_val, split.y_val, widths=(8, 6, 4, 3, 2),
                               activation_widths=(8, 6, 4, 3, 2), max_accuracy_drop=0.0, progress=print)
    rows = []
    for config in (base, choice["config"], both["config"], base.replace(weight_bits=4)):
        design = sn.compile(model, config, calibration=calibration,
                            example_input=torch.from_numpy(calibration[:1]))
        total = build_report(design)["spintronic"]["total"]
        rows.append({"label": sn.config.precision_label(config.weight_bits, config.activation_bits, None,
                                                        config.layer_weight_bits, config.input_bits,
                                                        config.layer_activation_bits),
                     "accuracy": float((design.run(split.x_test, backend="sim")[0].argmax(axis=1)
                                        == split.y_test).mean()),
                     "energy_j": total["energy_j"]["total"], "area_m2": total["area_m2"]["total"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="2,3,4", help="uniform weight widths to start from (default 2,3,4)")
    parser.add_argument("--activation-bits", type=int, default=4)
    parser.add_argument("--out", type=Path, default=HERE / "output" / "mixed_precision")
    parser.add_argument("--search", action="store_true",
                        help="also choose widths for the zoo's trained digits_mlp (validation split)")
    args = parser.parse_args()
    test = np.load(HERE / "digits_test.npz")
    x, y = test["x"], test["y"]
    calibration = np.load(HERE / "digits_calibration.npy")
    lines = ["| design | top-1 | energy / inference | crossbar area |", "|---|---|---|---|"]
    rows = []
    print(f"{'design':32s} {'top-1':>7s} {'energy':>9s} {'area':>10s}")
    for weight_bits in (int(w) for w in args.widths.split(",")):
        for choice, input_bits in CHOICES:
            row = measure(weight_bits, choice, input_bits, args.activation_bits, calibration, x, y)
            rows.append(row)
            print(f"{row['label']:32s} {row['accuracy'] * 100:6.2f}% {row['energy_j'] * 1e9:6.3f} nJ "
                  f"{row['area_m2'] * 1e12:7.0f} um2", flush=True)
            lines.append(f"| {row['label']} | {row['accuracy'] * 100:.2f} % | {row['energy_j'] * 1e9:.3f} nJ "
                         f"| {row['area_m2'] * 1e12:.0f} um2 |")
    searched = []
    if args.search:
        print("\nwidth search, zoo digits_mlp (chosen on validation; test accuracy):")
        for row in search(args.activation_bits):
            searched.append(row)
            print(f"{row['label']:52s} {row['accuracy'] * 100:6.2f}% {row['energy_j'] * 1e9:6.3f} nJ "
                  f"{row['area_m2'] * 1e12:7.0f} um2")
            lines.append(f"| zoo digits_mlp {row['label']} | {row['accuracy'] * 100:.2f} % | "
                         f"{row['energy_j'] * 1e9:.3f} nJ | {row['area_m2'] * 1e12:.0f} um2 |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(json.dumps({"designs": rows, "searched": searched}, indent=2))
    (args.out / "report.md").write_text("# Mixed precision, digits MLP (PTQ)\n\n" + "\n".join(lines) + "\n")
    print(f"report: {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
