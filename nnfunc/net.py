r"""Steps 6 and 7: forward propagation, the objective, and its exact gradient.

The objective
-------------
For params :math:`\theta = (W_1, b_1, \dots, W_L, b_L)`, inputs ``X: (n, d)`` and targets
``Y: (n, m)``, nnfunc minimises, and :func:`grads` returns the exact gradient of::

    J(theta) = (1 / (n m)) * sum_i sum_k (Y_hat[i, k] - Y[i, k])**2    # loss(): the data loss
             + (l2 / 2) * sum_l ||W_l||_F**2                           # penalty(): biases free

    Y_hat = A_L,   A_l = f_l(Z_l),   Z_l = A_{l-1} @ W_l + b_l,   A_0 = X

that is, the mean squared error over samples *and* outputs (no hidden ½, no sum), averaged
over whatever batch is passed, plus an optional L2 penalty on the weights (``l2 = 0`` by
default).  Back-propagation::

    dZ_L = f_L'(Z_L) * 2 (Y_hat - Y) / (n m)
    dW_l = A_{l-1}.T @ dZ_l + l2 W_l,    db_l = sum over rows of dZ_l
    dZ_{l-1} = f_{l-1}'(Z_{l-1}) * (dZ_l @ W_l.T)

:func:`grad_check` compares this against central finite differences.

Speed: for the built-in activations and the mean squared error the arithmetic runs in
:mod:`nnfunc._kernels` (samples as columns, private work arrays reused between calls, never
visible to callers); ``_forward_plain`` and ``_value_and_grads_plain`` below are the readable
samples-as-rows version, used for custom activations and losses, and the tests check that
both agree to 1e-12.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import attrs
import numpy as np

from . import _kernels
from ._checks import (
    FloatArray,
    _describe,
    as_float_array,
    check_float,
    guard_numerics,
)
from .errors import DTypeError, NonFiniteError, ShapeError, expected
from .losses import Loss, mse
from .params import Layer, Params
from .params import check_params as check_params  # re-exported for optim, train, model

__all__ = ["forward", "grad_check", "grads", "loss", "objective", "penalty", "value_and_grads"]

# check_params lives in nnfunc.params (count_params needs it too) and is imported from here
# by the modules above the net.

_OVERFLOW_HINT = (
    "Standardize X and Y (nnfunc.fit_scaler, nnfunc.transform); if the params came from a "
    "run that diverged, lower the learning rate."
)
"""What a NonFiniteError from the arithmetic suggests (see nnfunc._checks: numeric_guard)."""


def _as_params_dtype(arr: FloatArray, x: object, params: Params, where: str, name: str
                     ) -> FloatArray:
    """A list/tuple (converted to float64) takes the params' dtype; arrays keep theirs."""
    if isinstance(x, np.ndarray) or arr.dtype == params.dtype:
        return arr
    with np.errstate(over="raise", under="ignore"):
        try:
            return arr.astype(params.dtype)
        except FloatingPointError:
            raise NonFiniteError(expected(
                where, name, f"representable in {params.dtype}, like the params",
                f"values up to {float(np.max(np.abs(arr))):.3g}", _OVERFLOW_HINT)) from None


def check_X(params: Params, X: object, where: str, name: str = "X") -> FloatArray:
    """``X: (n_samples, n_features)`` matching the params' input width and dtype (a list of
    lists is converted to the params' dtype)."""
    arr = as_float_array(X, where=where, name=name, ndim=2, shape_doc="(n_samples, n_features)")
    arr = _as_params_dtype(arr, X, params, where, name)
    n_in = params.layers[0].n_in
    if arr.shape[1] != n_in:
        raise ShapeError(expected(where, name, f"{n_in} columns (layer 0 has n_in={n_in})",
                                  f"{arr.shape[1]} columns"))
    if arr.dtype != params.dtype:
        raise DTypeError(expected(where, name, f"dtype {params.dtype}, like the params",
                                  str(arr.dtype),
                                  f"Use {name}.astype(np.{params.dtype}) or init(..., dtype=...)."))
    return arr


