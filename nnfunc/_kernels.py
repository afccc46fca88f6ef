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

:func:`nnfunc.train` fuses its inner loop on top of this (:class:`FlatNet`): the params live
in one private flat vector (two, taking turns), each step's gradient is written straight into
views of one private flat gradient vector, the optimizer's flat rule updates the params, and
``Params`` records are built only once per epoch, from a fresh copy.  Its mini-batches are
gathered once per epoch into private row buffers (:func:`shuffled`), and the per-epoch loss
and live-unit count run here too (:func:`evaluate`).  None of these buffers is ever handed to
a caller or to user code other than an optimizer's own flat rule, which reads the gradient.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from ._checks import FloatArray
from .activations import Kernel, _kernel, _relu_fwd
from .params import Layer

__all__: list[str] = []

_MAX_ENTRIES = 8
"""Work sets kept per thread (a training loop needs two: full batches and the last one)."""


class _Work:
    """Private work arrays for one ``(dtype, n, sizes, activations)``; never leave this module."""

    __slots__ = ("At", "Er", "Et", "Zt", "acts", "dAt", "ks", "ones")

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
        self.Er: FloatArray | None = None  # (n, n_outputs), made when first needed
        self.ones = np.ones(n, dtype)

    def rows(self) -> FloatArray:
        """A work array of shape ``(n, n_outputs)`` (samples as rows)."""
        if self.Er is None:
            self.Er = np.empty(self.Et.shape[::-1], self.Et.dtype)
        return self.Er


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


Pairs = list[tuple[FloatArray, FloatArray]]
"""``[(W_0, b_0), (W_1, b_1), ...]``: the weights a kernel reads (record arrays or views of a
private flat vector)."""


def _forward_t(Wb: Pairs, X: FloatArray, w: _Work) -> list[FloatArray]:
    """``[X.T, At_1, ..., At_L]``; all but the first are work arrays."""
    At = [X.T]
    A = X.T
    ks = w.ks
    for i, (W, b) in enumerate(Wb):
        Z = np.matmul(W.T, A, out=w.Zt[i])
        np.add(Z, b[:, None], out=Z)
        A = ks[i][0](Z, w.At[i])
        At.append(A)
    return At


def pairs(layers: tuple[Layer, ...]) -> Pairs:
    return [(layer.W, layer.b) for layer in layers]


def forward(layers: tuple[Layer, ...], w: _Work, X: FloatArray) -> FloatArray:
    """``Y_hat: (n_samples, n_outputs)``, a new C-contiguous array."""
    return _forward_t(pairs(layers), X, w)[-1].T.copy(order="C")  # always a new array


def _backprop(Wb: Pairs, w: _Work, X: FloatArray, Y: FloatArray, scale: float,
              want_value: bool, out: Pairs | None) -> tuple[float, Pairs]:
    """The forward and backward pass behind :func:`step` and :func:`flat_grad`: the data
    gradient times ``scale`` goes into ``out`` (per layer ``(dW, db)``) or new arrays."""
    At = _forward_t(Wb, X, w)
    ks = w.ks
    E = np.subtract(At[-1], Y.T, out=w.Et)  # Y_hat - Y, samples as columns
    value = float(np.vdot(E, E)) / E.size if want_value else float("nan")
    dA = np.multiply(E, E.dtype.type(2.0 / E.size * scale), out=E)
    gs: Pairs = []
    for i in range(len(Wb) - 1, -1, -1):
        ks[i][1](dA, w.Zt[i], At[i + 1])  # dA becomes dZ, in place
        if out is None:
            dW = np.matmul(At[i], dA.T)  # (n_in, n_out), new
            db = np.matmul(dA, w.ones)  # (n_out,), new
        else:
            dW = np.matmul(At[i], dA.T, out=out[i][0])
            db = np.matmul(dA, w.ones, out=out[i][1])
        if i:
            dA = np.matmul(Wb[i][0], dA, out=w.dAt[i])
        gs.append((dW, db))
    gs.reverse()
    return value, gs


def step(
    layers: tuple[Layer, ...], w: _Work, X: FloatArray, Y: FloatArray, scale: float,
    want_value: bool,
) -> tuple[float, list[tuple[FloatArray, FloatArray]]]:
    """One forward and backward pass of the mean squared error.

    Returns ``(loss, [(scale * dW_l, scale * db_l), ...])`` with the *data* gradient (no
    penalty), every array new; ``loss`` is NaN unless ``want_value``.  Back-propagation is
    linear in the seed gradient, so ``scale`` (``-lr`` for a step) is folded into it once.
    """
    return _backprop(pairs(layers), w, X, Y, scale, want_value, None)


# --- the fused training loop: one private flat parameter vector and one flat gradient -------


