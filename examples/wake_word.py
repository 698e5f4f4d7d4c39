"""Keyword spotting on spintronic crossbars: float vs QAT vs variation-aware training.

    python examples/wake_word.py [--out examples/output/wake_word] [--save-weights]

1. makes (or reuses) the keyword dataset of ``examples/keyword_data.py``
   (espeak-ng voices, noise, time shifts, numpy MFCCs; test voices unseen);
2. trains the zoo's ``keyword_cnn`` in float;
3. fine-tunes it at W4A4 (2-bit cells, 6-bit ADC, 128x128 crossbars):
   plain QAT, and variation-aware QAT (15 % conductance variation drawn by
   the simulator's device model, a new seed per batch); and a third,
   energy-aware QAT (``ENERGY_WEIGHT`` times the bit-serial energy regulariser);
4. compiles each with ``spintronc compile`` and runs the test set with
   ``spintronc run --backend sim`` (compiled accuracy vs fake-quantized);
5. measures the compiled designs under device variation (``Design.run`` with
   a ``NoiseSpec``: 10 % conductance variation, 5 device seeds);
6. energy per inference from the bundle's report (``estimate-energy``) and,
   with the measured fraction of 1 input bits, from the cost model.

Prints the results and writes ``report.json`` / ``report.md`` to ``--out``.
Needs espeak-ng (``apt-get install -y espeak-ng``) the first time, to make the data.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import keyword_data  # noqa: E402  (a sibling script)

from spintron_nn import models  # noqa: E402
from spintron_nn.backends.sim.noise import NoiseSpec  # noqa: E402
from spintron_nn.config import CompileConfig  # noqa: E402
from spintron_nn.design import Design  # noqa: E402
from spintron_nn.training.compiled import compile_with_spintronc, compiled_energy, run_with_spintronc  # noqa: E402
from spintron_nn.training.energy import crossbar_energy  # noqa: E402
from spintron_nn.training.trainer import (  # noqa: E402
    QuantizationAwareTrainer, TrainingOptions, Variation, train_float)

CONFIG = CompileConfig(weight_bits=4, activation_bits=4, cell_bits=2, adc_bits=6, rows=128, cols=128)
TRAINING_VARIATION = Variation(conductance_variation=0.15)
TEST_VARIATION = 0.10
DEVICE_SEEDS = 5
ENERGY_WEIGHT = 10.0


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train_float_model(data: dict, seed: int = 0, epochs: int = 20) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = models.get("keyword_cnn", classes=len(data["keywords"]))
    train_float(model, data["x_train"], data["y_train"],
                TrainingOptions(epochs=epochs, learning_rate=3e-3, weight_decay=1e-4, seed=seed))
    return model


def fine_tune(float_model: torch.nn.Module, data: dict, *, variation: Variation | None, seed: int = 0,
              epochs: int = 2, energy_weight: float = 0.0) -> QuantizationAwareTrainer:
    """QAT (``variation=None``), variation-aware or energy-aware QAT from a copy of ``float_model``."""
    trainer = QuantizationAwareTrainer(
        copy.deepcopy(float_model), CONFIG, calibration_set(data),
        TrainingOptions(epochs=epochs, learning_rate=5e-4, seed=seed, variation=variation,
                        energy_weight=energy_weight))
    trainer.fit(data["x_train"], data["y_train"])
    return trainer


def calibration_set(data: dict) -> np.ndarray:
    return data["x_train"][:256]


def keyword_run(parser: argparse.ArgumentParser, default_out: str) -> tuple[argparse.Namespace, Path, dict]:
    """Parse the common options (``--out``, ``--data``), make the output folder, load the data."""
    parser.add_argument("--out", default=default_out)
    parser.add_argument("--data", help="keyword dataset .npz (default: OUT/keywords.npz, made if missing)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small layers: one thread is fastest on a shared machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return args, out, keyword_data.load_or_make(args.data or out / "keywords.npz")


def main() -> None:
    started = time.time()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save-weights", action="store_true", help="write models/weights/keyword_cnn.npz")
    args, out, data = keyword_run(parser, "examples/output/wake_word")
    x_test, y_test = data["x_test"], data["y_test"]
    print(f"data: {len(data['y_train'])} train / {len(y_test)} test clips (unseen voices), "
          f"keywords {', '.join(data['keywords'])}")

    float_model = train_float_model(data)
    with torch.no_grad():
        float_acc = accuracy(float_model(torch.from_numpy(x_test)).numpy(), y_test)
    print(f"float                          {float_acc:.4f}")

    results = {"float": {"accuracy": float_acc}}
    for name, variation, energy_weight in (("qat", None, 0.0), ("variation_aware", TRAINING_VARIATION, 0.0),
                                           ("energy_aware", None, ENERGY_WEIGHT)):
        trainer = fine_tune(float_model, data, variation=variation, energy_weight=energy_weight)
        fake_acc = trainer.accuracy(x_test, y_test)
        bundle = compile_with_spintronc(trainer.model, out / name, calibration_set(data), CONFIG)
        compiled_acc = accuracy(run_with_spintronc(bundle, x_test, out / name), y_test)
        design = Design.load(bundle)
        noisy = [accuracy(design.run(x_test, noise=NoiseSpec(conductance_variation=TEST_VARIATION), seed=s)[0],
                          y_test) for s in range(DEVICE_SEEDS)]
        energy = compiled_energy(bundle)
        measured = crossbar_energy(trainer.network, x_test[:64])
        results[name] = {
            "fake_quant_accuracy": fake_acc, "spintronc_sim_accuracy": compiled_acc,
            "accuracy_at_10pct_variation": {"mean": float(np.mean(noisy)), "std": float(np.std(noisy)),
                                            "per_device_seed": noisy},
            "energy_per_inference_j": energy,
            "crossbar_energy_measured_one_bits_j": measured["energy_j"],
            "input_one_bit_fractions": measured["one_fractions"],
        }
        print(f"{name:<16} fake-quant {fake_acc:.4f}  spintronc sim {compiled_acc:.4f}  "
              f"@10% variation {np.mean(noisy):.4f} +- {np.std(noisy):.4f}  "
              f"energy {energy['spintronic_energy_j'] * 1e9:.2f} nJ/inference (report.json), crossbar layers "
              f"{measured['energy_j'] * 1e9:.2f} nJ with measured 1-bit fractions "
              f"{', '.join(f'{f:.2f}' for f in measured['one_fractions'])}")
        if args.save_weights and name == "qat":
            print("saved", models.save_weights("keyword_cnn", trainer.model))

    report = {"config": CONFIG.to_json(), "training_variation": vars(TRAINING_VARIATION),
              "test_variation": TEST_VARIATION, "device_seeds": DEVICE_SEEDS,
              "test_clips": int(len(y_test)), "results": results, "seconds": time.time() - started}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    lines = ["# wake word example (W4A4, 2-bit cells, 6-bit ADC, 128x128)", "",
             f"float accuracy: {float_acc:.4f} on {len(y_test)} test clips of unseen voices", "",
             "| model | fake-quant | spintronc sim | sim @ 10 % conductance variation (5 seeds) "
             "| energy/inference (report) | crossbar energy, measured 1-bits |",
             "|---|---|---|---|---|---|"]
    for name in ("qat", "variation_aware", "energy_aware"):
        r = results[name]
        v = r["accuracy_at_10pct_variation"]
        lines.append(f"| {name} | {r['fake_quant_accuracy']:.4f} | {r['spintronc_sim_accuracy']:.4f} | "
                     f"{v['mean']:.4f} +- {v['std']:.4f} | {r['energy_per_inference_j']['spintronic_energy_j'] * 1e9:.2f} nJ "
                     f"| {r['crossbar_energy_measured_one_bits_j'] * 1e9:.2f} nJ |")
    lines += ["", f"run time: {report['seconds']:.0f} s"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"report: {out / 'report.md'} ({report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
