"""ONNX -> ``nn`` dialect.

``import_onnx`` takes a checked ``ModelProto`` (see ``safety.py`` for reading
one from disk) and builds ``builtin.module { func.func @main }``:

1. opsets older than 11 are lifted with onnx's version converter, so the op
   table deals with one family of semantics;
2. every node's op must be in the op table (or be a constant computation):
   the error names the node, op type, domain and opset;
3. ``onnx.checker`` and onnx's shape inference (type checks; shapes are left
   to the ``nn`` ops, whose messages are clearer) reject malformed graphs,
   e.g. dangling inputs, with onnx's own diagnosis;
4. nodes are imported in order: nodes whose inputs are all known are
   evaluated (``shape_folding``), ``Shape`` reads the ``nn`` types, every
   other node goes through its converter, whose ops verify as they are built.

Initializers become ``nn.constant`` (weight key = initializer name) when a
run-time op uses them; the batch dimension of the graph inputs may be
symbolic (``?``), every other dimension must be static.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnx.inliner
from onnx import numpy_helper, shape_inference, version_converter
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region, SSAValue

from spintron_nn.errors import SpintronError, UnsupportedError
from spintron_nn.frontend import shape_folding
from spintron_nn.frontend.node_context import NodeContext, Value, make_constant
from spintron_nn.frontend.onnx_ops import lookup, onnx_element_type
from spintron_nn.frontend.safety import check_declared_sizes, check_structure, load_external_data
from spintron_nn.ir import dtypes, nn

OLDEST_NATIVE_OPSET = 11
CONVERTED_OPSET = 13

_DEFAULT_DOMAINS = ("", "ai.onnx")


def import_onnx(
    model: onnx.ModelProto, *, where: str = "<model>", base_dir: Path | None = None
) -> ModuleOp:
    """The ``nn`` module for ``model``; SpintronError for anything unusable."""
    check_structure(model, where)
    check_declared_sizes(model, where)
    load_external_data(model, base_dir, where)
    model = _normalise_opset(model, where)
    if model.functions:  # model-local functions: import their bodies instead
        model = onnx.inliner.inline_local_functions(model)
    _check_ops_supported(model, where)
    _check_model(model, where)
    return _GraphImporter(model, where).run()


def _default_opset(model: onnx.ModelProto) -> int | None:
    for entry in model.opset_import:
        if entry.domain in _DEFAULT_DOMAINS:
            return entry.version
    return None


def _normalise_opset(model: onnx.ModelProto, where: str) -> onnx.ModelProto:
    opset = _default_opset(model)
    if opset is None or opset >= OLDEST_NATIVE_OPSET:
        return model
    try:
        return version_converter.convert_version(model, CONVERTED_OPSET)
    except Exception as exc:  # the converter raises bare RuntimeErrors
        raise UnsupportedError(
            f"opset {opset} is older than {OLDEST_NATIVE_OPSET} and onnx's version "
            f"converter cannot lift it: {exc}",
            path=where,
        ) from None


def _opset_of(model: onnx.ModelProto, domain: str) -> int | None:
    wanted = _DEFAULT_DOMAINS if domain in _DEFAULT_DOMAINS else (domain,)
    for entry in model.opset_import:
        if entry.domain in wanted:
            return entry.version
    return None


def _schema(node: onnx.NodeProto, model: onnx.ModelProto):
    opset = _opset_of(model, node.domain)
    if opset is None:
        return None, None
    try:
        return onnx.defs.get_schema(node.op_type, opset, node.domain), opset
    except onnx.defs.SchemaError:
        return None, opset


def _node_label(node: onnx.NodeProto, opset: int | None) -> str:
    domain = node.domain or "ai.onnx"
    name = node.name or (node.output[0] if node.output else "?")
    return f"node '{name}' ({node.op_type}, domain {domain}, opset {opset})"


def _check_ops_supported(model: onnx.ModelProto, where: str) -> None:
    """Refuse unknown ops before onnx's checker gives a vaguer message."""
    for node in model.graph.node:
        schema, opset = _schema(node, model)
        label = _node_label(node, opset)
        foldable = node.domain in _DEFAULT_DOMAINS and (
            node.op_type in shape_folding.EVALUATORS or node.op_type in ("Shape", "Size")
        )
        rule = lookup(node.domain, node.op_type)
        if schema is None or (rule is None and not foldable):
            raise UnsupportedError(f"{label}: unsupported operator", path=where)
        if rule is not None and schema.since_version < rule.min_version:
            raise UnsupportedError(
                f"{label}: version {schema.since_version} of {node.op_type} is "
                f"not supported (only {rule.min_version} and newer)",
                path=where,
            )


