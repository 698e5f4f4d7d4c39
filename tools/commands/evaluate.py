"""``spintronc evaluate OUT/ --input X --labels Y.npy [device flags] [--draws N]``: top-1 accuracy.

The question the tool answers, from the command line: the accuracy of the
float model, of the compiled design (bit-exact simulator) and, with device
flags, of the design on ``--draws`` drawn chips (draw ``d`` is exactly
``spintronc run --backend sim --seed SEED+d`` with the same flags), as mean,
standard deviation, worst and best over the draws.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from spintron_nn.errors import SpintronError
from spintron_nn.tools.commands.run import add_device_arguments, sim_noise

MAX_DRAWS = 1000
DEFAULT_DRAWS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="design bundle folder (compiled with a crossbar target)")
    parser.add_argument("--input", required=True, help=".npy (single input) or .npz keyed by input name")
    parser.add_argument("--labels", required=True, help=".npy of integer class labels, one per input item")
    parser.add_argument("--draws", type=int, help=f"device draws with device flags, 1..{MAX_DRAWS} (default 5)")
    parser.add_argument("--seed", type=int, help="seed of the first draw (draw d: SEED+d; default 0)")
    parser.add_argument("--json", help="also write the results to this .json file")
    add_device_arguments(parser, "device non-idealities of the drawn chips (docs/semantics.md section 10)")


def _labels(path: str, items: int, classes: int) -> np.ndarray:
    from spintron_nn.array_files import read_array_file

    labels = read_array_file(path)
    if not isinstance(labels, np.ndarray):
        labels.close()  # an .npz archive
        raise SpintronError("labels must be a .npy array, not an .npz archive", path=path)
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        raise SpintronError("labels must be a 1-D array of integer class indices", path=path)
    if len(labels) != items:
        raise SpintronError(f"{len(labels)} labels for {items} input items", path=path)
    if len(labels) and (labels.min() < 0 or labels.max() >= classes):
        raise SpintronError(f"labels must be class indices in 0..{classes - 1}", path=path)
    return labels.astype(np.int64)


def _accuracy(outputs: list[np.ndarray], labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(outputs[0], axis=1) == labels))


def evaluate(design, inputs: list[np.ndarray], labels: np.ndarray, noise, draws: int, seed: int,
             float_outputs: list[np.ndarray] | None = None) -> dict:
    """Accuracies of ``design`` on ``inputs``: float, sim, and per device draw (seeds ``seed + d``);
    ``float_outputs``: the float run, when the caller has it already."""
    float_outputs = float_outputs if float_outputs is not None else design.run(inputs, backend="float")
    result = {"items": int(len(labels)), "float": _accuracy(float_outputs, labels),
              "sim": _accuracy(design.run(inputs, backend="sim"), labels)}
    if noise is not None:
        per_draw = [{"seed": seed + d,
                     "accuracy": _accuracy(design.run(inputs, backend="sim", noise=noise, seed=seed + d), labels)}
                    for d in range(draws)]
        scores = np.array([d["accuracy"] for d in per_draw])
        result["devices"] = {
            "noise": {k: v for k, v in dataclasses.asdict(noise).items()
                      if k not in ("seed", "tile_id", "sample_offset")},
            "draws": per_draw, "mean": float(scores.mean()),
            "std": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0,
            "min": float(scores.min()), "max": float(scores.max())}
    return result


def _results_path(args: argparse.Namespace) -> Path | None:
    """``--json``, checked before any work: a .json file name in an existing folder that is
    none of the command's own inputs (and not inside the bundle)."""
    if args.json is None:
        return None
    path = Path(args.json)
    if path.suffix != ".json":
        raise SpintronError("the results file name must end in .json", path=args.json)
    if path.is_dir():
        raise SpintronError("is a folder; give a file name", path=args.json)
    if not path.parent.is_dir():
        raise SpintronError("folder for the results does not exist", path=args.json)
    from spintron_nn.tools.atomic import refuse_clobbering

    refuse_clobbering(path, inputs=(args.input, args.labels), folder=args.bundle, what="the results file")
    return path


def _draws_and_seed(args: argparse.Namespace, noise) -> tuple[int, int]:
    if noise is None:
        given = [flag for flag, value in (("--draws", args.draws), ("--seed", args.seed)) if value is not None]
        if given:
            raise SpintronError(f"{' and '.join(given)} apply with device flags (e.g. --conductance-variation 0.1)")
        return 0, 0
    if noise.is_off:
        raise SpintronError("the device flags draw nothing (every rate and sigma is 0): give "
                            "--conductance-variation, --read-noise, --stuck-at-zero or --stuck-at-one")
    draws = DEFAULT_DRAWS if args.draws is None else args.draws
    seed = 0 if args.seed is None else args.seed
    if not 1 <= draws <= MAX_DRAWS:
        raise SpintronError(f"--draws must be in 1..{MAX_DRAWS}, got {draws}")
    if not 0 <= seed <= 2**64 - draws:
        raise SpintronError(f"--seed must leave room for {draws} draws below 2**64, got {seed}")
    return draws, seed


def run(args: argparse.Namespace) -> int:
    from spintron_nn.array_files import checked_inputs, load_arrays
    from spintron_nn.design import Design

    noise = sim_noise(args)  # the device model of the flags (the seeds are checked below, per draw)
    draws, seed = _draws_and_seed(args, noise)
    results = _results_path(args)
    design = Design.load(args.bundle)
    if design.spin_module is None:
        raise SpintronError("the bundle has no crossbar design (compiled with --targets ir)", path=args.bundle)
    if len(design.output_names) != 1:
        raise SpintronError(f"evaluate needs a classifier with one output; the design has "
                            f"{len(design.output_names)} ({', '.join(design.output_names)})", path=args.bundle)
    inputs = checked_inputs(design.float_module, load_arrays(args.input, design.input_names), path=args.input)
    float_outputs = design.run(inputs, backend="float")
    scores = float_outputs[0]
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise SpintronError(f"evaluate needs class scores [N, classes]; the output is "
                            f"{list(scores.shape[1:])} per item", path=args.bundle)
    labels = _labels(args.labels, len(scores), scores.shape[1])
    result = evaluate(design, inputs, labels, noise, draws, seed, float_outputs)
    print(f"float  {result['float'] * 100:6.2f} %  ({result['items']} items)")
    print(f"sim    {result['sim'] * 100:6.2f} %  (bit-exact, ideal devices)")
    if "devices" in result:
        found = result["devices"]
        print(f"chips  {found['mean'] * 100:6.2f} +- {found['std'] * 100:.2f} %  (min {found['min'] * 100:.2f}, "
              f"max {found['max'] * 100:.2f}; {draws} draw{'s' if draws > 1 else ''}, "
              f"seeds {seed}..{seed + draws - 1})")
    if results is not None:
        from spintron_nn.tools.atomic import atomic_output_file

        with atomic_output_file(results) as tmp:
            Path(tmp).write_text(json.dumps(result, indent=2) + "\n")
    return 0
