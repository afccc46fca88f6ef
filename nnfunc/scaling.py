"""Step 4: standardization, fit on the training set only.

``transform(s, X) = (X - s.mean) / s.std`` column by column, and
``inverse_transform(s, Z) = Z * s.std + s.mean``.  Fit one scaler on the training inputs
and one on the training targets; apply them to the test set; invert predictions.

Numerical faults: ``fit_scaler`` works for any finite data, even values near the float
limit whose plain sum overflows (the columns are then rescaled by a power of two, which is
exact).  ``transform`` and ``inverse_transform`` raise :class:`~nnfunc.NonFiniteError` when
a result would overflow (data far outside what the scaler was fit on, or a float64 scaler
applied to float32 data it cannot represent) rather than return ``inf``.
"""

from __future__ import annotations

import attrs
import numpy as np

from ._checks import (
    FloatArray,
    _describe,
    arrays_equal,
    as_float_array,
    freeze,
    guard_numerics,
    readonly_copy,
)
from .errors import DataError, DTypeError, ShapeError, expected

__all__ = ["Scaler", "fit_scaler", "inverse_transform", "transform"]


@attrs.frozen(slots=True, eq=False, repr=False)
class Scaler:
    """Per-column standardization.

    Attributes
    ----------
    mean: (n_columns,)
        Column means of the data it was fit on.
    std: (n_columns,)
        Column standard deviations (population, ``ddof=0``), all > 0.
    """

    mean: FloatArray
    std: FloatArray

    def __attrs_post_init__(self) -> None:
        mean = as_float_array(self.mean, where="Scaler", name="mean", ndim=1,
                              shape_doc="(n_columns,)")
        std = as_float_array(self.std, where="Scaler", name="std", ndim=1,
                             shape_doc="(n_columns,)")
        if std.shape != mean.shape:
            raise ShapeError(expected("Scaler", "std", f"shape {mean.shape}, like mean",
                                      f"shape {std.shape}"))
        if mean.dtype != std.dtype:
            raise DTypeError(expected("Scaler", "std", f"dtype {mean.dtype}, like mean",
                                      str(std.dtype)))
        if not (std > 0).all():
            col = int(np.argmin(std > 0))
            raise DataError(expected(f"Scaler column {col}", "std", "> 0", repr(float(std[col]))))
        object.__setattr__(self, "mean", readonly_copy(mean))
        object.__setattr__(self, "std", readonly_copy(std))

    @property
    def n_columns(self) -> int:
        return int(self.mean.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scaler):
            return NotImplemented
        return arrays_equal(self.mean, other.mean) and arrays_equal(self.std, other.std)

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __repr__(self) -> str:
        return f"Scaler(n_columns={self.n_columns}, dtype={self.mean.dtype})"


def _mean_std(X: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Column means and population standard deviations, finite for any finite ``X``."""
    with np.errstate(all="ignore"):  # tiny values square to 0, which is right
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        if np.isfinite(mean).all() and np.isfinite(std).all():
            return mean, std
        # The sums overflowed: values near the float limit.  Divide each column by the power
        # of two just below its largest magnitude (exact, and representable), so every
        # entry is under 2 in magnitude, and multiply back.
        exponent = np.frexp(np.max(np.abs(X), axis=0))[1] - 1
        scale = np.ldexp(np.ones_like(X[0]), exponent).astype(X.dtype)
        Xs = X / scale
        return Xs.mean(axis=0) * scale, Xs.std(axis=0) * scale


def fit_scaler(X: FloatArray) -> Scaler:
    """Fit a :class:`Scaler` to the columns of ``X: (n_samples, n_columns)``.

    A column with zero variance (a single row makes every column constant) cannot be
    standardized and raises :class:`~nnfunc.DataError` naming the column (drop it: it
    carries no information).
    """
    X = as_float_array(X, where="fit_scaler", name="X", ndim=2, shape_doc="(n_samples, n_columns)")
    mean, std = _mean_std(X)
    zero = np.flatnonzero(~(std > 0))
    if zero.size:
        raise DataError(expected("fit_scaler", f"X column {int(zero[0])}",
                                  "non-constant (standard deviation > 0)",
                                  f"the constant {float(X[0, zero[0]])!r}",
                                  "Drop the column: it carries no information."
                                  if X.shape[0] > 1 else "One row cannot be standardized."))
    return Scaler(mean=mean, std=std)


def _check_against(scaler: Scaler, X: object, where: str, name: str) -> FloatArray:
    if not isinstance(scaler, Scaler):
        raise DTypeError(expected(where, "scaler", "an nnfunc.Scaler", _describe(scaler),
                                  "Make one with nnfunc.fit_scaler(X_train)."))
    arr = as_float_array(X, where=where, name=name, ndim=2, shape_doc="(n_samples, n_columns)")
    if arr.shape[1] != scaler.n_columns:
        raise ShapeError(expected(where, name, f"{scaler.n_columns} columns, as the scaler was fit",
                                  f"{arr.shape[1]} columns"))
    return arr


@guard_numerics("transform", "X", "Values this close to the float limit (or far outside "
                "the data the scaler was fit on) cannot be standardized: rescale them first.")
def transform(scaler: Scaler, X: FloatArray) -> FloatArray:
    """``(X - mean) / std``; ``X: (n_samples, n_columns)``, returns the same shape and dtype
    as ``X`` (a new, read-only array)."""
    arr = _check_against(scaler, X, "transform", "X")
    dt = arr.dtype
    return freeze(((arr - scaler.mean.astype(dt)) / scaler.std.astype(dt)).astype(dt, copy=False))


@guard_numerics("inverse_transform", "Z", "Z is far too large for the scaler's units: is "
                "it really standardized?")
def inverse_transform(scaler: Scaler, Z: FloatArray) -> FloatArray:
    """``Z * std + mean``: back to raw units; ``Z: (n_samples, n_columns)``."""
    arr = _check_against(scaler, Z, "inverse_transform", "Z")
    dt = arr.dtype
    return freeze((arr * scaler.std.astype(dt) + scaler.mean.astype(dt)).astype(dt, copy=False))
