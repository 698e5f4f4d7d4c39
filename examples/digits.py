"""sklearn digits end to end: float -> QAT at W4A4 -> spintronc compile -> simulate (-> RTL).

    python examples/digits.py [--out examples/output/digits] [--seeds 3] [--backend rtl] [--save-weights]

Per training seed:

1. trains the zoo's ``digits_mlp`` in float;
2. quantization-aware training at W4A4, 8-bit logits (2-bit cells, 6-bit ADC, 128x128
   crossbars): every forward pass is the compiled design's integer result;
3. exports the trained model to ONNX and compiles it with ``spintronc compile``,
   runs the test set with ``spintronc run --backend sim`` and compares with the
   fake-quantized model.

``--backend rtl`` also runs a few test images of the first seed's design on the
generated Verilog (``spintronc run --backend rtl --simulator icarus``) and
checks them bit for bit against the simulator.

Data: the 540-image test split is only reported on.  ``RECIPE`` was chosen on
a validation split carved out of the training images
(``examples/digits_recipe_search.py``); the models train on the rest.

Prints the accuracies (per seed, and mean +- std) and writes ``report.json``
and ``report.md`` to ``--out``.  ``--save-weights`` writes the first seed's QAT
model as the zoo's pretrained weights.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from spintron_nn import models
from spintron_nn.config import CompileConfig
from spintron_nn.training.compiled import compile_with_spintronc, compiled_energy, run_with_spintronc
from spintron_nn.training.metrics import float_accuracy, top1_accuracy as accuracy
from spintron_nn.training.trainer import QuantizationAwareTrainer, TrainingOptions, train_float

# W4A4 crossbars; the 10 logits (which feed no crossbar) as 8-bit codes, so that they do
# not tie on a 16-level grid (docs/training.md, "8-bit logits")
CONFIG = CompileConfig(weight_bits=4, activation_bits=4, output_bits=8, cell_bits=2, adc_bits=6, rows=128, cols=128)
RTL_SAMPLES = 8
VALIDATION_FRACTION = 0.2  # of the training images (252 of 1257), stratified


@dataclass(frozen=True)
class Recipe:
    """How a seed's model is trained; ``calibration`` = how many training images calibrate."""

    float_epochs: int = 60
    float_learning_rate: float = 3e-3
    qat_epochs: int = 60
    qat_learning_rate: float = 1e-4
    qat_batch_size: int = 32
    calibration: int = 256
    # cosine decay to 0: with a constant rate the last epoch's weights of some
    # seeds landed on a loss spike (float 90.7 % vs 97 % typical, 2 of 10 seeds)
    schedule: str = "cosine"


