"""Private fast path for forward, gradient and SGD step (not part of the public API).

The public contract is samples-as-rows (``X: (n_samples, n_features)``); here every work
array is laid out *samples as columns*, ``Zt_l = W_l.T @ At_{l-1} + b_l[:, None]`` with
``Zt_l: (n_out_l, n_samples)``, so the bias add and its gradient (``dZt_l @ ones``) run
along the long contiguous axis.  ``X.T`` and ``W.T`` are views: nothing is transposed in
memory.

Work arrays (``Zt``, ``At``, the back-propagated ``dAt``) are kept in a small per-thread
cache keyed by ``(dtype, n_samples, sizes, activations)`` and reused from call to call:
fresh temporaries of more than ~128 KiB are handed back to the operating system and
page-fault on the next step, which costs more than the arithmetic.  Purity is what callers
can observe, and they observe none of this: the caller's arrays are only read, every array
returned (``dW``, ``db``, new ``W``/``b``, the output of :func:`forward`) is freshly
allocated, and no user code (a custom activation) ever sees a work array -- networks with
activations that have no private kernel take the plain path in :mod:`nnfunc.net`.

The arithmetic is the one written in :mod:`nnfunc.net`; only the layout and the order of
operations differ (so results agree with the plain path to rounding, ~1e-15 relative).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ._checks import FloatArray
from .activations import Kernel, _kernel
from .params import Layer

__all__: list[str] = []

_MAX_ENTRIES = 8
"""Work sets kept per thread (a training loop needs two: full batches and the last one)."""


class _Work:
    """Private work arrays for one ``(dtype, n, sizes, activations)``; never leave this module."""

    __slots__ = ("At", "Et", "Zt", "acts", "dAt", "ks", "ones")

    def __init__(self, layers: tuple[Layer, ...], ks: list[Kernel], n: int) -> None:
        dtype = layers[0].W.dtype
        sizes = (layers[0].W.shape[0], *(layer.W.shape[1] for layer in layers))
        self.ks = ks
        self.acts = tuple(layer.activation for layer in layers)  # keeps the ids in the key alive
        self.Zt = [np.empty((m, n), dtype) for m in sizes[1:]]
        self.At = [np.empty((m, n), dtype) for m in sizes[1:]]
        # dAt[l]: gradient with respect to the input of layer l (l >= 1), (sizes[l], n)
        self.dAt = [np.empty((m, n), dtype) for m in sizes[:-1]]
        self.Et = np.empty((sizes[-1], n), dtype)
        self.ones = np.ones(n, dtype)


_local = threading.local()


def kernels(layers: tuple[Layer, ...]) -> list[Kernel] | None:
    """The in-place kernels of every layer's activation, or ``None`` if one has none."""
    out = []
    for layer in layers:
        k = _kernel(layer.activation)
        if k is None:
            return None
        out.append(k)
    return out


def plan(layers: tuple[Layer, ...], n: int) -> _Work | None:
    """The work arrays for ``n`` samples through ``layers``, or ``None`` when an activation
    has no private kernel (then the caller takes the plain path)."""
    cache: OrderedDict[tuple[object, ...], _Work | None] | None = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = OrderedDict()
    key = (layers[0].W.dtype.char, n, *[(lay.W.shape, id(lay.activation)) for lay in layers])
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    ks = kernels(layers)
    work = None if ks is None else _Work(layers, ks, n)
    if work is not None:  # a plain-path network is not remembered (its ids are not pinned)
        cache[key] = work
        if len(cache) > _MAX_ENTRIES:
            cache.popitem(last=False)
    return work


def _forward_t(layers: tuple[Layer, ...], X: FloatArray, w: _Work) -> list[FloatArray]:
    """``[X.T, At_1, ..., At_L]``; all but the first are work arrays."""
    At = [X.T]
    A = X.T
    ks = w.ks
    for i, layer in enumerate(layers):
        Z = np.matmul(layer.W.T, A, out=w.Zt[i])
        np.add(Z, layer.b[:, None], out=Z)
        A = ks[i][0](Z, w.At[i])
        At.append(A)
    return At


def forward(layers: tuple[Layer, ...], w: _Work, X: FloatArray) -> FloatArray:
    """``Y_hat: (n_samples, n_outputs)``, a new C-contiguous array."""
    return _forward_t(layers, X, w)[-1].T.copy(order="C")  # always a new array


def step(
    layers: tuple[Layer, ...], w: _Work, X: FloatArray, Y: FloatArray, scale: float,
    want_value: bool,
) -> tuple[float, list[tuple[FloatArray, FloatArray]]]:
    """One forward and backward pass of the mean squared error.

    Returns ``(loss, [(scale * dW_l, scale * db_l), ...])`` with the *data* gradient (no
    penalty), every array new; ``loss`` is NaN unless ``want_value``.  Back-propagation is
    linear in the seed gradient, so ``scale`` (``-lr`` for a step) is folded into it once.
    """
    At = _forward_t(layers, X, w)
    ks = w.ks
    E = np.subtract(At[-1], Y.T, out=w.Et)  # Y_hat - Y, samples as columns
    value = float(np.vdot(E, E)) / E.size if want_value else float("nan")
    dA = np.multiply(E, E.dtype.type(2.0 / E.size * scale), out=E)
    out: list[tuple[FloatArray, FloatArray]] = []
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        ks[i][1](dA, w.Zt[i], At[i + 1])  # dA becomes dZ, in place
        dW = np.matmul(At[i], dA.T)  # (n_in, n_out), new
        db = np.matmul(dA, w.ones)  # (n_out,), new
        if i:
            dA = np.matmul(layer.W, dA, out=w.dAt[i])
        out.append((dW, db))
    out.reverse()
    return value, out
