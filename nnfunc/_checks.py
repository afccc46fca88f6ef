"""Validation at the boundary: one place, one message format (see :mod:`nnfunc.errors`).

Caller errors raise nnfunc's typed errors; internal invariants use ``assert``.

Array arguments (:func:`as_float_array`)
    A float32/float64 NumPy array is used as is.  A list or tuple of numbers (ints or
    floats, nested to the right depth) is converted to float64.  Everything else is
    refused with :class:`DTypeError`: integer, boolean, complex, object, string and float16
    arrays (convert explicitly, so mistakes are not hidden), strings, scalars, ``None``, an
    :class:`nnfunc.Dataset` (pass ``data.X``), lists of booleans or strings.  A ragged list,
    a wrong number of dimensions or an empty array is a :class:`ShapeError`; NaN or inf is
    a :class:`NonFiniteError`.

Floating-point faults (:func:`numeric_guard`)
    nnfunc's public arithmetic runs under its own ``np.errstate``, whatever the caller set:
    *underflow* is silent (a product too small for the dtype is 0, or subnormal, and that
    is the right answer); *overflow*, *invalid* (``inf - inf``) and *divide by zero* become
    :class:`NonFiniteError` naming the function and its arguments.  Results are checked
    too, so an ``inf`` that NumPy produces without raising (``np.vdot`` does) is refused
    rather than returned.  No ``FloatingPointError`` or ``RuntimeWarning`` leaves nnfunc.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeAlias, TypeVar

import numpy as np
from numpy.typing import NDArray

from .errors import (
    DTypeError,
    HyperParameterError,
    NonFiniteError,
    ScaleWarning,
    ShapeError,
    expected,
)

FloatArray: TypeAlias = NDArray[np.floating[Any]]
"""A float32 or float64 array; shapes are named where it is used."""

MatrixLike: TypeAlias = FloatArray | Sequence[Sequence[float]]
"""A 2-D float array, or a list of lists of numbers (converted to float64)."""

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _describe(x: object) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of dtype {x.dtype} and shape {x.shape}"
    if isinstance(x, (str, bytes)):
        text = repr(x)
        return f"{type(x).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
    return type(x).__name__


def _refusal_hint(x: object) -> str:
    """A hint for a non-array argument: the usual mistakes, named."""
    from .data import Dataset  # late import: data imports this module

    if isinstance(x, Dataset):
        return "Pass the arrays, data.X and data.Y, not the Dataset."
    if isinstance(x, (str, bytes)):
        return "Strings are not numbers: load the file or parse the text first."
    return "Convert it first, e.g. np.asarray(x, dtype=np.float64)."


def _from_sequence(x: list[Any] | tuple[Any, ...], where: str, name: str, shape_doc: str
                   ) -> FloatArray:
    """A list or tuple of numbers as float64; bools, strings, objects and ragged lists refused."""
    try:
        raw = np.asarray(x)
    except ValueError:  # NumPy >= 1.24: "inhomogeneous shape"
        raise ShapeError(
            expected(where, name, f"a rectangular list of numbers {shape_doc}",
                     "a ragged list (rows of different lengths)")
        ) from None
    except Exception as err:  # an element with a broken __array__ or __len__
        raise DTypeError(
            expected(where, name, f"a list of numbers {shape_doc}", _describe(x),
                     f"NumPy said: {err}")
        ) from None
    if raw.dtype.kind in "iuf" or raw.size == 0:  # every int64/uint64 fits in float64
        return raw.astype(np.float64)
    what = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
            "O": "objects that are not all numbers (None, str, nested lists...)"}.get(
        raw.dtype.kind, f"dtype {raw.dtype}")
    raise DTypeError(
        expected(where, name, f"a list of int or float numbers {shape_doc}", f"a list of {what}",
                 "Convert it first, e.g. np.asarray(x, dtype=np.float64).")
    )


def as_float_array(
    x: object, *, where: str, name: str, ndim: int, shape_doc: str, allow_empty: bool = False
) -> FloatArray:
    """Return ``x`` as a float32/float64 array of ``ndim`` dimensions, finite and non-empty.

    NumPy arrays must already have a float dtype (an integer array is refused with a hint,
    because silently promoting it hides mistakes); plain lists and tuples of numbers are
    converted to float64.  The array is returned as is, not copied.  See the module
    docstring for what is refused with which error.
    """
    if isinstance(x, np.ndarray):
        arr = x
    elif isinstance(x, (list, tuple)):
        arr = _from_sequence(x, where, name, shape_doc)
    else:
        raise DTypeError(
            expected(where, name, f"a float NumPy array or a list of numbers {shape_doc}",
                     _describe(x), _refusal_hint(x))
        )
    if arr.dtype not in FLOAT_DTYPES:
        hint = "Convert it first, e.g. np.asarray(x, dtype=np.float64)."
        raise DTypeError(
            expected(where, name, "a float32 or float64 array", f"dtype {arr.dtype}", hint)
        )
    if arr.ndim != ndim:
        hint = ""
        if ndim == 2 and arr.ndim == 1:
            hint = (f"A single column? Use {name}.reshape(-1, 1); "
                    f"a single sample? {name}.reshape(1, -1).")
        raise ShapeError(
            expected(where, name, f"a {ndim}-D array {shape_doc}", f"shape {arr.shape}", hint)
        )
    if not allow_empty and arr.size == 0:
        raise ShapeError(expected(where, name, f"non-empty {shape_doc}", f"shape {arr.shape}"))
    check_finite(arr, where=where, name=name)
    return arr


def check_finite(arr: FloatArray, *, where: str, name: str, hint: str = "") -> None:
    """Raise :class:`NonFiniteError` naming the first NaN/inf entry of ``arr``.

    The fast path is ``np.isfinite(arr).all()`` for small arrays and, for large ones, one
    reduction (a sum of finite values that overflows is rare, and then the exact
    elementwise check decides).
    """
    if arr.size <= 4096:
        if np.isfinite(arr).all():
            return
    else:
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
                 f"{count} non-finite value(s), the first {arr[index]} at index {index}", hint)
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
    try:
        v = float(value)
    except OverflowError:  # an int beyond float64, e.g. 10**400
        raise HyperParameterError(
            expected(where, name, "a finite number", f"an integer with {len(str(value))} digits")
        ) from None
    lo_ok = v > low if low_open else v >= low
    hi_ok = v < high if high_open else v <= high
    if not (math.isfinite(v) and lo_ok and hi_ok):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise HyperParameterError(expected(where, name, f"a finite number in {interval}", repr(v)))
    return v


def check_path(path: object, *, where: str, name: str = "path") -> str:
    """``path`` (a ``str`` or an ``os.PathLike`` giving one) as a ``str``; anything else --
    ``None``, bytes, a number, a file object, a path with a NUL character -- is refused with
    :class:`DTypeError`.  Whether the file or folder exists is the operating system's
    business (its own ``OSError``)."""
    p: object = path
    if isinstance(path, os.PathLike):
        try:
            p = os.fspath(path)
        except Exception:  # a broken __fspath__
            p = None
    if not isinstance(p, str):
        hint = ("Decode it first: path.decode()." if isinstance(p, bytes) else
                "Give a file name, e.g. 'model.npz' or pathlib.Path('out') / 'model.npz'.")
        raise DTypeError(expected(where, name, "a str or os.PathLike path", _describe(path),
                                  hint))
    if "\x00" in p:
        raise DTypeError(expected(where, name, "a str or os.PathLike path",
                                  "a str with a NUL character", "A path cannot contain '\\0'."))
    return p


def check_batch_size(batch_size: object, n_samples: int, *, where: str,
                     what: str = "len(data)") -> int:
    """``batch_size`` as an int in ``[1, n_samples]``; larger than the data is refused
    (:class:`HyperParameterError`) with the hint to use ``n_samples`` for full batch.
    ``what`` names ``n_samples`` in the message (``"the number of training rows"``)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
        raise DTypeError(expected(where, "batch_size", "an integer", _describe(batch_size)))
    size = int(batch_size)
    if size < 1:
        raise HyperParameterError(expected(where, "batch_size", "an integer >= 1", str(size)))
    if size > n_samples:
        raise HyperParameterError(expected(
            where, "batch_size", f"at most {what} = {n_samples}", str(size),
            f"A batch cannot be larger than the data: use batch_size={n_samples} for "
            "full-batch gradient descent."))
    return size


