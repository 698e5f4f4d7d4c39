"""Small queries and edits on the ``nn`` float graph shared by its passes.

The float-graph passes (canonicalize, fold-constants, fold-batchnorm,
fuse-activations) all ask the same questions: "is this value a constant, and
what is its array?", "is this op the only consumer of its producer?", and
all make new weights.  Answering them in one place keeps the rules identical.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter
from xdsl.rewriter import InsertPoint

from spintron_nn.errors import SpintronError
from spintron_nn.ir import nn
from spintron_nn.ir.weights import WeightBlob, fresh_weight_key


def constant_array(value: SSAValue) -> np.ndarray | None:
    """The array behind ``value`` if an ``nn.constant`` defines it, else None."""
    owner = value.owner
    if isinstance(owner, nn.ConstantOp):
        return owner.array
    return None


def constant_key(value: SSAValue) -> str | None:
    owner = value.owner
    return owner.value.key if isinstance(owner, nn.ConstantOp) else None


def has_single_use(value: SSAValue) -> bool:
    """True when exactly one operand slot reads ``value``; a rewrite that
    changes the producer would otherwise change what the other users see."""
    uses = iter(value.uses)
    return next(uses, None) is not None and next(uses, None) is None


# ops that only rearrange a tensor: a result that reaches the return through them is still
# only an output (a classifier's conv, then flatten)
RESHAPE_LIKE = ("nn.reshape", "nn.flatten", "nn.identity", "nn.squeeze", "nn.unsqueeze")


def is_returned_only(op: Operation) -> bool:
    """``op`` has one result and every use of it is ``@main``'s return, directly or through
    reshape-like ops (a network output that nothing inside the network reads)."""
    return len(op.results) == 1 and bool(op.results[0].uses) and all(
        isinstance(use.operation, func.ReturnOp)
        or (use.operation.name in RESHAPE_LIKE and is_returned_only(use.operation))
        for use in op.results[0].uses)


def single_use_producer(
    value: SSAValue, kinds: tuple[type[Operation], ...]
) -> Operation | None:
    """The op of one of ``kinds`` defining ``value``, if ``value`` is its only
    result and has no other user."""
    owner = value.owner
    if isinstance(owner, kinds) and len(owner.results) == 1 and has_single_use(value):
        return owner
    return None


def insert_constant(
    rewriter: PatternRewriter,
    before: Operation,
    base_key: str,
    array: np.ndarray,
    *,
    keep_dtype: bool = False,
) -> nn.ConstantOp:
    """A new ``nn.constant`` holding ``array`` under a key not yet used in the
    module, inserted before ``before``.

    It is inserted at once so that the next ``fresh_weight_key`` sees its key:
    two constants made in one rewrite must not share a key.  Floats become
    f32 unless ``keep_dtype`` (the array already has its result's type, as
    fold-constants' do in f16/f64 graphs)."""
    root = before.get_toplevel_object()
    assert isinstance(root, Operation)
    key = fresh_weight_key(root, base_key)
    if array.dtype.kind == "f" and not keep_dtype:
        array = array.astype(np.float32)
    constant = nn.ConstantOp(WeightBlob(key, array))
    rewriter.insert(constant, InsertPoint.before(before))
    return constant


def output_clamp(op: nn.NNOperation) -> tuple[float | None, float | None]:
    """The (clamp_min, clamp_max) of a Conv / Gemm / MatMul; None is unbounded."""
    low, high = op.properties.get("clamp_min"), op.properties.get("clamp_max")
    return (
        None if low is None else nn.read_float(low),
        None if high is None else nn.read_float(high),
    )


def require_nn_graph(module: Operation, pass_name: str) -> None:
    """Refuse a module that lower-to-spin has already lowered.

    The passes up to lower-to-spin read ``nn`` ops; on a crossbar design they
    would fail deep inside (a shape rule, the float executor, a missing
    quantization) with a message that does not name the cause."""
    if any(op.name.startswith("spin.") for op in module.walk()):
        raise SpintronError(
            f"{pass_name}: the module is already lowered to the spin dialect; "
            f"{pass_name} applies to nn graphs, such as a bundle's float.mlir"
        )