def _check_model(model: onnx.ModelProto, where: str) -> None:
    try:
        # Inference first: it fills in output shapes a hand-built graph may
        # omit, which the checker insists on.
        inferred = shape_inference.infer_shapes(
            model, check_type=True, strict_mode=False, data_prop=True
        )
        _check_boundary_shapes(inferred, where)
        onnx.checker.check_model(inferred)
    except UnicodeDecodeError:
        # onnx's C++ checks quote names from the file; corrupt bytes there
        # cannot even be reported
        raise SpintronError(
            "invalid ONNX model: names or strings are not valid UTF-8", path=where
        ) from None
    except (onnx.checker.ValidationError, shape_inference.InferenceError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        raise SpintronError(f"invalid ONNX model: {' '.join(first)}", path=where) from None




def _check_boundary_shapes(model: onnx.ModelProto, where: str) -> None:
    """The checker's own message for a graph input or output without a shape,
    "Field 'shape' of 'type' is required but missing", names neither the value
    nor what to do; shape inference (run before) has filled in what it could."""
    initializers = {t.name for t in model.graph.initializer}
    for kind, infos, remedy in (
        ("input", model.graph.input, "give its dimensions (only the first, the batch, may be symbolic)"),
        ("output", model.graph.output, "onnx shape inference cannot work it out; give its shape"),
    ):
        for info in infos:
            tensor = info.type.tensor_type if info.type.HasField("tensor_type") else None
            if tensor is not None and not tensor.HasField("shape") and info.name not in initializers:
                raise SpintronError(
                    f"invalid ONNX model: graph {kind} '{_printable(info.name)}' has no shape: {remedy}",
                    path=where,
                )


def _printable(name: str) -> str:
    return "".join("_" if c in '"\\\n' else c for c in name) or "unnamed"


def _type_name(elem_type: int) -> str:
    try:
        return onnx.TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"type {elem_type}"


class _GraphImporter:
    def __init__(self, model: onnx.ModelProto, where: str):
        self.model = model
        self.graph = model.graph
        self.where = where
        self.block = Block()
        self.env: dict[str, Value] = {}
        self.materialized: dict[str, SSAValue] = {}
        self.weight_keys: set[str] = set()
        # an output nothing reads is not imported (see NodeContext.output_used)
        self.read_names = {name for node in self.graph.node for name in node.input}
        self.read_names |= {output.name for output in self.graph.output}

    def run(self) -> ModuleOp:
        initializers = {t.name for t in self.graph.initializer}
        for tensor in self.graph.initializer:
            self.env[tensor.name] = numpy_helper.to_array(tensor)
        inputs = [i for i in self.graph.input if i.name not in initializers]
        for info in inputs:
            self.env[info.name] = self.block.insert_arg(self._input_type(info), len(self.block.args))
        for node in self.graph.node:
            self._import_node(node)
        outputs = [self._materialize(o.name) for o in self.graph.output]
        self.block.add_op(ReturnOp(*outputs))
        func = FuncOp(
            "main",
            ([a.type for a in self.block.args], [v.type for v in outputs]),
            Region(self.block),
        )
        func.attributes["nn.input_names"] = ArrayAttr([StringAttr(i.name) for i in inputs])
        func.attributes["nn.output_names"] = ArrayAttr(
            [StringAttr(o.name) for o in self.graph.output]
        )
        module = ModuleOp([func])
        return module

    # ---- graph inputs ----------------------------------------------------

    def _input_type(self, info: onnx.ValueInfoProto):
        kind = info.type.WhichOneof("value")
        if kind != "tensor_type":
            raise UnsupportedError(f"graph input '{info.name}' is a {kind}, not a tensor", path=self.where)
        tensor = info.type.tensor_type
        element = onnx_element_type(tensor.elem_type)
        if element is None:
            type_name = _type_name(tensor.elem_type)
            raise UnsupportedError(
                f"graph input '{info.name}' is {type_name}; the nn dialect carries "
                "numeric and bool tensors only",
                path=self.where,
            )
        if not tensor.HasField("shape"):
            raise UnsupportedError(f"graph input '{info.name}' has no shape", path=self.where)
        dims = []
        for axis, dim in enumerate(tensor.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value >= 0:
                dims.append(dim.dim_value)
            elif axis == 0:
                dims.append(nn.DYNAMIC)
            else:
                raise UnsupportedError(
                    f"dimension {axis} of graph input '{info.name}' is symbolic "
                    f"('{dim.dim_param}'); only the batch (first) dimension may be",
                    path=self.where,
                )
        return nn.tensor_type(dims, element)

    # ---- nodes -----------------------------------------------------------

    def _materialize(self, name: str) -> SSAValue:
        value = self.env.get(name)
        if isinstance(value, SSAValue):
            return value
        if name in self.materialized:
            return self.materialized[name]
        if value is None:
            raise SpintronError(f"value '{name}' is not produced by any node", path=self.where)
        if shape_folding.has_batch(value):
            raise UnsupportedError(
                f"value '{name}' is a shape computation that depends on the batch "
                "size and is used as data",
                path=self.where,
            )
        try:
            dtypes.element_type(value.dtype)
        except dtypes.UnsupportedElementType:
            raise UnsupportedError(f"constant '{name}' has type {value.dtype}", path=self.where) from None
        result = make_constant(self.block, self._weight_key(name), value)
        self.materialized[name] = result
        return result

    def _weight_key(self, name: str) -> str:
        """The initializer's name; a name that cannot be printed is cleaned
        and, if that collides with another name, numbered."""
        key = _printable(name)
        if key != name:
            base, n = key, 1
            while key in self.weight_keys or key in self.env:
                key, n = f"{base}.{n}", n + 1
        self.weight_keys.add(key)
        return key

    def _known(self, name: str) -> np.ndarray | None:
        value = self.env.get(name)
        return value if isinstance(value, np.ndarray) else None

    def _import_node(self, node: onnx.NodeProto) -> None:
        schema, opset = _schema(node, self.model)
        for name in node.input:
            if name and name not in self.env:
                raise SpintronError(
                    f"{_node_label(node, opset)}: input '{name}' is not produced by "
                    "any node, initializer or graph input",
                    path=self.where,
                )
        if self._try_fold(node, opset):
            return
        rule = lookup(node.domain, node.op_type)
        if rule is None:
            raise UnsupportedError(
                f"{_node_label(node, opset)}: supported only on constant inputs",
                path=self.where,
            )
        ctx = NodeContext(
            node, schema, self.env, self.block, self._materialize, self.where, opset, self.read_names
        )
        for attribute in node.attribute:
            if attribute.name not in rule.attributes:
                raise ctx.fail(f"attribute '{attribute.name}' is not supported", unsupported=True)
        results = rule.convert(ctx)
        if any(ctx.output_used(i) for i in range(len(results), len(node.output))):
            raise ctx.fail(f"only {len(results)} output(s) are supported", unsupported=True)
        for name, value in zip(node.output, results):
            if name:
                self.env[name] = value

    def _try_fold(self, node: onnx.NodeProto, opset: int | None) -> bool:
        if node.domain not in _DEFAULT_DOMAINS:
            return False
        if node.op_type in ("Shape", "Size") and node.input and self._known(node.input[0]) is None:
            try:
                outputs = [self._shape_of(node)]
            except shape_folding.NotFoldable:
                return False
        else:
            values = [self._known(n) if n else None for n in node.input]
            if any(v is None for n, v in zip(node.input, values) if n):
                return False
            try:
                outputs = shape_folding.fold_node(node, values)
            except shape_folding.NotFoldable:
                return False
            except shape_folding.TooLarge as exc:
                raise SpintronError(f"{_node_label(node, opset)}: {exc}", path=self.where) from None
        for name, value in zip(node.output, outputs):
            if name:
                self.env[name] = np.asarray(value)
        return True

    def _shape_of(self, node: onnx.NodeProto) -> np.ndarray:
        value = self.env[node.input[0]]
        shape = [None if d == nn.DYNAMIC else d for d in nn.shape_of(value)]
        if node.op_type == "Size":
            if None in shape:
                raise shape_folding.NotFoldable("Size of a tensor with a dynamic batch")
            return np.array(int(np.prod(shape)), dtype=np.int64)
        start, end = 0, len(shape)
        for attr in node.attribute:
            if attr.name == "start":
                start = attr.i
            elif attr.name == "end":
                end = attr.i
        return shape_folding.shape_value(shape[slice(start, end)])
