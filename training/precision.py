"""Energy-aware choice of per-layer weight and activation widths (mixed precision), after training.

    choice = choose_layer_weight_bits(model, CompileConfig(activation_bits=4), calibration,
                                      x_val, y_val, widths=(8, 6, 4, 3, 2), max_accuracy_drop=0.01)
    choice["config"]      # a CompileConfig with the chosen layer_weight_bits
    choice = choose_layer_widths(model, config, calibration, x_val, y_val, widths=(8, 4, 3),
                                 activation_widths=(8, 6, 4))   # weights and layer results

Greedy, one width one step narrower at a time: starting from every matrix
layer at the widest width (and, with ``activation_widths``, the network's
inputs and every matrix layer's result but the network output at the widest
activation width; with ``adc_widths``, every layer's ADC at the widest), each round tries every knob at its next narrower width and
keeps the move that saves the most crossbar energy per accuracy point it
costs, among the moves that keep the accuracy within ``max_accuracy_drop`` of
the all-widest design and save energy; it stops when no move qualifies.  A
narrower result saves read cycles of the layers that read it (bit-serial
inputs); a narrower weight saves cell slices.  Every candidate is measured, not estimated: its accuracy
is the fake-quantized network's (the compiled design's integer result, the
compiler's own calibration and ADC shifts for that width choice) and its
energy :func:`training.energy.crossbar_energy` (measured input one-bit
fractions and the weights' actual cell levels on ``energy_inputs``).

Widths are a discrete choice with no useful gradient (a code's level sum is a
staircase, ``training/energy.py``), so this is a search, not a regulariser;
``QuantizationAwareTrainer`` can then fine-tune at the chosen config.  Use a
validation split: the search selects on ``x, y``.  Cost: up to ``layers x
(len(widths) - 1)`` rounds of at most ``layers`` compiles and forwards each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training.energy import crossbar_energy
from spintron_nn.training.metrics import top1_accuracy
from spintron_nn.training.network import FakeQuantNetwork
from spintron_nn.training.steps import MatrixStep


def _ladder(widths: Sequence[int], what: str, low: int, high: int) -> tuple[int, ...]:
    """``widths`` as a widest-first tuple of distinct integers in ``low..high``."""
    if not isinstance(widths, (list, tuple, np.ndarray)):
        raise SpintronError(f"choose_layer_widths: {what} must be a sequence of bit widths, got {widths!r}")
    values = sorted({int(b) if isinstance(b, np.integer) else b for b in widths}, reverse=True)
    if not values:
        raise SpintronError(f"choose_layer_widths: give at least one of the {what}")
    for bits in values:
        if not isinstance(bits, int) or isinstance(bits, bool) or not low <= bits <= high:
            raise SpintronError(f"choose_layer_widths: {what} must be integers in {low}..{high}, got {bits!r}")
    return tuple(values)


def _check_data(config: CompileConfig, calibration: np.ndarray, x: np.ndarray, y: np.ndarray,
                energy_inputs: np.ndarray) -> None:
    if not any(target != "ir" for target in config.targets):
        raise SpintronError("choose_layer_weight_bits: the config maps nothing (targets 'ir' only); "
                            "widths are chosen for a crossbar design")
    if y.ndim != 1 or len(x) != len(y) or not len(x):
        raise SpintronError(f"choose_layer_weight_bits: x ({len(x)} items) and y ({y.shape}) must be "
                            "a non-empty batch and one label per item")
    for name, array in (("calibration", calibration), ("energy_inputs", energy_inputs)):
        if not len(array):
            raise SpintronError(f"choose_layer_weight_bits: {name} is empty")
        if array.shape[1:] != x.shape[1:]:
            raise SpintronError(f"choose_layer_weight_bits: {name} items have shape {array.shape[1:]}, "
                                f"x items {x.shape[1:]}")


# knob kinds; INPUT's layer name is "input"
WEIGHT, ACTIVATION, INPUT, ADC = "weight", "activation", "input", "ADC"


def _config(config: CompileConfig, widest: dict[str, int], choice: dict[tuple[str, str], int]) -> CompileConfig:
    """``config`` at the ``widest`` weight (and activation) width, with the knobs of ``choice``
    (``(kind, layer) -> bits``) narrower than that listed per layer."""
    def narrower(kind: str) -> dict[str, int]:
        return {name: bits for (k, name), bits in choice.items() if k == kind and bits != widest[kind]}

    changes = {"weight_bits": widest[WEIGHT], "layer_weight_bits": narrower(WEIGHT)}
    if ACTIVATION in widest:
        input_bits = choice.get((INPUT, "input"), widest[ACTIVATION])
        changes.update(activation_bits=widest[ACTIVATION], layer_activation_bits=narrower(ACTIVATION),
                       input_bits=None if input_bits == widest[ACTIVATION] else input_bits)
    if ADC in widest:
        changes.update(adc_bits=widest[ADC], layer_adc_bits=narrower(ADC))
    return config.replace(**changes)


def _measure(model, config: CompileConfig, calibration, x, y, energy_inputs) -> dict:
    net = FakeQuantNetwork(model, config)
    net.calibrate(calibration)
    with torch.no_grad():
        accuracy = top1_accuracy(net.predict(x), y)
    return {"layer_weight_bits": dict(config.layer_weight_bits),
            "layer_activation_bits": dict(config.layer_activation_bits), "input_bits": config.graph_input_bits,
            "layer_adc_bits": dict(config.layer_adc_bits),
            "accuracy": accuracy,
            "energy_j": crossbar_energy(net, energy_inputs)["energy_j"]}


def _matrix_steps(model: torch.nn.Module) -> list[MatrixStep]:
    return [step for step in FakeQuantNetwork(model).steps if isinstance(step, MatrixStep)]


def _narrowable_results(model: torch.nn.Module) -> list[MatrixStep]:
    """The matrix steps whose result width can save energy: those whose codes another matrix
    layer reads bit-serially (a network output's width is ``output_bits``, never a knob)."""
    graph = FakeQuantNetwork(model).graph
    return [node.step for node in graph.nodes
            if isinstance(node.step, MatrixStep) and not node.step.is_output
            and graph.reaches_matrix_input(node.output)]


def matrix_layer_names(model: torch.nn.Module) -> list[str]:
    """The compiler's names of ``model``'s matrix layers (``layer0``, ...), in graph order."""
    return [f"layer{step.index}" for step in _matrix_steps(model)]


def choose_layer_weight_bits(model: torch.nn.Module, config: CompileConfig, calibration: np.ndarray,
                             x: np.ndarray, y: np.ndarray, *, widths: Sequence[int] = (8, 6, 4, 3, 2),
                             max_accuracy_drop: float = 0.01, energy_inputs: np.ndarray | None = None,
                             progress: Callable[[str], None] | None = None) -> dict:
    """Greedy per-layer weight widths for ``model`` (trained, float or QAT) under ``config``'s
    other choices; ``max_accuracy_drop`` a fraction (0.01 = one point) below the all-widest design.

    The returned config is ``config`` with ``weight_bits`` the widest width and the narrower
    layers in ``layer_weight_bits`` (the ones given are replaced).
    Returns ``{"config", "layer_weight_bits", "accuracy", "energy_j", "widest", "steps"}``:
    ``widest`` the all-widest design's measurement, ``steps`` every accepted move's
    (``layer``, ``bits``, ``accuracy``, ``energy_j``), in order."""
    return choose_layer_widths(model, config, calibration, x, y, widths=widths, max_accuracy_drop=max_accuracy_drop,
                               energy_inputs=energy_inputs, progress=progress)


def choose_layer_widths(model: torch.nn.Module, config: CompileConfig, calibration: np.ndarray,
                        x: np.ndarray, y: np.ndarray, *, widths: Sequence[int] = (8, 6, 4, 3, 2),
                        activation_widths: Sequence[int] = (), adc_widths: Sequence[int] = (),
                        max_accuracy_drop: float = 0.01,
                        energy_inputs: np.ndarray | None = None,
                        progress: Callable[[str], None] | None = None) -> dict:
    """:func:`choose_layer_weight_bits`, and with ``activation_widths`` also the code width of
    the network's inputs and of every matrix layer's result that another matrix layer reads
    bit-serially (one that reaches no matrix layer, e.g. the last layer before a returned global
    pool, would save nothing when narrowed, so it is not measured).  The design starts with
    ``activation_bits`` the widest of ``activation_widths``; narrower results are listed in the
    returned config's ``layer_activation_bits``, a narrower input width is its ``input_bits``
    (the search owns these three: ``config`` must not set ``input_bits`` or
    ``layer_activation_bits`` then).  With ``adc_widths`` (1..12 bits) every layer's ADC
    resolution is a knob too, from the widest (``adc_bits``; ``layer_adc_bits`` then unset).
    Returns the same keys plus ``layer_activation_bits``, ``input_bits`` and ``layer_adc_bits``;
    each step also has ``kind`` ("weight", "activation", "input", whose layer is "input", or "ADC")."""
    widths = _ladder(widths, "weight widths", 2, 8)
    activation_widths = _ladder(activation_widths, "activation widths", 2, 8) if len(activation_widths) else ()
    if activation_widths and (config.input_bits is not None or config.layer_activation_bits):
        raise SpintronError("choose_layer_widths: with activation_widths the search chooses input_bits and "
                            "layer_activation_bits; leave them unset in config")
    adc_widths = _ladder(adc_widths, "ADC widths", 1, 12) if len(adc_widths) else ()
    if adc_widths and config.layer_adc_bits:
        raise SpintronError("choose_layer_widths: with adc_widths the search chooses layer_adc_bits; "
                            "leave it unset in config")
    if not 0 <= max_accuracy_drop <= 1:
        raise SpintronError(f"max_accuracy_drop is a fraction in 0..1, got {max_accuracy_drop!r}")
    calibration, x, y = np.asarray(calibration, dtype=np.float32), np.asarray(x, dtype=np.float32), np.asarray(y)
    energy_inputs = np.asarray(x[:256] if energy_inputs is None else energy_inputs, dtype=np.float32)
    _check_data(config, calibration, x, y, energy_inputs)
    modes = {module: module.training for module in model.modules()}  # each its own (a frozen BN stays so)
    model.eval()
    try:
        steps_of_model = _matrix_steps(model)
        ladders = {(WEIGHT, f"layer{s.index}"): widths for s in steps_of_model}
        if activation_widths:
            ladders[(INPUT, "input")] = activation_widths
            ladders.update({(ACTIVATION, f"layer{s.index}"): activation_widths
                            for s in _narrowable_results(model)})
        if adc_widths:
            ladders.update({(ADC, f"layer{s.index}"): adc_widths for s in steps_of_model})
        widest = {WEIGHT: widths[0], **({ACTIVATION: activation_widths[0]} if activation_widths else {}),
                  **({ADC: adc_widths[0]} if adc_widths else {})}
        current = {knob: ladder[0] for knob, ladder in ladders.items()}

        def measure(choice: dict[tuple[str, str], int]) -> dict:
            return _measure(model, _config(config, widest, choice), calibration, x, y, energy_inputs)

        start = best = measure(current)
        floor = start["accuracy"] - max_accuracy_drop
        steps = []
        while True:
            moves = []
            for knob, ladder in ladders.items():
                narrower = [b for b in ladder if b < current[knob]]
                if not narrower:
                    continue
                trial = measure({**current, knob: narrower[0]})
                saved = best["energy_j"] - trial["energy_j"]
                if trial["accuracy"] >= floor - 1e-12 and saved > 0:
                    # energy saved per accuracy lost; one sample's worth keeps free moves finite
                    cost = max(best["accuracy"] - trial["accuracy"], 0.0) + 1.0 / len(y)
                    moves.append((saved / cost, knob, narrower[0], trial))
            if not moves:
                break
            _, knob, bits, best = max(moves, key=lambda move: move[0])
            current[knob] = bits
            kind, name = knob
            steps.append({"kind": kind, "layer": name, "bits": bits, "accuracy": best["accuracy"],
                          "energy_j": best["energy_j"]})
            if progress:
                tag = {WEIGHT: "W", ADC: "ADC"}.get(kind, "A")
                progress(f"{name} -> {tag}{bits}: accuracy {best['accuracy'] * 100:.2f} %, "
                         f"crossbar energy {best['energy_j'] * 1e9:.2f} nJ")
    finally:
        for module, training in modes.items():
            module.training = training
    chosen = _config(config, widest, current)
    return {"config": chosen, "layer_weight_bits": dict(chosen.layer_weight_bits),
            "layer_activation_bits": dict(chosen.layer_activation_bits), "input_bits": chosen.graph_input_bits,
            "layer_adc_bits": dict(chosen.layer_adc_bits), "accuracy": best["accuracy"],
            "energy_j": best["energy_j"], "widest": start, "steps": steps}