def check_XY(params: Params, X: object, Y: object, where: str) -> tuple[FloatArray, FloatArray]:
    """``X`` as in :func:`check_X` and ``Y: (n_samples, n_outputs)`` row for row."""
    Xa = check_X(params, X, where)
    Ya = as_float_array(Y, where=where, name="Y", ndim=2, shape_doc="(n_samples, n_outputs)")
    Ya = _as_params_dtype(Ya, Y, params, where, "Y")
    n_out = params.layers[-1].n_out
    if Ya.shape != (Xa.shape[0], n_out):
        raise ShapeError(expected(where, "Y", f"shape ({Xa.shape[0]}, {n_out}): one row per row "
                                  f"of X, one column per output", f"shape {Ya.shape}"))
    if Ya.dtype != params.dtype:
        raise DTypeError(expected(where, "Y", f"dtype {params.dtype}, like the params",
                                  str(Ya.dtype), f"Use Y.astype(np.{params.dtype})."))
    return Xa, Ya


def _check_l2(l2: object, where: str) -> float:
    return check_float(l2, where=where, name="l2", low=0.0, low_open=False)


def check_loss_fn(loss_fn: object, where: str) -> Loss:
    """Return ``loss_fn`` if it is an :class:`nnfunc.Loss` (such as ``nnfunc.mse``)."""
    if not isinstance(loss_fn, Loss):
        raise DTypeError(expected(where, "loss_fn", "an nnfunc.Loss such as nnfunc.mse",
                                  _describe(loss_fn)))
    return loss_fn


def _checked_XY(params: Params, X: object, Y: object, where: str
                ) -> tuple[FloatArray, FloatArray]:
    """:func:`check_XY` with a lean accept path for the hot loop: when ``X`` and ``Y`` are
    float arrays of the right dtype and shapes whose sums of squares are finite (one BLAS dot
    each, which is finite only if every entry is, and which does not touch NumPy's
    floating-point error state), they are accepted as they are; anything else goes through
    :func:`check_XY`, which raises the typed error (or accepts, when the squares of finite
    numbers merely overflowed)."""
    layers = params.layers
    if (type(X) is np.ndarray and type(Y) is np.ndarray and X.ndim == 2 and Y.ndim == 2
            and X.dtype == layers[0].W.dtype and Y.dtype == X.dtype and X.shape[0] > 0
            and X.shape[1] == layers[0].W.shape[0]
            and Y.shape == (X.shape[0], layers[-1].W.shape[1])):
        try:
            total = float(np.vdot(X, X)) + float(np.vdot(Y, Y))
        except FloatingPointError:  # not raised by NumPy 2's BLAS dot; the exact test decides
            total = math.inf
        if math.isfinite(total):
            return X, Y
    return check_XY(params, X, Y, where)


# --- the arithmetic, without checks -----------------------------------------------------


def _forward_trace(
    layers: tuple[Layer, ...], X: FloatArray
) -> tuple[list[FloatArray], list[FloatArray]]:
    """``(Zs, As)`` with ``As[0] = X`` and ``Zs[l], As[l + 1]`` the pre-activation and output
    of layer ``l``."""
    Zs: list[FloatArray] = []
    As: list[FloatArray] = [X]
    A = X
    for layer in layers:
        Z = A @ layer.W
        Z += layer.b
        A = layer.activation.fn(Z)
        Zs.append(Z)
        As.append(A)
    return Zs, As


def _forward(layers: tuple[Layer, ...], X: FloatArray) -> FloatArray:
    w = _kernels.plan(layers, X.shape[0]) if _fits(layers, X) else None
    if w is not None:
        return _kernels.forward(layers, w, X)
    return _forward_plain(layers, X)


def _forward_plain(layers: tuple[Layer, ...], X: FloatArray) -> FloatArray:
    """The reference arithmetic, samples as rows (custom activations and odd inputs)."""
    A = X
    for layer in layers:
        Z = A @ layer.W
        Z += layer.b
        A = layer.activation.fn(Z)
    return A


def _backward(
    layers: tuple[Layer, ...], Zs: list[FloatArray], As: list[FloatArray], dA: FloatArray,
    l2: float,
) -> Params:
    out: list[Layer] = []
    ones = np.ones(dA.shape[0], dtype=dA.dtype)
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        dZ = layer.activation.backward(dA, Zs[i], As[i + 1])
        dW = As[i].T @ dZ
        if l2:
            dW += layer.W.dtype.type(l2) * layer.W
        db = ones @ dZ
        if i:
            dA = dZ @ layer.W.T
        out.append(Layer._trusted(dW, db, layer.activation))
    return Params._trusted(tuple(reversed(out)))


