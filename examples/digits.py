"""sklearn digits end to end: float -> QAT at W4A4 -> spintronc compile -> simulate (-> RTL).

    python examples/digits.py [--out examples/output/digits] [--backend rtl] [--save-weights]

1. trains the zoo's ``digits_mlp`` in float (seeded);
2. quantization-aware training at W4A4 (2-bit cells, 6-bit ADC, 128x128
   crossbars): every forward pass is the compiled design's integer result;
3. exports the trained model to ONNX and compiles it with ``spintronc compile``
   (calibration: 256 training images), runs the test set with ``spintronc run
   --backend sim`` and compares with the fake-quantized model;
4. ``--backend rtl``: also runs a few test images on the generated Verilog
   (``spintronc run --backend rtl``) and checks them against the simulator.

Prints the accuracies and writes ``report.json`` and ``report.md`` to ``--out``.
``--save-weights`` writes the QAT model as the zoo's pretrained weights.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from spintron_nn import models
from spintron_nn.config import CompileConfig
from spintron_nn.training.compiled import compile_with_spintronc, compiled_energy, run_with_spintronc
from spintron_nn.training.trainer import QuantizationAwareTrainer, TrainingOptions, train_float

CONFIG = CompileConfig(weight_bits=4, activation_bits=4, cell_bits=2, adc_bits=6, rows=128, cols=128)
RTL_SAMPLES = 8


def load_split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    return train_test_split(x, digits.target.astype(np.int64), test_size=0.3, random_state=0,
                            stratify=digits.target)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/output/digits")
    parser.add_argument("--backend", choices=("sim", "rtl"), default="sim",
                        help="rtl: also run a few samples on the generated Verilog")
    parser.add_argument("--float-epochs", type=int, default=60)
    parser.add_argument("--qat-epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-weights", action="store_true", help="write models/weights/digits_mlp.npz")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small layers: one thread is fastest on a shared machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()

    x_train, x_test, y_train, y_test = load_split()
    calibration = x_train[:256]
    torch.manual_seed(args.seed)
    model = models.get("digits_mlp")
    train_float(model, x_train, y_train, TrainingOptions(epochs=args.float_epochs, learning_rate=3e-3,
                                                         weight_decay=1e-4, seed=args.seed))
    with torch.no_grad():
        float_acc = accuracy(model(torch.from_numpy(x_test)).numpy(), y_test)
    print(f"float                       {float_acc:.4f}")

    qat = QuantizationAwareTrainer(copy.deepcopy(model), CONFIG, calibration, TrainingOptions(epochs=0))
    qat.network.calibrate(calibration)
    ptq_acc = qat.accuracy(x_test, y_test)
    print(f"W4A4 without QAT (fake-q)   {ptq_acc:.4f}")
    qat.options = TrainingOptions(epochs=args.qat_epochs, learning_rate=1e-4, batch_size=32, seed=args.seed)
    qat.fit(x_train, y_train)
    qat_acc = qat.accuracy(x_test, y_test)
    print(f"W4A4 QAT (fake-quantized)   {qat_acc:.4f}")

    targets = "ir,sim,report" + (",verilog" if args.backend == "rtl" else "")
    bundle = compile_with_spintronc(qat.model, out / "qat", calibration, CONFIG, targets=targets)
    simulated = run_with_spintronc(bundle, x_test, out / "qat")
    compiled_acc = accuracy(simulated, y_test)
    fake_outputs = qat.network.predict(x_test)
    same = float(np.mean(np.argmax(fake_outputs, 1) == np.argmax(simulated, 1)))
    print(f"W4A4 QAT, spintronc sim     {compiled_acc:.4f}  (same prediction as fake-quant: {same:.4f})")
    energy = compiled_energy(bundle)
    print(f"energy per inference        {energy['spintronic_energy_j'] * 1e12:.1f} pJ "
          f"(CMOS baseline {energy['cmos_energy_j'] * 1e12:.1f} pJ, report.json of the bundle)")

    rtl = None
    if args.backend == "rtl":
        rtl_outputs = run_with_spintronc(bundle, x_test[:RTL_SAMPLES], out / "qat", backend="rtl")
        rtl = {"samples": RTL_SAMPLES, "bit_exact_vs_sim": bool(np.array_equal(rtl_outputs, simulated[:RTL_SAMPLES])),
               "accuracy": accuracy(rtl_outputs, y_test[:RTL_SAMPLES])}
        print(f"RTL on {RTL_SAMPLES} samples: identical to sim: {rtl['bit_exact_vs_sim']}, accuracy {rtl['accuracy']:.3f}")

    if args.save_weights:
        print("saved", models.save_weights("digits_mlp", qat.model))
    report = {
        "config": CONFIG.to_json(), "test_samples": int(len(y_test)),
        "accuracy": {"float": float_acc, "w4a4_no_qat_fake_quant": ptq_acc, "w4a4_qat_fake_quant": qat_acc,
                     "w4a4_qat_spintronc_sim": compiled_acc},
        "qat_vs_float_points": 100 * (qat_acc - float_acc),
        "compiled_vs_fake_quant_points": 100 * (compiled_acc - qat_acc),
        "same_prediction_fraction": same, "energy": energy, "rtl": rtl,
        "seconds": time.time() - started,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    lines = [f"# digits example (W4A4, 2-bit cells, 6-bit ADC, 128x128)", "",
             "| model | test accuracy |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in report["accuracy"].items()]
    lines += ["", f"energy per inference: {energy['spintronic_energy_j'] * 1e12:.1f} pJ "
                  f"(CMOS baseline {energy['cmos_energy_j'] * 1e12:.1f} pJ)",
              f"RTL: {rtl}" if rtl else "RTL: not run (use --backend rtl)",
              f"run time: {report['seconds']:.0f} s"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"report: {out / 'report.md'} ({report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
