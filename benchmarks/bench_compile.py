"""Compile time of a ResNet-18-sized network (11.7 M weights), per pass.

    python benchmarks/bench_compile.py [--calibration-images 4] [--simulate 1]

Target (issue 4): the whole compile <= 60 s on a 2-core machine.  Prints the
seconds of every stage measured in this one run, and optionally the simulator's
time per image.  Not a test: timings depend on the machine's load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class ResNet18(nn.Module):
    """The standard ResNet-18 layout (He et al. 2016): 11.69 M parameters."""

    def __init__(self, classes: int = 1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
        )
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.blocks = nn.Sequential(*layers)
        self.head = nn.Linear(512, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibration-images", type=int, default=4)
    parser.add_argument("--simulate", type=int, default=1, help="images to simulate (0: skip)")
    args = parser.parse_args()

    from spintron_nn.api import _float_passes
    from spintron_nn.frontend import load_model
    from spintron_nn.passes.flows import quantize_and_lower
    from spintron_nn.passes.pipeline import PassTiming

    torch.manual_seed(0)
    model = ResNet18().eval()
    weights = sum(p.numel() for p in model.parameters())
    rng = np.random.default_rng(0)
    calibration = rng.standard_normal((args.calibration_images, 3, 224, 224)).astype(np.float32)

    stages: list[tuple[str, float]] = []
    start = time.perf_counter()
    module = load_model(model, example_input=torch.from_numpy(calibration[:1]))
    stages.append(("import (torch export + ONNX frontend)", time.perf_counter() - start))

    timings: list[PassTiming] = []
    t0 = time.perf_counter()
    _float_passes(module, None, None)
    stages.append(("float passes", time.perf_counter() - t0))
    quantize_and_lower(module, [calibration], pipeline="", timings=timings)
    total = time.perf_counter() - start

    print(f"ResNet-18: {weights / 1e6:.2f} M weights, 224x224, {args.calibration_images} calibration images")
    for name, seconds in stages:
        print(f"  {name:40s} {seconds:7.2f} s")
    for t in timings:
        print(f"  pass {t.name:35s} {t.seconds:7.2f} s")
    print(f"  {'TOTAL compile':40s} {total:7.2f} s   (target <= 60 s)")

    if args.simulate:
        from spintron_nn.backends.sim.executor import run_spin
        from spintron_nn.runtime import kernel_info

        t0 = time.perf_counter()
        run_spin(module, [calibration[: args.simulate]])
        per_image = (time.perf_counter() - t0) / args.simulate
        print(f"simulation: {per_image:.2f} s per image ({kernel_info()})")


if __name__ == "__main__":
    main()