def _penalty(layers: tuple[Layer, ...], l2: float) -> float:
    if not l2:
        return 0.0
    return 0.5 * l2 * sum(float(np.vdot(layer.W, layer.W)) for layer in layers)


def _fits(layers: tuple[Layer, ...], X: FloatArray) -> bool:
    """Whether ``X`` can go through the private kernels (a non-empty 2-D array of the params'
    dtype and width; anything else takes the plain path, which fails or copes as before)."""
    return (isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] > 0
            and X.dtype == layers[0].W.dtype and X.shape[1] == layers[0].W.shape[0])


def _value_and_grads(
    params: Params, X: FloatArray, Y: FloatArray, l2: float, loss_fn: Loss
) -> tuple[float, Params]:
    layers = params.layers
    w = (_kernels.plan(layers, X.shape[0])
         if loss_fn is mse and _fits(layers, X) and Y.dtype == X.dtype else None)
    if w is not None:
        value, gs = _kernels.step(layers, w, X, Y, 1.0, True)
        out = []
        for layer, (dW, db) in zip(layers, gs, strict=True):
            if l2:
                dW += layer.W.dtype.type(l2) * layer.W
            out.append(Layer._trusted(dW, db, layer.activation))
        return value, Params._trusted(tuple(out))
    return _value_and_grads_plain(params, X, Y, l2, loss_fn)


def _value_and_grads_plain(
    params: Params, X: FloatArray, Y: FloatArray, l2: float, loss_fn: Loss
) -> tuple[float, Params]:
    """The reference arithmetic of :func:`_value_and_grads`, samples as rows."""
    Zs, As = _forward_trace(params.layers, X)
    value = loss_fn.value(As[-1], Y)
    return value, _backward(params.layers, Zs, As, loss_fn.grad(As[-1], Y), l2)


# --- the public functions -----------------------------------------------------------------


@guard_numerics("forward", "X and params", _OVERFLOW_HINT)
def forward(params: Params, X: FloatArray) -> FloatArray:
    """Step 6: the network's output.

    ``X: (n_samples, n_features)`` (standardized, same dtype as the params) ->
    ``Y_hat: (n_samples, n_outputs)``, a new array.
    """
    p = check_params(params, "forward")
    return _forward(p.layers, check_X(p, X, "forward"))


@guard_numerics("loss", "X, Y and params", _OVERFLOW_HINT)
def loss(params: Params, X: FloatArray, Y: FloatArray, *, loss_fn: Loss = mse) -> float:
    """The data loss: mean squared error over samples and outputs (see the module docstring)."""
    p = check_params(params, "loss")
    Xa, Ya = check_XY(p, X, Y, "loss")
    loss_fn = check_loss_fn(loss_fn, "loss")
    return loss_fn.value(_forward(p.layers, Xa), Ya)


@guard_numerics("penalty", "params", "The weights are too large: the run diverged, or l2 is.")
def penalty(params: Params, l2: float) -> float:
    """The weight penalty ``(l2 / 2) * sum_l ||W_l||_F**2``; biases are not penalised."""
    p = check_params(params, "penalty")
    return _penalty(p.layers, _check_l2(l2, "penalty"))


def objective(params: Params, X: FloatArray, Y: FloatArray, *, l2: float = 0.0,
              loss_fn: Loss = mse) -> float:
    """``J = loss + penalty``: exactly what :func:`grads` differentiates."""
    return loss(params, X, Y, loss_fn=loss_fn) + penalty(params, l2)


@guard_numerics("grads", "X, Y and params", _OVERFLOW_HINT)
def value_and_grads(
    params: Params, X: FloatArray, Y: FloatArray, *, l2: float = 0.0, loss_fn: Loss = mse
) -> tuple[float, Params]:
    """``(data loss, dJ/dparams)`` in one forward and one backward pass.

    ``X: (n_samples, n_features)``, ``Y: (n_samples, n_outputs)``.  The gradient is a
    ``Params`` of the same shapes (``dW`` in ``W``, ``db`` in ``b``), averaged over the
    batch; the returned value is the data loss, without the penalty.
    """
    p = check_params(params, "grads")
    Xa, Ya = _checked_XY(p, X, Y, "grads")
    loss_fn = check_loss_fn(loss_fn, "grads")
    return _value_and_grads(p, Xa, Ya, _check_l2(l2, "grads"), loss_fn)