# Chosen on the validation split by examples/digits_recipe_search.py (docs/training.md):
# the best of 16 float and then 18 QAT recipes, by mean over 6 search seeds.
RECIPE = Recipe(float_epochs=240, float_learning_rate=3e-2, qat_epochs=60, qat_learning_rate=1e-3,
                qat_batch_size=128, calibration=256, schedule="cosine")


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_split() -> Split:
    """The test split of make_digits_mlp.py (30 %, seed 0) and a validation split of the rest."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=VALIDATION_FRACTION,
                                                      random_state=1, stratify=y_rest)
    return Split(x_train, y_train, x_val, y_val, x_test, y_test)


def train_float_model(recipe: Recipe, split: Split, seed: int) -> torch.nn.Module:
    """The float model of ``seed``.

    At lr 3e-2 a fifth to a third of the hidden units stop firing and weight
    decay shrinks their rows to ~1e-35; the compiler gives such a channel the
    coarsest weight scale its bias code fits (``quant_math.fit_bias``,
    docs/semantics.md section 1), so no manual step is needed."""
    torch.manual_seed(seed)  # the layers' initial weights
    model = models.get("digits_mlp")
    train_float(model, split.x_train, split.y_train,
                TrainingOptions(epochs=recipe.float_epochs, learning_rate=recipe.float_learning_rate,
                                weight_decay=1e-4, schedule=recipe.schedule, seed=seed))
    return model


def quantization_aware(recipe: Recipe, float_model: torch.nn.Module, split: Split, seed: int,
                       train: bool = True) -> QuantizationAwareTrainer:
    """A W4A4 copy of ``float_model``, calibrated, fine-tuned with QAT when ``train``."""
    trainer = QuantizationAwareTrainer(copy.deepcopy(float_model), CONFIG, split.x_train[:recipe.calibration],
                                       TrainingOptions(epochs=recipe.qat_epochs, learning_rate=recipe.qat_learning_rate,
                                                       batch_size=recipe.qat_batch_size, schedule=recipe.schedule,
                                                       seed=seed))
    if train:
        trainer.fit(split.x_train, split.y_train)
    else:
        trainer.network.calibrate(trainer.calibration)
    return trainer


@dataclass
class SeedRun:
    result: dict               # accuracies of this seed (report.json)
    trainer: QuantizationAwareTrainer
    bundle: Path               # the QAT model compiled by spintronc
    simulated: np.ndarray      # its test logits from spintronc run --backend sim


def one_seed(recipe: Recipe, split: Split, seed: int, folder: Path, targets: str) -> SeedRun:
    """Float, W4A4 without and with QAT, and the QAT model through spintronc, on one seed."""
    model = train_float_model(recipe, split, seed)
    no_qat = quantization_aware(recipe, model, split, seed, train=False)
    qat = quantization_aware(recipe, model, split, seed)
    bundle = compile_with_spintronc(qat.model, folder, qat.calibration, CONFIG, targets=targets)
    simulated = run_with_spintronc(bundle, split.x_test, folder)
    fake_quantized = qat.network.predict(split.x_test)
    test = {"float": float_accuracy(model, split.x_test, split.y_test),
            "w4a4_no_qat_fake_quant": no_qat.accuracy(split.x_test, split.y_test),
            "w4a4_qat_fake_quant": accuracy(fake_quantized, split.y_test),
            "w4a4_qat_spintronc_sim": accuracy(simulated, split.y_test)}
    result = {
        "seed": seed,
        "validation": {"float": float_accuracy(model, split.x_val, split.y_val),
                       "w4a4_qat_fake_quant": qat.accuracy(split.x_val, split.y_val)},
        "test": test,
        "qat_vs_float_points": 100 * (test["w4a4_qat_spintronc_sim"] - test["float"]),
        "compiled_vs_fake_quant_points": 100 * (test["w4a4_qat_spintronc_sim"] - test["w4a4_qat_fake_quant"]),
        "same_prediction_fraction": float(np.mean(np.argmax(fake_quantized, 1) == np.argmax(simulated, 1))),
    }
    return SeedRun(result, qat, bundle, simulated)


def mean_std(values: list[float]) -> dict:
    return {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}


def summary(results: list[dict]) -> dict:
    """mean +- std over seeds of every test accuracy and of the QAT gap."""
    table = {name: mean_std([r["test"][name] for r in results]) for name in results[0]["test"]}
    table["qat_vs_float_points"] = mean_std([r["qat_vs_float_points"] for r in results])
    return table


def markdown(report: dict) -> str:
    seeds = report["per_seed"]
    lines = ["# digits example (W4A4 with 8-bit logits, 2-bit cells, 6-bit ADC, 128x128)", "",
             f"recipe: {report['recipe']}", f"test images: {report['test_samples']}, seeds: "
             f"{[r['seed'] for r in seeds]}", "",
             "| test accuracy | " + " | ".join(f"seed {r['seed']}" for r in seeds) + " | mean +- std |",
             "|---|" + "---|" * (len(seeds) + 1)]
    for name, stats in report["summary"].items():
        scale = 1 if name.endswith("points") else 100
        values = [r[name] if name.endswith("points") else r["test"][name] for r in seeds]
        lines.append(f"| {name} | " + " | ".join(f"{scale * v:.2f}" for v in values)
                     + f" | {scale * stats['mean']:.2f} +- {scale * stats['std']:.2f} |")
    energy = report["energy"]
    lines += ["", f"energy per inference (seed {seeds[0]['seed']}): {energy['spintronic_energy_j'] * 1e12:.1f} pJ "
                  f"(CMOS baseline {energy['cmos_energy_j'] * 1e12:.1f} pJ)",
              f"RTL: {report['rtl']}" if report["rtl"] else "RTL: not run (use --backend rtl)",
              f"run time: {report['seconds']:.0f} s"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="examples/output/digits")
    parser.add_argument("--backend", choices=("sim", "rtl"), default="sim",
                        help="rtl: also run a few samples of the first seed on the generated Verilog")
    parser.add_argument("--simulator", choices=("icarus", "verilator"), default="icarus",
                        help="RTL simulator for --backend rtl")
    parser.add_argument("--rtl-samples", type=int, default=RTL_SAMPLES)
    parser.add_argument("--seed", type=int, default=0, help="first training seed")
    parser.add_argument("--seeds", type=int, default=3, help="how many training seeds (seed, seed+1, ...)")
    parser.add_argument("--save-weights", action="store_true",
                        help="write the first seed's QAT model to models/weights/digits_mlp.npz")
    args = parser.parse_args()
    if args.seeds < 1 or args.rtl_samples < 1:
        parser.error("--seeds and --rtl-samples must be at least 1")
    torch.set_num_threads(1)  # small layers: one thread is fastest on a shared machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    split = load_split()

    runs = []
    for seed in range(args.seed, args.seed + args.seeds):
        # the first seed's design also gets the Verilog (Yosys adds ~10 s to compile)
        targets = "ir,sim,report" + (",verilog" if args.backend == "rtl" and not runs else "")
        runs.append(one_seed(RECIPE, split, seed, out / f"seed{seed}", targets))
        r = runs[-1].result
        print(f"seed {seed}: " + "  ".join(f"{k} {v:.4f}" for k, v in r["test"].items())
              + f"  QAT-float {r['qat_vs_float_points']:+.2f} points"
              + f"  (spintronc sim = fake-quant on {r['same_prediction_fraction']:.4f} of the images)")
    results = [run.result for run in runs]
    table = summary(results)
    for name, stats in table.items():
        scale, unit = (1, " points") if name.endswith("points") else (100, " %")
        print(f"{name:28s} {scale * stats['mean']:6.2f} +- {scale * stats['std']:.2f}{unit}")
    first = runs[0]
    energy = compiled_energy(first.bundle)
    print(f"energy per inference        {energy['spintronic_energy_j'] * 1e12:.1f} pJ "
          f"(CMOS baseline {energy['cmos_energy_j'] * 1e12:.1f} pJ, report.json of seed {args.seed}'s bundle)")

    rtl = None
    if args.backend == "rtl":
        count = min(args.rtl_samples, len(split.y_test))
        rtl_started = time.time()
        # the build dominates: Icarus builds in ~0.5 s where Verilator takes ~5 s (docs/training.md)
        rtl_outputs = run_with_spintronc(first.bundle, split.x_test[:count], out / f"seed{args.seed}",
                                         backend="rtl", simulator=args.simulator)
        rtl = {"samples": count, "simulator": args.simulator, "seconds": time.time() - rtl_started,
               "bit_exact_vs_sim": bool(np.array_equal(rtl_outputs, first.simulated[:count])),
               "accuracy": accuracy(rtl_outputs, split.y_test[:count])}
        print(f"RTL ({args.simulator}) on {count} samples: identical to sim: {rtl['bit_exact_vs_sim']}, "
              f"accuracy {rtl['accuracy']:.3f}, {rtl['seconds']:.1f} s")

    if args.save_weights:
        print("saved", models.save_weights("digits_mlp", first.trainer.model))
    report = {"config": CONFIG.to_json(), "recipe": asdict(RECIPE), "test_samples": int(len(split.y_test)),
              "validation_samples": int(len(split.y_val)), "training_samples": int(len(split.y_train)),
              "per_seed": results, "summary": table, "energy": energy, "rtl": rtl,
              "seconds": time.time() - started}
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    print(f"report: {out / 'report.md'} ({report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
