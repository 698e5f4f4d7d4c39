"""Clock cycles of one vector through the generated RTL (docs/verilog.md).

From the edge that accepts the first input code to the edge that delivers
the last output word, with out_ready held high:

    N_IN - 1 + sum over stages (work + 3) + N_OUT

``+3`` is the start handshake, the engine's FINISH state and the sequencer
seeing ``done``.  The testbench with ``+no_backpressure`` measures exactly this.
"""

from __future__ import annotations

from spintron_nn.backends.verilog.plan import Plan, Stage

STAGE_OVERHEAD = 3


def stage_work(stage: Stage) -> int:
    p = stage.parameters
    if stage.module == "spin_tile":
        return p["M"] * (p["R"] + 2 * p["IB"] + p["C"])  # load rows, read+accumulate per bit, write
    if stage.module == "spin_reduce":
        return p["N_OUT"] * p["K"]  # one window entry a cycle
    return p["N"]  # requant, map, add: one element a cycle


def cycles_per_vector(plan: Plan) -> int:
    outputs = sum(o.addresses.size for o in plan.outputs)
    return plan.input_words - 1 + sum(stage_work(s) + STAGE_OVERHEAD for s in plan.stages) + outputs
