"""Step 8: gradient descent, and optimizers as pure functions over small state records.

An :class:`Optimizer` is a pair of pure functions, in the style of optax::

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)         # W + dW, b + db, dtype preserved

Computing an update is separate from applying it.  ``updates`` and every array in a
state record have the structure of ``Params`` (a gradient is a ``Params`` too) and the
params' dtype.  With learning rate 0 every optimizer returns zero updates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs
import numpy as np

from . import _kernels
from ._checks import FloatArray, check_float
from .errors import DTypeError, expected
from .losses import mse
from .net import _checked_XY, _value_and_grads, check_params
from .params import Layer, Params

__all__ = [
    "AdamState",
    "Optimizer",
    "SgdState",
    "adam",
    "apply_updates",
    "sgd",
    "sgd_step",
    "tree_map",
    "zeros_like",
]

S = TypeVar("S")


@attrs.frozen(slots=True)
class Optimizer(Generic[S]):
    """An optimizer: ``init(params) -> state`` and
    ``update(grads, state, params) -> (updates, state)``, both pure."""

    name: str
    init: Callable[[Params], S] = attrs.field(eq=False, repr=False)
    update: Callable[[Params, S, Params], tuple[Params, S]] = attrs.field(eq=False, repr=False)
    hyper: tuple[tuple[str, Any], ...] = ()
    """The hyper-parameters, for display: ``(("lr", 0.01), ...)``."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper)
        return f"{self.name}({args})"


def tree_map(fn: Callable[..., FloatArray], tree: Params, *rest: Params) -> Params:
    """Apply ``fn`` to every ``W`` and every ``b`` of ``tree`` (and the matching arrays of
    ``rest``), giving a new ``Params`` of the same structure.  ``fn`` must return new arrays
    (they are made read-only); the dtype is whatever ``fn`` returns."""
    layers = []
    for i, layer in enumerate(tree.layers):
        others = [r.layers[i] for r in rest]
        W = fn(layer.W, *(o.W for o in others))
        b = fn(layer.b, *(o.b for o in others))
        layers.append(Layer._trusted(np.asarray(W), np.asarray(b), layer.activation))
    return Params._trusted(tuple(layers))


def zeros_like(params: Params) -> Params:
    """A ``Params`` of zeros with the shapes and dtype of ``params``."""
    return tree_map(np.zeros_like, params)


def apply_updates(params: Params, updates: Params) -> Params:
    """``params + updates`` layer by layer; a new ``Params`` of the params' dtype."""
    p = check_params(params, "apply_updates")
    u = check_params(updates, "apply_updates")
    if p.sizes != u.sizes:
        raise DTypeError(expected("apply_updates", "updates", f"sizes {p.sizes} like params",
                                  f"sizes {u.sizes}"))
    return tree_map(lambda a, d: a + d.astype(a.dtype, copy=False), p, u)


def _lr(lr: float, where: str) -> float:
    return check_float(lr, where=where, name="lr", low=0.0, low_open=False)


@attrs.frozen(slots=True)
class SgdState:
    """Plain gradient descent keeps only the step count.

    Attributes
    ----------
    count: the number of updates made so far.
    """

    count: int = 0


def sgd(lr: float = 0.01) -> Optimizer[SgdState]:
    """Plain gradient descent: ``update = -lr * grad``."""
    rate = _lr(lr, "sgd")

    def init(params: Params) -> SgdState:
        return SgdState(0)

    def update(g: Params, state: SgdState, params: Params) -> tuple[Params, SgdState]:
        neg = -rate
        return tree_map(lambda d: d * d.dtype.type(neg), g), SgdState(state.count + 1)

    return Optimizer("sgd", init, update, (("lr", rate),))


