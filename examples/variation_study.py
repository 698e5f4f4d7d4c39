"""Accuracy vs conductance variation (0-20 %) for plain QAT vs variation-aware training.

    python examples/variation_study.py [--out examples/output/variation_study] [--plot docs/variation_study.png]

On the keyword task of ``wake_word.py`` (W4A4, 2-bit cells, 6-bit ADC): one
float model, then for each of ``--seeds`` training seeds a plain QAT and a
variation-aware QAT fine-tune (``wake_word.TRAINING_VARIATION``: 15 %
conductance variation injected per batch), ``--epochs`` epochs each.  Each model is evaluated at conductance variation
0, 5, 10, 15, 20 % on ``--device-seeds`` device draws (seeds ``1000 * (training
seed + 1) + d``), through
``FakeQuantNetwork`` with the simulator's noise model (tests/test_training_fake_quant.py
checks that this equals ``Design.run(noise=...)`` bit for bit).  Mean and
standard deviation over the seeds; the plot goes to ``--plot``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent))
import wake_word  # noqa: E402

from spintron_nn.backends.sim.noise import NoiseSpec  # noqa: E402

SIGMAS = (0.0, 0.05, 0.10, 0.15, 0.20)


def sweep(trainer, x, y, seed: int, device_seeds: int) -> list[float]:
    """Accuracy per sigma, averaged over ``device_seeds`` device draws."""
    return [float(np.mean([trainer.accuracy(x, y, noise=NoiseSpec(seed=1000 * (seed + 1) + d, conductance_variation=s))
                           for d in range(device_seeds)])) if s else trainer.accuracy(x, y)
            for s in SIGMAS]


def plot(path: Path, curves: dict[str, np.ndarray], seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for (label, acc), marker in zip(curves.items(), "os"):
        mean, std = 100 * acc.mean(axis=0), 100 * acc.std(axis=0)
        ax.errorbar(100 * np.array(SIGMAS), mean, yerr=std, marker=marker, capsize=3, label=label)
    ax.set_xlabel("conductance variation sigma (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"keyword CNN, W4A4, 2-bit cells, 6-bit ADC (mean +- std, {seeds} seeds)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    started = time.time()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", default="docs/variation_study.png")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs per model")
    parser.add_argument("--device-seeds", type=int, default=3, help="device draws per model and sigma")
    args, out, data = wake_word.keyword_run(parser, "examples/output/variation_study")
    x, y = data["x_test"], data["y_test"]
    float_model = wake_word.train_float_model(data)
    curves = {"plain QAT": [], "variation-aware QAT": []}
    for seed in range(args.seeds):
        for label, variation in (("plain QAT", None), ("variation-aware QAT", wake_word.TRAINING_VARIATION)):
            trainer = wake_word.fine_tune(float_model, data, variation=variation, seed=seed, epochs=args.epochs)
            curves[label].append(sweep(trainer, x, y, seed, args.device_seeds))
            print(f"seed {seed} {label:<20} " + " ".join(f"{a:.3f}" for a in curves[label][-1]), flush=True)
    arrays = {k: np.array(v) for k, v in curves.items()}
    plot(Path(args.plot), arrays, args.seeds)
    at10 = SIGMAS.index(0.10)
    gain = arrays["variation-aware QAT"][:, at10] - arrays["plain QAT"][:, at10]
    summary = {
        "sigmas": SIGMAS, "seeds": args.seeds, "epochs": args.epochs, "device_seeds": args.device_seeds,
        "training_variation": vars(wake_word.TRAINING_VARIATION), "test_clips": int(len(y)),
        "mean": {k: a.mean(axis=0).tolist() for k, a in arrays.items()},
        "std": {k: a.std(axis=0).tolist() for k, a in arrays.items()},
        "per_seed": {k: a.tolist() for k, a in arrays.items()},
        "gain_at_10pct_points": {"mean": float(100 * gain.mean()), "per_seed": (100 * gain).tolist(),
                                 "seeds_where_variation_aware_wins": int(np.sum(gain > 0))},
        "seconds": time.time() - started,
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2))
    lines = ["# accuracy vs conductance variation (keyword CNN, W4A4)", "",
             "| sigma | " + " | ".join(arrays) + " |", "|---|---|---|"]
    for i, s in enumerate(SIGMAS):
        lines.append(f"| {100 * s:.1f} % | " + " | ".join(
            f"{100 * a[:, i].mean():.1f} +- {100 * a[:, i].std():.1f}" for a in arrays.values()) + " |")
    lines += ["", f"gain of variation-aware training at 10 %: {100 * gain.mean():+.1f} points "
                  f"(wins on {int(np.sum(gain > 0))}/{args.seeds} seeds)", f"plot: {args.plot}",
              f"run time: {summary['seconds']:.0f} s"]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
