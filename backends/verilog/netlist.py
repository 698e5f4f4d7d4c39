"""A typed structural netlist (modules, ports, wires, instances, assigns) and
its Verilog printer.

The generated top level of a design is built as these objects by ``lower.py``
and printed here, in one place, so no pass ever glues Verilog text.  The
behaviour lives in the fixed engine library (``rtl/*.v``); the netlist only
states which engines exist, with which parameters, and how they are wired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

# --------------------------------------------------------------------------
# expressions
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A whole port, wire or parameter by name."""

    name: str


@dataclass(frozen=True)
class Const:
    """A sized unsigned literal ``width'dvalue``."""

    width: int
    value: int

    def __post_init__(self) -> None:
        if self.width < 1 or not 0 <= self.value < 2**self.width:
            raise ValueError(f"{self.value} is not a {self.width}-bit unsigned value")


@dataclass(frozen=True)
class Slice:
    """Bits ``lsb .. lsb+width-1`` of a named signal."""

    base: str
    lsb: int
    width: int


@dataclass(frozen=True)
class Concat:
    """``{parts[0], parts[1], ...}``: the first part is the most significant."""

    parts: tuple[Expr, ...]


Expr = Ref | Const | Slice | Concat


def print_expr(expr: Expr) -> str:
    if isinstance(expr, Ref):
        return expr.name
    if isinstance(expr, Const):
        return f"{expr.width}'d{expr.value}"
    if isinstance(expr, Slice):
        if expr.width == 1:
            return f"{expr.base}[{expr.lsb}]"
        return f"{expr.base}[{expr.lsb + expr.width - 1}:{expr.lsb}]"
    if len(expr.parts) == 1:
        return print_expr(expr.parts[0])
    return "{" + ", ".join(print_expr(p) for p in expr.parts) + "}"


# --------------------------------------------------------------------------
# structure
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "input" or "output"
    width: int = 1


@dataclass(frozen=True)
class Wire:
    name: str
    width: int = 1
    vector: bool = False  # declared [width-1:0] even at width 1, so that name[i] is legal


@dataclass(frozen=True)
class Assign:
    target: str
    value: Expr


ParamValue = int | str | Const


@dataclass
class Instance:
    module: str
    name: str
    parameters: dict[str, ParamValue] = field(default_factory=dict)
    connections: dict[str, Expr] = field(default_factory=dict)
    comment: str = ""


@dataclass
class Module:
    name: str
    ports: list[Port] = field(default_factory=list)
    parameters: dict[str, int] = field(default_factory=dict)
    wires: list[Wire] = field(default_factory=list)
    assigns: list[Assign] = field(default_factory=list)
    instances: list[Instance] = field(default_factory=list)
    comment: Sequence[str] = ()

    def wire(self, name: str, width: int = 1, vector: bool = False) -> Ref:
        self.wires.append(Wire(name, width, vector))
        return Ref(name)


# --------------------------------------------------------------------------
# printer
# --------------------------------------------------------------------------


def _range(width: int, vector: bool = False) -> str:
    return f"[{width - 1}:0] " if width > 1 or vector else ""


def _param(value: ParamValue) -> str:
    if isinstance(value, Const):
        return print_expr(value)
    if isinstance(value, str):
        if '"' in value or "\\" in value:
            raise ValueError(f"parameter string {value!r} needs no quoting")
        return f'"{value}"'
    return str(int(value))


def _check_names(module: Module) -> None:
    names = [p.name for p in module.ports] + [w.name for w in module.wires]
    names += [i.name for i in module.instances] + list(module.parameters)
    seen: set[str] = set()
    for name in names:
        if not name.isidentifier() or name in seen:
            raise ValueError(f"bad or duplicate name '{name}' in module {module.name}")
        seen.add(name)


def print_module(module: Module) -> str:
    """Verilog text of one module (Verilog-2005 plus nothing else)."""
    _check_names(module)
    lines = [f"// {line}".rstrip() for line in module.comment]
    header = f"module {module.name}"
    if module.parameters:
        params = ",\n".join(f"    parameter integer {k} = {v}" for k, v in module.parameters.items())
        header += f" #(\n{params}\n)"
    ports = ",\n".join(f"    {p.direction} wire {_range(p.width)}{p.name}" for p in module.ports)
    lines.append(f"{header} (\n{ports}\n);")
    for wire in module.wires:
        lines.append(f"    wire {_range(wire.width, wire.vector)}{wire.name};")
    if module.assigns:
        lines.append("")
    for assign in module.assigns:
        lines.append(f"    assign {assign.target} = {print_expr(assign.value)};")
    for inst in module.instances:
        lines.append("")
        if inst.comment:
            lines.append(f"    // {inst.comment}")
        head = f"    {inst.module}"
        if inst.parameters:
            params = ",\n".join(f"        .{k}({_param(v)})" for k, v in inst.parameters.items())
            head += f" #(\n{params}\n    )"
        conns = ",\n".join(f"        .{k}({print_expr(v)})" for k, v in inst.connections.items())
        lines.append(f"{head} {inst.name} (\n{conns}\n    );")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"