def _views(flat: FloatArray, spans: tuple[tuple[int, int, tuple[int, ...]], ...]) -> Pairs:
    v = [flat[lo:hi].reshape(shape) for lo, hi, shape in spans]
    return [(v[2 * i], v[2 * i + 1]) for i in range(len(v) // 2)]


class FlatNet:
    """Private buffers for :func:`nnfunc.train`'s inner loop over one flat parameter vector.

    ``theta[0]`` and ``theta[1]`` hold the parameters in ``_leaves`` order (``W_0, b_0, W_1,
    ...``, each C-ordered) and take turns: a step reads ``theta[cur]`` and writes
    ``theta[cur] + update`` into the other, so the params from before a failed step are still
    there.  ``g`` is the flat gradient, written in place by :meth:`grad` through per-layer
    views.  None of these buffers ever leaves :mod:`nnfunc.train`: whatever a caller sees is a
    fresh copy (``train`` copies the current ``theta`` at the end of every epoch).
    """

    __slots__ = ("g", "gviews", "l2", "theta", "views")

    def __init__(self, theta0: FloatArray, spans: tuple[tuple[int, int, tuple[int, ...]], ...],
                 l2: float) -> None:
        self.theta = (theta0.copy(), np.empty_like(theta0))
        self.views = (_views(self.theta[0], spans), _views(self.theta[1], spans))
        self.g = np.empty_like(theta0)
        self.gviews = _views(self.g, spans)
        self.l2 = l2

    def grad(self, cur: int, w: _Work, X: FloatArray, Y: FloatArray) -> float:
        """The data loss on ``(X, Y)`` at ``theta[cur]``; the gradient of the objective (L2
        penalty included) goes into ``g``, with the same arithmetic as
        :func:`nnfunc.net._value_and_grads`."""
        Wb = self.views[cur]
        value = _backprop(Wb, w, X, Y, 1.0, True, self.gviews)[0]
        if self.l2:
            for (W, _b), (dW, _db) in zip(Wb, self.gviews, strict=True):
                dW += W.dtype.type(self.l2) * W
        return value


def flat_net(layers: tuple[Layer, ...], theta0: FloatArray,
             spans: tuple[tuple[int, int, tuple[int, ...]], ...], l2: float) -> FlatNet | None:
    """A :class:`FlatNet` starting from ``theta0`` (copied), or ``None`` when an activation has
    no private kernel (then ``train`` takes its general path)."""
    return None if kernels(layers) is None else FlatNet(theta0, spans, l2)


def evaluate(layers: tuple[Layer, ...], X: FloatArray, Y: FloatArray, chunk: int,
             alive: list[NDArray[np.bool_]] | None) -> float | None:
    """The summed squared error of ``layers`` on ``(X, Y)`` in chunks of ``chunk`` rows (and,
    when ``alive`` is given, ``alive[l] |=`` whether each unit of hidden layer ``l`` output
    non-zero for some row); ``None`` when an activation has no private kernel."""
    Wb = pairs(layers)
    sq = 0.0
    for lo in range(0, X.shape[0], chunk):
        Xc = X[lo:lo + chunk]
        w = plan(layers, Xc.shape[0])
        if w is None:
            return None
        At = _forward_t(Wb, Xc, w)
        # Y_hat - Y in rows: summed in the order nnfunc.mse sums, so one chunk gives its number
        E = np.subtract(At[-1].T, Y[lo:lo + chunk], out=w.rows())
        sq += float(np.vdot(E, E))
        if alive is not None:
            for mask, A, k in zip(alive, At[1:-1], w.ks, strict=False):
                if k[0] is _relu_fwd:  # outputs >= 0: alive where the row sum is > 0 (a gemv)
                    mask |= np.matmul(A, w.ones) > 0
                else:
                    mask |= A.any(axis=1)
    return sq


def shuffled(X: FloatArray, Y: FloatArray, order: NDArray[np.intp]
             ) -> tuple[FloatArray, FloatArray, Callable[[], None]]:
    """``(X[order], Y[order], done)`` gathered into private buffers reused from epoch to
    epoch (fresh ones of this size would page-fault every epoch).  The buffers are taken out
    of the per-thread cache until ``done()`` puts them back, so a nested ``train`` (from an
    optimizer's code, say) gets buffers of its own; they never leave ``train``'s inner loop."""
    cache: dict[tuple[object, ...], tuple[FloatArray, FloatArray]] | None = getattr(
        _local, "rows", None)
    if cache is None:
        cache = _local.rows = {}
    key = (X.dtype.char, X.shape, Y.shape)
    bufs = cache.pop(key, None)
    if bufs is None:
        bufs = (np.empty(X.shape, X.dtype), np.empty(Y.shape, Y.dtype))
    np.take(X, order, axis=0, out=bufs[0])
    np.take(Y, order, axis=0, out=bufs[1])

    def done() -> None:
        cache.clear()  # one size at a time: the last run's
        cache[key] = bufs

    return bufs[0], bufs[1], done
