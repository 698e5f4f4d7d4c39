"""The ``sim`` backend as ``Design.run`` calls it."""

from __future__ import annotations

from typing import Any

import numpy as np

from spintron_nn.backends.sim.executor import run_spin


def run_design(
    design: Any, inputs: list[np.ndarray], *, noise: Any = None, seed: int = 0, **options: Any
) -> list[np.ndarray]:
    if options:
        from spintron_nn.errors import SpintronError

        raise SpintronError(f"the sim backend takes no option(s) {', '.join(options)}")
    return run_spin(design.spin_module, inputs, noise=noise, seed=seed)
