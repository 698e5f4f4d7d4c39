"""``QuantizationAwareTrainer``: QAT, variation-aware and energy-aware training.

    trainer = QuantizationAwareTrainer(model, CompileConfig(weight_bits=4, activation_bits=4),
                                       calibration, TrainingOptions(epochs=10))
    trainer.fit(x_train, y_train)
    trainer.accuracy(x_test, y_test)       # of the fake-quantized model = the compiled design's

* QAT: every forward is the compiled design's integer result
  (:class:`FakeQuantNetwork`), gradients straight through.  The compiler's
  ranges and ADC shifts are re-taken from ``calibration`` at the start of
  every epoch and after the last one, so the final model is calibrated the way
  ``spintronc compile --calibration`` will calibrate it.
* variation-aware: ``options.variation`` (a :class:`Variation`) injects the
  simulator's device model (multiplicative conductance variation per cell,
  stuck-at-0 / stuck-at-max cells, semantics section 10) into every training
  batch, with a fresh seed per batch derived from ``options.seed``.
* energy-aware: ``options.energy_weight * E_bits / E_max`` is added to the
  loss (training/energy.py).
* ``options.schedule = "cosine"`` decays the learning rate per step from
  ``learning_rate`` to 0 over the run (``"constant"`` keeps it).
* ``fit(x, y, validation=(x_val, y_val))`` measures the validation accuracy
  after every epoch (for QAT: re-calibrated, fake-quantized = compiled) and
  ends with the best epoch's weights, re-calibrated; ``History`` records the
  accuracies and the chosen epoch.  Recipes are chosen on a validation split,
  never on the test set.

Batches are drawn with a seeded ``torch.Generator``; the same inputs and
options give the same model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from spintron_nn.backends.sim.noise import NoiseSpec
from spintron_nn.config import CompileConfig
from spintron_nn.errors import SpintronError
from spintron_nn.training.energy import energy_regulariser
from spintron_nn.training.learned_clip import clip_decay_penalty
from spintron_nn.training.metrics import float_accuracy, top1_accuracy
from spintron_nn.training.network import FakeQuantNetwork


@dataclass(frozen=True)
class Variation:
    """Device non-idealities injected per training batch (fractions, not percent)."""

    conductance_variation: float = 0.1
    stuck_at_zero: float = 0.0
    stuck_at_one: float = 0.0
    verified_column_sums: bool = False  # train for hardware that reads its cells back (NoiseSpec's option)

    def noise(self, seed: int) -> NoiseSpec:
        return NoiseSpec(seed=seed, conductance_variation=self.conductance_variation,
                         stuck_at_zero=self.stuck_at_zero, stuck_at_one=self.stuck_at_one,
                         verified_column_sums=self.verified_column_sums)


@dataclass(frozen=True)
class TrainingOptions:
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    variation: Variation | None = None
    energy_weight: float = 0.0
    max_steps: int | None = None  # stop early (CI smoke runs)
    schedule: str = "constant"  # or "cosine": per-step decay to 0 over the run
    # QAT only: weight of distillation from the float model QAT starts from (0 = plain labels)
    distillation: float = 0.0
    distillation_temperature: float = 2.0

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise SpintronError(f"unknown learning-rate schedule {self.schedule!r} (known: {', '.join(SCHEDULES)})")
        if not 0.0 <= self.distillation <= 1.0 or self.distillation_temperature <= 0:
            raise SpintronError("distillation weight must be in [0, 1] and its temperature positive")


SCHEDULES = ("constant", "cosine")


@dataclass
class History:
    loss: list[float] = field(default_factory=list)
    energy_term: list[float] = field(default_factory=list)
    steps: int = 0
    validation_accuracy: list[float] = field(default_factory=list)  # after each epoch
    best_epoch: int | None = None  # 0-based index into validation_accuracy; the weights kept


def _batches(count: int, batch_size: int, generator: torch.Generator):
    order = torch.randperm(count, generator=generator).numpy()
    for start in range(0, count, batch_size):
        yield order[start:start + batch_size]


def train_float(model: torch.nn.Module, x: np.ndarray, y: np.ndarray, options: TrainingOptions,
                validation: tuple[np.ndarray, np.ndarray] | None = None) -> History:
    """Plain float training (the baseline and the starting point of QAT)."""
    def evaluate(xv: np.ndarray, yv: np.ndarray) -> float:
        model.eval()
        try:
            return float_accuracy(model, xv, yv)
        finally:
            model.train()

    return _fit(model, model, x, y, options, before_epoch=None, net=None,
                validation=validation, evaluate=evaluate)


def _scheduler(optimiser: torch.optim.Optimizer, options: TrainingOptions, batches_per_epoch: int):
    if options.schedule == "constant":
        return None
    total = options.epochs * batches_per_epoch
    if options.max_steps is not None:
        total = min(total, options.max_steps)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(total, 1))


def _task_loss(logits: torch.Tensor, labels: torch.Tensor, inputs: torch.Tensor,
               teacher: torch.nn.Module | None, options: TrainingOptions) -> torch.Tensor:
    """Cross-entropy, mixed with knowledge distillation (Hinton et al. 2015) when a teacher is given:
    ``(1 - a) CE + a T^2 KL(teacher_T || student_T)``, ``T^2`` keeping the soft term's gradient scale."""
    loss = torch.nn.functional.cross_entropy(logits, labels)
    if teacher is None:
        return loss
    temperature = options.distillation_temperature
    with torch.no_grad():
        soft_targets = torch.log_softmax(teacher(inputs) / temperature, dim=1)
    soft = torch.nn.functional.kl_div(torch.log_softmax(logits / temperature, dim=1), soft_targets,
                                      reduction="batchmean", log_target=True)
    return (1 - options.distillation) * loss + options.distillation * temperature**2 * soft