def grads(
    params: Params, X: FloatArray, Y: FloatArray, *, l2: float = 0.0, loss_fn: Loss = mse
) -> Params:
    """Step 7: the exact gradient of the objective ``J`` (module docstring) with respect to
    every ``W`` and ``b``, as a ``Params`` of the same shapes, averaged over the batch."""
    return value_and_grads(params, X, Y, l2=l2, loss_fn=loss_fn)[1]


@guard_numerics("grad_check", "X, Y, params and eps", _OVERFLOW_HINT)
def _moved(J: Callable[[tuple[Layer, ...]], float], layers: tuple[Layer, ...], li: int,
           field: str, idx: tuple[int, ...], step: float) -> float:
    """``J`` with entry ``idx`` of layer ``li``'s ``field`` (``"W"`` or ``"b"``) moved by
    ``step``."""
    moved = getattr(layers[li], field).copy()
    moved[idx] += step
    new = attrs.evolve(layers[li], **{field: moved})
    return J((*layers[:li], new, *layers[li + 1:]))


def grad_check(
    params: Params, X: FloatArray, Y: FloatArray, *, l2: float = 0.0, eps: float = 1e-4,
    loss_fn: Loss = mse,
) -> float:
    """The worst relative error between :func:`grads` and central finite differences.

    Each entry ``t`` of every ``W`` and ``b`` is moved by ``+/- eps`` and ``+/- eps/2``; the
    two central differences ``D(h) = (J(t + h) - J(t - h)) / (2 h)`` are combined by
    Richardson extrapolation, ``(4 D(eps/2) - D(eps)) / 3``, whose error is ``O(eps**4)``
    (rounding adds about ``1e-16 |J| / eps``), and compared with the analytic gradient; for each
    array the relative error is ``||analytic - numeric|| / (||analytic|| + ||numeric||)``,
    and the worst over all arrays is returned.  The denominator is never taken below 1/1000 of
    the same sum over the whole gradient, so an array whose gradient is tiny (a saturated
    unit, say) does not report finite-difference rounding as an error; 0 when
    the whole gradient is 0.  In float64 a correct gradient gives about 1e-9 or less; keep
    pre-activations more than ``eps`` times the inputs away from kinks (ReLU at 0).  Costs
    four forward passes per parameter: use small networks and batches.
    """
    p = check_params(params, "grad_check")
    Xa, Ya = check_XY(p, X, Y, "grad_check")
    lam = _check_l2(l2, "grad_check")
    h = check_float(eps, where="grad_check", name="eps", low=0.0)
    loss_fn = check_loss_fn(loss_fn, "grad_check")
    analytic = _value_and_grads(p, Xa, Ya, lam, loss_fn)[1]

    def J(layers: tuple[Layer, ...]) -> float:
        return loss_fn.value(_forward(layers, Xa), Ya) + _penalty(layers, lam)

    pairs: list[tuple[FloatArray, FloatArray]] = []
    for li, layer in enumerate(p.layers):
        for field in ("W", "b"):
            base = getattr(layer, field)
            numeric = np.empty(base.shape, dtype=np.float64)
            for idx in np.ndindex(base.shape):
                J_at = functools.partial(_moved, J, p.layers, li, field, idx)
                d_h = (J_at(h) - J_at(-h)) / (2 * h)
                d_h2 = (J_at(h / 2) - J_at(-h / 2)) / h
                numeric[idx] = (4 * d_h2 - d_h) / 3
            pairs.append((getattr(analytic.layers[li], field).astype(np.float64), numeric))
    whole = sum(float(np.linalg.norm(a) + np.linalg.norm(n)) for a, n in pairs)
    floor = 1e-3 * whole
    worst = 0.0
    for exact, numeric in pairs:
        denom = max(float(np.linalg.norm(exact) + np.linalg.norm(numeric)), floor)
        if denom > 0:
            worst = max(worst, float(np.linalg.norm(exact - numeric)) / denom)
    return worst
