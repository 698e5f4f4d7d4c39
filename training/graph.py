"""A torch model as a graph of fake-quantization steps, in execution order (torch.fx).

``trace_steps(model)`` traces ``model`` symbolically (``torch.fx``), so any
forward without data-dependent control flow works: an ``nn.Sequential`` chain
as well as residual blocks (``x + block(x)``, ``relu(body(x) + shortcut(x))``).
The graph is then grouped the way the exporter and the compiler group it:

* Dropout / Identity vanish (eval-mode export);
* a Conv2d / Linear, the BatchNorm2d that is its only user (folded by the
  exporter, training/batch_norm.py) and the ReLU / ReLU6 / Hardtanh /
  LearnedClip that is then the only user (``fuse-activations``) form one
  ``MatrixStep``;
* an add of two activations is an ``AddStep``, an activation no matrix layer
  absorbs a ``ClampStep`` (training/elementwise_steps.py);
* pools and flatten keep their input's grid.

Matrix layers and adds are numbered in execution order, the order in which
the exporter writes them and ``compiler_calibration`` reports their ranges.
Anything else is a SpintronError naming the op.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from spintron_nn.errors import SpintronError
from spintron_nn.training.elementwise_steps import AddStep, ClampStep
from spintron_nn.training.learned_clip import LearnedClip
from spintron_nn.training.steps import Grid, MatrixStep, PoolStep, activation_bounds, check_pool

_POOLS = (torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.AdaptiveAvgPool2d)
_PASS_THROUGH = (torch.nn.Dropout, torch.nn.Identity)
_ADDS = (operator.add, torch.add)
_RELUS = (F.relu, torch.relu)
SUPPORTED = ("Linear/Conv2d(any groups) [+BatchNorm2d] [+ReLU/ReLU6/Hardtanh/LearnedClip], "
             "adds of two activations, ReLU/ReLU6/Hardtanh, pools, Flatten, Dropout/Identity")


@dataclass
class FlattenStep:
    start_dim: int

    def forward(self, x: torch.Tensor, grid: Grid) -> tuple[torch.Tensor, Grid]:
        return torch.flatten(x, self.start_dim), grid


@dataclass
class StepNode:
    """One step, the names of the values it reads and the name of the value it writes."""

    step: object
    inputs: tuple[str, ...]
    output: str


@dataclass
class StepGraph:
    nodes: list[StepNode]
    input: str
    output: str

    @property
    def steps(self) -> list:
        return [node.step for node in self.nodes]

    def reaches_matrix_input(self, name: str) -> bool:
        """The codes of value ``name`` are some matrix layer's bit-serial inputs, directly or
        through steps that keep the grid (pool, flatten, clamp): then their width sets that
        layer's read cycles.  An add requantizes to the activation width, so it ends the path."""
        for node in self.nodes:
            if name not in node.inputs:
                continue
            if isinstance(node.step, MatrixStep):
                return True
            if isinstance(node.step, (PoolStep, FlattenStep, ClampStep)) and self.reaches_matrix_input(node.output):
                return True
        return False


class _Tracer(torch.fx.Tracer):
    def is_leaf_module(self, module: torch.nn.Module, qualified_name: str) -> bool:
        return isinstance(module, LearnedClip) or super().is_leaf_module(module, qualified_name)


def _unsupported(what: str) -> SpintronError:
    return SpintronError(f"fake quantization does not support {what} here (supported: {SUPPORTED})")


