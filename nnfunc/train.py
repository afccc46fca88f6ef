"""Steps 8 and 9: the training loop and its history.

``train`` runs epochs of shuffled mini-batches (full batch when ``batch_size`` equals the
number of rows), applies an :class:`~nnfunc.optim.Optimizer`, and returns a
:class:`TrainResult` with the trained params, the optimizer state and a
:class:`History`.  It never changes its arguments; the only thing it advances is the
``numpy.random.Generator`` it is given, which is how the same seed gives the same run.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np

from ._checks import FloatArray, check_float, check_int, check_rng, freeze
from .data import Dataset
from .errors import DivergenceError, DTypeError, ShapeError, expected
from .losses import mse
from .net import _forward, _value_and_grads, check_params, check_XY
from .optim import Optimizer, adam, apply_updates
from .params import Params

__all__ = ["History", "TrainResult", "train"]


@attrs.frozen(slots=True, eq=False, repr=False)
class History:
    """Per-epoch figures, each ``(n_epochs,)`` float64 and read-only.

    Attributes
    ----------
    train_loss:
        Data loss (mean squared error) on the whole training set after each epoch.
    test_loss:
        The same on the test set, or ``None`` when no test set was passed.
    lr:
        The learning rate the optimizer was built with, per epoch.
    """

    train_loss: FloatArray
    test_loss: FloatArray | None = None

    def __len__(self) -> int:
        return int(self.train_loss.shape[0])

    def __repr__(self) -> str:
        last = f", last train_loss={self.train_loss[-1]:.3g}" if len(self) else ""
        return f"History({len(self)} epochs{last})"


@attrs.frozen(slots=True, eq=False, repr=False)
class TrainResult:
    """What :func:`train` returns: the trained ``params``, the optimizer's ``state``, and the
    ``history``."""

    params: Params
    state: Any
    history: History

    def __repr__(self) -> str:
        return f"TrainResult({self.params!r}, {self.history!r})"


def _check_dataset(data: object, where: str, name: str) -> Dataset:
    if not isinstance(data, Dataset):
        raise DTypeError(expected(where, name, "an nnfunc.Dataset", type(data).__name__,
                                  "Wrap arrays with nnfunc.Dataset(X, Y)."))
    return data


def train(
    params: Params,
    data: Dataset,
    rng: np.random.Generator,
    *,
    epochs: int = 100,
    batch_size: int = 32,
    optimizer: Optimizer[Any] | None = None,
    test: Dataset | None = None,
    l2: float = 0.0,
    on_epoch: Callable[[int, Params, History], None] | None = None,
) -> TrainResult:
    """Train ``params`` on ``data`` (standardized) and return a :class:`TrainResult`.

    Parameters
    ----------
    params: the starting point (not changed).
    data: the training set, ``X: (n_samples, n_features)``, ``Y: (n_samples, n_outputs)``.
    rng: shuffles the rows every epoch.
    epochs: full passes over ``data`` (0 returns the params unchanged).
    batch_size: rows per update, from 1 to ``len(data)`` (full batch).
    optimizer: defaults to ``adam()``.
    test: evaluated after every epoch, never trained on.
    l2: weight penalty in the objective (see :mod:`nnfunc.net`).
    on_epoch: called as ``on_epoch(epoch, params, history)`` after every epoch.
    """
    where = "train"
    p = check_params(params, where)
    ds = _check_dataset(data, where, "data")
    X, Y = check_XY(p, ds.X, ds.Y, where)
    test_xy = None
    if test is not None:
        te = _check_dataset(test, where, "test")
        test_xy = check_XY(p, te.X, te.Y, where)
    rng = check_rng(rng, where=where)
    n_epochs = check_int(epochs, where=where, name="epochs", low=0)
    n = X.shape[0]
    size = check_int(batch_size, where=where, name="batch_size", low=1)
    if size > n:
        raise ShapeError(expected(where, "batch_size", f"at most len(data) = {n}", str(size),
                                  f"Use batch_size={n} for full-batch training."))
    lam = check_float(l2, where=where, name="l2", low=0.0, low_open=False)
    opt = adam() if optimizer is None else optimizer
    if not isinstance(opt, Optimizer):
        raise DTypeError(expected(where, "optimizer", "an nnfunc.Optimizer such as nnfunc.adam()",
                                  type(opt).__name__))

    state = opt.init(p)
    train_hist = np.empty(n_epochs)
    test_hist = np.empty(n_epochs) if test_xy is not None else None
    for epoch in range(n_epochs):
        order = rng.permutation(n) if size < n else None
        for start in range(0, n, size):
            if order is None:
                Xb, Yb = X, Y
            else:
                idx = order[start:start + size]
                Xb, Yb = X[idx], Y[idx]
            value, g = _value_and_grads(p, Xb, Yb, lam, mse)
            if not math.isfinite(value):
                raise DivergenceError(
                    f"train: the loss became {value} at epoch {epoch}, batch {start // size}. "
                    "Lower the learning rate or standardize the data.", last_finite=p)
            updates, state = opt.update(g, state, p)
            p = apply_updates(p, updates)
        train_hist[epoch] = mse.value(_forward(p.layers, X), Y)
        if test_hist is not None and test_xy is not None:
            test_hist[epoch] = mse.value(_forward(p.layers, test_xy[0]), test_xy[1])
        if on_epoch is not None:
            on_epoch(epoch, p, _history(train_hist[:epoch + 1], test_hist, epoch + 1))
    return TrainResult(p, state, _history(train_hist, test_hist, n_epochs))


def _history(train_hist: FloatArray, test_hist: FloatArray | None, upto: int) -> History:
    te = None if test_hist is None else freeze(test_hist[:upto].copy())
    return History(freeze(train_hist[:upto].copy()), te)
