"""Step 9: a trained network bundled with its scalers, predicting in raw units.

A network trained on standardized data is useless without the two scalers it was trained
with, so :class:`Model` keeps the three together and :func:`predict` does the whole trip::

    predict(model, X_raw) = inverse_transform(y_scaler, forward(params, transform(x_scaler, X_raw)))
"""

from __future__ import annotations

import attrs
import numpy as np

from ._checks import FloatArray, MatrixLike, as_float_array, guard_numerics
from .errors import DTypeError, ShapeError, expected
from .net import _forward, check_params
from .params import Params
from .scaling import Scaler, inverse_transform, transform

__all__ = ["Model", "predict"]


@attrs.frozen(slots=True, repr=False)
class Model:
    """Trained ``params`` with the input scaler ``x_scaler`` (``n_features`` columns) and
    the output scaler ``y_scaler`` (``n_outputs`` columns) they were trained with."""

    params: Params
    x_scaler: Scaler
    y_scaler: Scaler

    def __attrs_post_init__(self) -> None:
        p = check_params(self.params, "Model")
        for name, scaler, width in (("x_scaler", self.x_scaler, p.sizes[0]),
                                    ("y_scaler", self.y_scaler, p.sizes[-1])):
            if not isinstance(scaler, Scaler):
                raise DTypeError(expected("Model", name, "an nnfunc.Scaler",
                                          type(scaler).__name__))
            if scaler.n_columns != width:
                raise ShapeError(expected("Model", name, f"{width} columns to match the params",
                                          f"{scaler.n_columns}"))

    def __repr__(self) -> str:
        return f"Model({self.params!r})"


@guard_numerics("predict", "X_raw and the model",
                "Inputs this large overflow the model's dtype: are they in the training units?")
def predict(model: Model, X_raw: MatrixLike) -> FloatArray:
    """Predictions in raw units.

    ``X_raw: (n_samples, n_features)`` in the units of the training data (a list of lists
    such as ``[[30, 70]]`` is fine) -> ``(n_samples, n_outputs)`` in the units of the
    training targets, in the params' dtype.
    """
    if not isinstance(model, Model):
        raise DTypeError(expected("predict", "model", "an nnfunc.Model", type(model).__name__))
    arr = as_float_array(X_raw, where="predict", name="X_raw", ndim=2,
                         shape_doc="(n_samples, n_features)")
    arr = arr.astype(model.params.dtype, copy=False)
    if arr.shape[1] != model.x_scaler.n_columns:
        raise ShapeError(expected("predict", "X_raw", f"{model.x_scaler.n_columns} columns",
                                  f"{arr.shape[1]} columns"))
    Z = transform(model.x_scaler, arr)
    return inverse_transform(model.y_scaler, _forward(model.params.layers, np.asarray(Z)))