class _Builder:
    def __init__(self, model: torch.nn.Module):
        self.model = model
        try:
            self.graph = _Tracer().trace(model)
        except Exception as exc:  # fx raises many types; all mean "not traceable"
            raise SpintronError(f"fake quantization could not trace the model with torch.fx: {exc}") from exc
        self.alias: dict[torch.fx.Node, torch.fx.Node] = {}
        self.users: dict[torch.fx.Node, list[torch.fx.Node]] = {}
        self.absorbed: set[torch.fx.Node] = set()
        self.nodes: list[StepNode] = []
        self.matrices = self.adds = 0

    def module(self, node: torch.fx.Node) -> torch.nn.Module | None:
        return self.model.get_submodule(node.target) if node.op == "call_module" else None

    def resolve(self, node: torch.fx.Node) -> torch.fx.Node:
        return self.alias.get(node, node)

    def activation(self, node: torch.fx.Node) -> torch.nn.Module | None:
        """The clamp module ``node`` applies (functional relu as ``nn.ReLU``), or None."""
        if (node.op == "call_function" and node.target in _RELUS) or (node.op == "call_method" and node.target == "relu"):
            return torch.nn.ReLU()
        module = self.module(node)
        return module if module is not None and activation_bounds(module) is not None else None

    def is_flatten(self, node: torch.fx.Node) -> bool:
        module = self.module(node)
        return (isinstance(module, torch.nn.Flatten) or (node.op == "call_function" and node.target is torch.flatten)
                or (node.op == "call_method" and node.target == "flatten"))

    def reaches_output_only(self, node: torch.fx.Node) -> bool:
        """``node``'s value is only the network's output, directly or through flattens."""
        users = self.users.get(node, [])
        return bool(users) and all(u.op == "output" or (self.is_flatten(u) and self.reaches_output_only(u))
                                   for u in users)

    def only_user(self, node: torch.fx.Node) -> torch.fx.Node | None:
        users = self.users.get(node, [])
        return users[0] if len(users) == 1 else None

    def index_graph(self) -> None:
        """Aliases for pass-through nodes, then every value's users (aliases resolved)."""
        for node in self.graph.nodes:
            if isinstance(self.module(node), _PASS_THROUGH):
                self.alias[node] = self.resolve(node.args[0])
        for node in self.graph.nodes:
            if node in self.alias:
                continue
            for used in node.all_input_nodes:
                self.users.setdefault(self.resolve(used), []).append(node)

    def tensor_inputs(self, node: torch.fx.Node, count: int) -> tuple[str, ...]:
        args = node.args[:count]
        keywords = {k: v for k, v in node.kwargs.items() if k != "inplace"}  # F.relu(x, inplace=...)
        if len(args) != count or not all(isinstance(a, torch.fx.Node) for a in args) or keywords:
            raise _unsupported(f"{node.op} {node.target} with these arguments (constants, keywords)")
        return tuple(self.resolve(a).name for a in args)

    def add(self, step, node: torch.fx.Node, inputs: tuple[str, ...], output: torch.fx.Node | None = None) -> None:
        self.nodes.append(StepNode(step, inputs, (output or node).name))

    def matrix(self, node: torch.fx.Node, module: torch.nn.Module) -> None:
        out, batch_norm, activation = node, None, None
        user = self.only_user(out)
        if user is not None and isinstance(self.module(user), torch.nn.modules.batchnorm._BatchNorm):
            batch_norm, out = self.module(user), user
            self.absorbed.add(user)
        user = self.only_user(out)
        if user is not None and self.activation(user) is not None:
            activation, out = self.activation(user), user
            self.absorbed.add(user)
            after = self.only_user(out)
            if after is not None and self.activation(after) is not None:
                raise _unsupported("two activations in a row (fuse-activations intersects them)")
        step = MatrixStep(module, activation, self.matrices, batch_norm=batch_norm)
        step.is_output = self.reaches_output_only(out)  # lower-to-spin's is_returned_only: output-bits
        self.matrices += 1
        self.add(step, node, self.tensor_inputs(node, 1), out)

    def step(self, node: torch.fx.Node) -> None:
        module = self.module(node)
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)):
            return self.matrix(node, module)
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            raise _unsupported("a BatchNorm that is not the only user of a Conv2d")
        if isinstance(module, _POOLS):
            check_pool(module)
            return self.add(PoolStep(module), node, self.tensor_inputs(node, 1))
        if isinstance(module, torch.nn.Flatten) and module.end_dim == -1:
            return self.add(FlattenStep(module.start_dim), node, self.tensor_inputs(node, 1))
        if isinstance(module, LearnedClip):
            raise _unsupported("a LearnedClip that does not follow a Linear/Conv2d (its alpha would get no gradient)")
        if (activation := self.activation(node)) is not None:
            return self.add(ClampStep(activation), node, self.tensor_inputs(node, 1))
        if node.op == "call_function" and node.target in _ADDS:
            self.adds += 1
            return self.add(AddStep(self.adds - 1), node, self.tensor_inputs(node, 2))
        if (node.op == "call_function" and node.target is torch.flatten) or \
                (node.op == "call_method" and node.target == "flatten"):
            start = node.args[1] if len(node.args) > 1 else 0
            end = node.args[2] if len(node.args) > 2 else -1
            if node.kwargs or end != -1 or not isinstance(start, int):
                raise _unsupported("flatten with an end_dim or keyword arguments")
            return self.add(FlattenStep(start), node, (self.resolve(node.args[0]).name,))
        raise _unsupported(type(module).__name__ if module is not None else f"{node.op} {getattr(node.target, '__name__', node.target)}")

    def build(self) -> StepGraph:
        self.index_graph()
        inputs = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise SpintronError(f"fake quantization needs a model with one input, this one has {len(inputs)}")
        output = None
        for node in self.graph.nodes:
            if node.op == "placeholder" or node in self.alias or node in self.absorbed:
                continue
            if node.op == "output":
                if not isinstance(node.args[0], torch.fx.Node):
                    raise SpintronError("fake quantization needs a model with one tensor output")
                output = self.resolve(node.args[0]).name
            elif node.op == "get_attr":
                raise _unsupported(f"the parameter or buffer {node.target} used as an activation")
            else:
                self.step(node)
        if not self.matrices:
            raise SpintronError("the model has no Linear or Conv2d layer to map onto crossbars")
        return StepGraph(self.nodes, inputs[0].name, output)


def trace_steps(model: torch.nn.Module) -> StepGraph:
    """The model's ops as fake-quantization steps (SpintronError if unsupported)."""
    if isinstance(model, (torch.nn.Linear, torch.nn.Conv2d)):
        # torch.fx traces into the root module's forward, so a bare layer would show its weight
        # as a tensor, not a layer: trace it as the one module of a container (same instance)
        model = torch.nn.Sequential(model)
    return _Builder(model).build()