SCALE_LIMIT = 10.0
"""Above this root mean square, a column is taken to be unstandardized (:func:`warn_if_unscaled`).

A standardized column (``nnfunc.transform`` with a scaler fit on the same rows) has a root
mean square of exactly 1; one fit on other rows of the same distribution stays near 1.  The
tutorial's raw inputs (values up to 200) are far above 10."""


def warn_if_unscaled(arrays: Sequence[tuple[str, FloatArray]], *, where: str,
                     limit: float = SCALE_LIMIT, stacklevel: int = 3) -> bool:
    """Warn :class:`ScaleWarning` when a column of one of ``arrays`` (``(name, array)``
    pairs, already validated: 2-D, finite, non-empty) has a root mean square above
    ``limit``; the message names each such argument and its worst column, and suggests
    standardization.  Returns whether it warned.

    The root mean square is taken in float64, scaled by each column's largest value, so it
    is finite (and named in the message) even for values near 1e308."""
    found = []
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        for name, arr in arrays:
            flat = arr.reshape(arr.shape[0], -1) if arr.ndim >= 2 else arr.reshape(-1, 1)
            # fast accept (one dot product, no temporaries): no column's mean square exceeds
            # the sum of them all; an overflow to inf falls through to the exact test
            if flat.size and float(np.vdot(flat, flat)) / flat.shape[0] <= 0.99 * limit ** 2:
                continue
            # m * rms(x / m) with m the column's largest |x|: finite for any finite column
            big = np.max(np.abs(flat), axis=0).astype(np.float64)
            m = np.where(big > 0, big, 1.0)
            rms = m * np.sqrt(np.mean(np.square(flat / m, dtype=np.float64), axis=0))
            col = int(np.argmax(rms))
            if not rms[col] <= limit:
                found.append(f"{name} column {col} has a root mean square of "
                             f"{float(rms[col]):.3g}")
    if not found:
        return False
    warnings.warn(
        f"{where}: {' and '.join(found)} (above {limit:g}; standardized columns have 1): the "
        "data does not look standardized, and training on raw units is slow or unstable. Fit "
        "scalers on the training set with nnfunc.fit_scaler and apply nnfunc.transform.",
        ScaleWarning, stacklevel=stacklevel)
    return True