def _fit(model, forward, x, y, options: TrainingOptions, before_epoch, net,
         validation: tuple[np.ndarray, np.ndarray] | None = None,
         evaluate: Callable[[np.ndarray, np.ndarray], float] | None = None,
         teacher: torch.nn.Module | None = None) -> History:
    if len(x) != len(y) or len(x) == 0:
        raise SpintronError("training needs as many labels as inputs, and at least one")
    if validation is not None and (len(validation[0]) != len(validation[1]) or len(validation[0]) == 0):
        raise SpintronError("validation needs as many labels as inputs, and at least one")
    torch.manual_seed(options.seed)
    generator = torch.Generator().manual_seed(options.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=options.learning_rate, weight_decay=options.weight_decay)
    scheduler = _scheduler(optimiser, options, -(-len(x) // options.batch_size))
    xt, yt = torch.from_numpy(np.asarray(x, dtype=np.float32)), torch.from_numpy(np.asarray(y, dtype=np.int64))
    history = History()
    best_state = None
    model.train()
    for _ in range(options.epochs):
        if before_epoch:
            before_epoch()
        for index in _batches(len(xt), options.batch_size, generator):
            if net is not None and options.variation is not None:
                net.noise = options.variation.noise(seed=options.seed * 1_000_003 + history.steps)
            loss = _task_loss(forward(xt[index]), yt[index], xt[index], teacher, options)
            loss = loss + clip_decay_penalty(model)
            if net is not None and options.energy_weight:
                energy, bound = energy_regulariser(net)
                term = options.energy_weight * energy / bound
                history.energy_term.append(float(term.detach()))
                loss = loss + term
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if scheduler is not None:
                scheduler.step()
            history.loss.append(float(loss.detach()))
            history.steps += 1
            if options.max_steps is not None and history.steps >= options.max_steps:
                break
        if validation is not None:
            if net is not None:
                net.noise = None  # judged on the clean design
            history.validation_accuracy.append(evaluate(*validation))
            # ties keep the earlier epoch: a later one must be strictly better to be chosen
            accuracies = history.validation_accuracy
            if history.best_epoch is None or accuracies[-1] > accuracies[history.best_epoch]:
                history.best_epoch = len(history.validation_accuracy) - 1
                best_state = copy.deepcopy(model.state_dict())
        if options.max_steps is not None and history.steps >= options.max_steps:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if net is not None:
        net.noise = None
    model.eval()
    return history


class QuantizationAwareTrainer:
    """Fine-tunes a float model through its fake-quantized (compiled) forward pass."""

    def __init__(self, model: torch.nn.Module, config: CompileConfig, calibration: np.ndarray,
                 options: TrainingOptions | None = None):
        self.model = model
        self.options = options or TrainingOptions()
        self.calibration = np.asarray(calibration, dtype=np.float32)
        self.network = FakeQuantNetwork(model, config)
        # distillation's teacher: the float model as it is before QAT, frozen
        self.teacher = copy.deepcopy(model).eval() if self.options.distillation else None

    def fit(self, x: np.ndarray, y: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None = None) -> History:
        """Train on ``x, y``; with ``validation``, end with the epoch best on it (see the module doc)."""
        def evaluate(xv: np.ndarray, yv: np.ndarray) -> float:
            self.network.calibrate(self.calibration)  # the weights moved: the compiler would re-calibrate
            return self.accuracy(xv, yv)

        history = _fit(self.model, self.network, x, y, self.options,
                       before_epoch=lambda: self.network.calibrate(self.calibration), net=self.network,
                       validation=validation, evaluate=evaluate, teacher=self.teacher)
        self.network.calibrate(self.calibration)  # the final (or restored best) weights
        return history

    def accuracy(self, x: np.ndarray, y: np.ndarray, *, noise: NoiseSpec | None = None) -> float:
        """Top-1 accuracy of the fake-quantized model (optionally with device noise)."""
        if self.network.hardware is None:
            self.network.calibrate(self.calibration)
        self.network.noise = noise
        try:
            return top1_accuracy(self.network.predict(x), y)
        finally:
            self.network.noise = None
