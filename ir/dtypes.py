"""Tensor element types: the xDSL type in the IR and the numpy dtype of the data.

The ``nn`` dialect carries the element types ONNX tensors have (except
strings): floats of 4 to 64 bits, signed and unsigned integers of 2 to 64
bits and booleans.  MLIR's spelling is used: signless ``iN`` for ONNX's signed
integers (``i64`` was the only integer type before; keeping it signless keeps
every existing ``i64`` in place), ``uiN`` for unsigned ones, ``i1`` for bool.
The types numpy lacks (bfloat16, float8, float4, int4, int2) are ml_dtypes'
numpy extension types, the same ones onnx itself returns.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float4E2M1FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    IntegerType,
    Signedness,
    f16,
    f32,
    f64,
)
from xdsl.ir import Attribute


def _unsigned(width: int) -> IntegerType:
    return IntegerType(width, Signedness.UNSIGNED)


_PAIRS: tuple[tuple[Attribute, np.dtype], ...] = tuple(
    (element, np.dtype(dtype))
    for element, dtype in (
        (f32, np.float32),
        (f64, np.float64),
        (f16, np.float16),
        (BFloat16Type(), ml_dtypes.bfloat16),
        (Float8E4M3FNType(), ml_dtypes.float8_e4m3fn),
        (Float8E4M3FNUZType(), ml_dtypes.float8_e4m3fnuz),
        (Float8E5M2Type(), ml_dtypes.float8_e5m2),
        (Float8E5M2FNUZType(), ml_dtypes.float8_e5m2fnuz),
        (Float8E8M0FNUType(), ml_dtypes.float8_e8m0fnu),
        (Float4E2M1FNType(), ml_dtypes.float4_e2m1fn),
        (IntegerType(1), np.bool_),
        (IntegerType(8), np.int8),
        (IntegerType(16), np.int16),
        (IntegerType(32), np.int32),
        (IntegerType(64), np.int64),
        (_unsigned(8), np.uint8),
        (_unsigned(16), np.uint16),
        (_unsigned(32), np.uint32),
        (_unsigned(64), np.uint64),
        (IntegerType(4), ml_dtypes.int4),
        (_unsigned(4), ml_dtypes.uint4),
        (IntegerType(2), ml_dtypes.int2),
        (_unsigned(2), ml_dtypes.uint2),
    )
)
_TO_NUMPY: dict[Attribute, np.dtype] = dict(_PAIRS)
_TO_ELEMENT: dict[np.dtype, Attribute] = {dtype: element for element, dtype in _PAIRS}

i1 = IntegerType(1)
# ml_dtypes types whose arrays np.savez cannot restore: stored as raw bits
EXTENSION_DTYPES: dict[str, np.dtype] = {
    dtype.name: dtype for _, dtype in _PAIRS if dtype.type.__module__.startswith("ml_dtypes")
}


class UnsupportedElementType(ValueError):
    """A dtype or element type the ``nn`` dialect does not carry."""


def numpy_dtype(element: Attribute) -> np.dtype:
    try:
        return _TO_NUMPY[element]
    except KeyError:
        raise UnsupportedElementType(f"element type {element} is not supported") from None


def element_type(dtype: np.dtype | type) -> Attribute:
    """The IR element type for numpy arrays of ``dtype``."""
    try:
        return _TO_ELEMENT[np.dtype(dtype)]
    except (KeyError, TypeError):
        raise UnsupportedElementType(f"data type {np.dtype(dtype)} is not supported") from None


def is_supported(element: Attribute) -> bool:
    return element in _TO_NUMPY


def is_float(element: Attribute) -> bool:
    return element in _TO_NUMPY and not isinstance(element, IntegerType)


def is_integer_dtype(dtype: np.dtype) -> bool:
    """Integers and bool, including ml_dtypes' int4/int2 (numpy kind "V")."""
    element = _TO_ELEMENT.get(np.dtype(dtype))
    return isinstance(element, IntegerType) or np.dtype(dtype).kind in "iub"


FLOAT8: frozenset[Attribute] = frozenset(
    (Float8E4M3FNType(), Float8E4M3FNUZType(), Float8E5M2Type(), Float8E5M2FNUZType())
)


def is_float8(element: Attribute) -> bool:
    """The types ONNX's Cast ``saturate`` flag applies to."""
    return element in FLOAT8


def is_bool(element: Attribute) -> bool:
    return element == i1
