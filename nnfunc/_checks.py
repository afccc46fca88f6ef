"""Validation at the boundary: one place, one message format (see :mod:`nnfunc.errors`).

Caller errors raise nnfunc's typed errors; internal invariants use ``assert``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from .errors import DTypeError, HyperParameterError, NonFiniteError, ShapeError, expected

FloatArray: TypeAlias = NDArray[np.floating[Any]]
"""A float32 or float64 array; shapes are named where it is used."""

MatrixLike: TypeAlias = FloatArray | Sequence[Sequence[float]]
"""A 2-D float array, or a list of lists of numbers (converted to float64)."""

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    return f"{type(x).__name__} {x!r}" if isinstance(x, (str, bytes)) else type(x).__name__


def as_float_array(
    x: object, *, where: str, name: str, ndim: int, shape_doc: str, allow_empty: bool = False
) -> FloatArray:
    """Return ``x`` as a float32/float64 array of ``ndim`` dimensions, finite and non-empty.

    NumPy arrays must already have a float dtype (an integer array is refused with a hint,
    because silently promoting it hides mistakes); plain lists and tuples of numbers are
    converted to float64.  The array is returned as is, not copied.
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, (list, tuple)):
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise DTypeError(
                expected(where, name, f"numbers convertible to float ({shape_doc})", _describe(x),
                         f"NumPy said: {err}")
            ) from None
    else:
        raise DTypeError(
            expected(where, name, f"a float NumPy array or a list of numbers {shape_doc}",
                     _describe(x))
        )
    if arr.dtype not in FLOAT_DTYPES:
        hint = "Convert it first, e.g. np.asarray(x, dtype=np.float64)."
        raise DTypeError(
            expected(where, name, "a float32 or float64 array", f"dtype {arr.dtype}", hint)
        )
    if arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = f"A single column? Use {name}.reshape(-1, 1); a single sample? {name}.reshape(1, -1)."
        raise ShapeError(
            expected(where, name, f"a {ndim}-D array {shape_doc}", f"shape {arr.shape}", hint)
        )
    if not allow_empty and arr.size == 0:
        raise ShapeError(expected(where, name, f"non-empty {shape_doc}", f"shape {arr.shape}"))
    check_finite(arr, where=where, name=name)
    return arr


def check_finite(arr: FloatArray, *, where: str, name: str) -> None:
    """Raise :class:`NonFiniteError` naming the first NaN/inf entry of ``arr``.

    The fast path is one reduction (a sum of finite float64/float32 values that
    overflows is rare, and then the exact elementwise check decides).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(np.add.reduce(arr, axis=None))
    if math.isfinite(total):
        return
    bad = ~np.isfinite(arr)
    if not bad.any():
        return
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    count = int(bad.sum())
    raise NonFiniteError(
        expected(where, name, "finite (no NaN or inf)",
                 f"{count} non-finite value(s), the first {arr[index]} at index {index}")
    )


def check_rng(rng: object, *, where: str, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a :class:`numpy.random.Generator`, else raise :class:`DTypeError`."""
    if not isinstance(rng, np.random.Generator):
        raise DTypeError(
            expected(where, name, "a numpy.random.Generator", _describe(rng),
                     "Make one with np.random.default_rng(seed).")
        )
    return rng


def check_int(value: object, *, where: str, name: str, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]`` (``high=None``: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise DTypeError(expected(where, name, "an integer", _describe(value)))
    v = int(value)
    if v < low or (high is not None and v > high):
        rng = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise HyperParameterError(expected(where, name, f"an integer {rng}", str(v)))
    return v


def check_float(
    value: object,
    *,
    where: str,
    name: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = True,
    high_open: bool = True,
) -> float:
    """Return ``value`` as a finite float in the interval given (open ends by default)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DTypeError(expected(where, name, "a real number", _describe(value)))
    v = float(value)
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not (math.isfinite(v) and lo_ok and hi_ok):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise HyperParameterError(expected(where, name, f"a finite number in {interval}", repr(v)))
    return v


def readonly_copy(arr: FloatArray) -> FloatArray:
    """A private, read-only, C-contiguous copy of ``arr`` (records hold these)."""
    out = np.array(arr, copy=True, order="C")
    out.flags.writeable = False
    return out


def freeze(arr: FloatArray) -> FloatArray:
    """Mark an array that nnfunc itself just created as read-only, without copying."""
    arr.flags.writeable = False
    return arr


def arrays_equal(a: FloatArray, b: FloatArray) -> bool:
    """Equal by value, shape *and* dtype (float32 ones are not equal to float64 ones)."""
    return a.dtype == b.dtype and a.shape == b.shape and bool(np.array_equal(a, b))


def array_repr(arr: FloatArray) -> str:
    """Shape and dtype, not thousands of numbers: ``float64(7000, 2)``."""
    return f"{arr.dtype}{arr.shape}"