P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def numeric_guard(where: str, names: str, hint: str = "") -> Iterator[None]:
    """Run NumPy arithmetic under nnfunc's floating-point policy (module docstring):
    underflow silent; overflow, invalid and divide-by-zero raise :class:`NonFiniteError`
    naming ``where`` and the argument(s) ``names`` that fed the computation."""
    try:
        with np.errstate(under="ignore", over="raise", invalid="raise", divide="raise"):
            yield
    except FloatingPointError as err:
        raise NonFiniteError(
            expected(where, names, "small enough to compute with in floating point",
                     f"'{err}'", hint)
        ) from None


def check_result(value: Any, *, where: str, names: str, hint: str = "") -> None:
    """Refuse a non-finite result (float, array, or a record/tuple of them) that NumPy
    produced without raising, e.g. an ``inf`` from ``np.vdot``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NonFiniteError(expected(
                where, names, "small enough to compute with in floating point",
                f"a result of {value}", hint))
    elif isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            check_finite(value, where=where, name=f"the result of {names}", hint=hint)
    elif isinstance(value, tuple):
        for item in value:
            check_result(item, where=where, names=names, hint=hint)
    elif hasattr(value, "layers"):  # Params (a gradient): every W and b
        # the fast test first: a sum of squares (BLAS dot: no temporaries, and it does not
        # trip NumPy's floating-point error state) is finite only if every entry is; the
        # exact, named refusal only when it is not (or when the squares overflowed)
        total, vdot = 0.0, np.vdot
        try:
            for layer in value.layers:
                total += float(vdot(layer.W, layer.W)) + float(vdot(layer.b, layer.b))
        except FloatingPointError:
            total = math.inf
        if not math.isfinite(total):
            isfinite = np.isfinite
            for layer in value.layers:
                if not (isfinite(layer.W).all() and isfinite(layer.b).all()):
                    check_result((layer.W, layer.b), where=where, names=names, hint=hint)


def guard_numerics(where: str, names: str, hint: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a public function: its body runs under :func:`numeric_guard`, and its
    result goes through :func:`check_result`."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:  # numeric_guard, inlined: this wraps every public arithmetic call
                with np.errstate(under="ignore", over="raise", invalid="raise", divide="raise"):
                    out = fn(*args, **kwargs)
            except FloatingPointError as err:
                raise NonFiniteError(
                    expected(where, names, "small enough to compute with in floating point",
                             f"'{err}'", hint)
                ) from None
            check_result(out, where=where, names=names, hint=hint)
            return out

        return wrapper

    return decorate


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