@attrs.frozen(slots=True, eq=False)
class AdamState:
    """Adam's state.

    Attributes
    ----------
    count: the number of updates made so far (``t`` in the paper).
    mu: first-moment estimate, structure and dtype of the params.
    nu: second-moment estimate, structure and dtype of the params.
    """

    count: int
    mu: Params
    nu: Params

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AdamState):
            return NotImplemented
        return self.count == other.count and self.mu == other.mu and self.nu == other.nu

    __hash__ = None  # type: ignore[assignment]


def adam(lr: float = 0.01, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
         ) -> Optimizer[AdamState]:
    """Adam (Kingma & Ba, 2015, Algorithm 1), with bias correction applied to the moments::

        t = count + 1
        mu = b1 mu + (1 - b1) g,        nu = b2 nu + (1 - b2) g**2
        update = -lr * (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t)) + eps)

    ``eps`` is added outside the square root, as in the paper and optax.
    """
    rate = _lr(lr, "adam")
    beta1 = check_float(b1, where="adam", name="b1", low=0.0, high=1.0, low_open=False)
    beta2 = check_float(b2, where="adam", name="b2", low=0.0, high=1.0, low_open=False)
    epsilon = check_float(eps, where="adam", name="eps", low=0.0)

    def init(params: Params) -> AdamState:
        return AdamState(0, zeros_like(params), zeros_like(params))

    def update(g: Params, state: AdamState, params: Params) -> tuple[Params, AdamState]:
        t = state.count + 1
        mu = tree_map(lambda m, d: beta1 * m + (1 - beta1) * d, state.mu, g)
        nu = tree_map(lambda v, d: beta2 * v + (1 - beta2) * (d * d), state.nu, g)
        c1 = 1 - beta1 ** t
        c2 = 1 - beta2 ** t
        upd = tree_map(lambda m, v: -rate * (m / c1) / (np.sqrt(v / c2) + epsilon), mu, nu)
        return upd, AdamState(t, mu, nu)

    return Optimizer("adam", init, update, (("lr", rate), ("b1", beta1), ("b2", beta2),
                                            ("eps", epsilon)))


def sgd_step(params: Params, X: FloatArray, Y: FloatArray, lr: float, *, l2: float = 0.0
             ) -> Params:
    """Step 8: one plain gradient-descent update on the batch ``(X, Y)``.

    ``W - lr * dW`` and ``b - lr * db`` for every layer, with the gradient of the objective
    (see :mod:`nnfunc.net`); ``X: (n_samples, n_features)``, ``Y: (n_samples, n_outputs)``.
    Returns new params; ``lr = 0`` returns params equal to the input.
    """
    p = check_params(params, "sgd_step")
    Xa, Ya = _checked_XY(p, X, Y, "sgd_step")
    # plain floats in range are accepted as they are; anything else goes through the checks
    rate = lr if type(lr) is float and 0.0 <= lr < math.inf else _lr(lr, "sgd_step")
    lam = (l2 if type(l2) is float and 0.0 <= l2 < math.inf else
           check_float(l2, where="sgd_step", name="l2", low=0.0, low_open=False))
    layers = p.layers
    w = _kernels.plan(layers, Xa.shape[0])
    out = []
    if w is not None:
        # -lr folded into back-propagation: G = -lr dW_data comes out new, and becomes W + G
        gs = _kernels.step(layers, w, Xa, Ya, -rate, False)[1]
        for layer, (G, g) in zip(layers, gs, strict=True):
            if lam:
                G -= layer.W.dtype.type(rate * lam) * layer.W
            out.append(Layer._trusted(np.add(layer.W, G, out=G), np.add(layer.b, g, out=g),
                                      layer.activation))
        return Params._trusted(tuple(out))
    grad = _value_and_grads(p, Xa, Ya, lam, mse)[1]
    for layer, gl in zip(layers, grad.layers, strict=True):
        dt = layer.W.dtype.type(-rate)
        dW = np.multiply(gl.W, dt)
        db = np.multiply(gl.b, dt)
        out.append(Layer._trusted(np.add(layer.W, dW, out=dW), np.add(layer.b, db, out=db),
                                  layer.activation))
    return Params._trusted(tuple(out))
