"""Steps 8 and 9: the training loop, its history, and what it does when things go wrong.

``train`` runs epochs of shuffled mini-batches, applies an :class:`~nnfunc.optim.Optimizer`
to the gradient of the objective (data loss + L2 penalty, see :mod:`nnfunc.net`) and returns
a :class:`TrainResult`: the params, the optimizer state, a :class:`History` and what is
needed to resume.  It never changes its arguments; the only thing it advances is the
``numpy.random.Generator`` it is given, which is how the same seed gives the same run.

The generator contract
----------------------
``rng`` is drawn from, in this order: once for the validation rows (a fresh run with
``val_fraction > 0``), then per epoch for revived units (if any died in the epoch before)
and for the shuffle (unless full batch).  Nothing else touches it.  So
``train(p, d, rng, epochs=n)`` and ``r = train(p, d, rng, epochs=k)`` followed by
``train(r, d, rng, epochs=n - k)`` with the *same* generator object give bit-identical
params, state and history, provided the run's plan is the same: pass the same explicit
``optimizer`` (a schedule counts optimizer steps, not calls) and ``revive_epochs`` to both,
because the defaults are laid out over the ``epochs`` of the call that starts the run.  When
``train`` is interrupted or diverges, it rewinds the generator to
the end of the last completed epoch, so resuming from the partial result continues exactly.

Defaults that work
------------------
Adam, batch 32, 40 epochs, a cosine schedule peaking at ``lr = 0.02`` after a linear warm-up
over the first 5 % of the steps and decaying to 0 at the last one, and dead-ReLU revival over
the first half of the epochs: a hidden ReLU unit that outputs zero for every training row
at the end of such an epoch gets fresh He-normal incoming weights and a bias of ``0.1``
before the next one.
Warm-up keeps the first large Adam steps from killing units; revival restarts the ones that
die anyway (the tutorial's 2-4-4-3 network has too few to spare); the cosine decay gives the
last digits.  On the tutorial's standardized task this trains the tutorial's 2-4-4-3 network
to a median test MSE of about 3e-7 and a 2-16-16-3 network to about 2e-6 (eight seeds each,
all below 1e-4; ``make bench-quality`` measures it).
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable
from typing import Any

import attrs
import numpy as np
from numpy.typing import NDArray

from . import _kernels
from ._checks import (
    SCALE_LIMIT,
    FloatArray,
    _describe,
    check_batch_size,
    check_float,
    check_int,
    check_rng,
    freeze,
    warn_if_unscaled,
)
from .data import Dataset, check_dataset
from .errors import (
    DataError,
    DeadUnitsWarning,
    DivergenceError,
    DTypeError,
    HyperParameterError,
    NnfuncWarning,
    ShapeError,
    expected,
)
from .losses import mse
from .net import _forward, _forward_trace, _penalty, _value_and_grads, check_params
from .optim import FlatRule, Optimizer, _add, _flatten, _Layout, _leaves, _unflatten, adam
from .params import Params
from .schedules import cosine

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "DEFAULT_LR",
    "SCALE_LIMIT",
    "History",
    "TrainResult",
    "default_optimizer",
    "train",
]

DEFAULT_EPOCHS = 40
DEFAULT_BATCH_SIZE = 32
DEFAULT_LR = 0.02
"""The peak of the default cosine schedule."""
WARMUP_FRACTION = 0.05
"""The default schedule's linear warm-up, as a fraction of all steps."""
REVIVE_BIAS = 0.1
"""The bias a revived ReLU unit restarts with (slightly positive, so it starts alive)."""
# SCALE_LIMIT (from nnfunc._checks, 10.0): train warns (ScaleWarning) when a column of
# data.X or data.Y has a root mean square above it; standardized columns have exactly 1.


@attrs.frozen(slots=True, eq=False, repr=False)
class History:
    """Per-epoch figures; each is ``(n_epochs,)`` float64 and read-only unless noted.

    Attributes
    ----------
    train_loss:
        Data loss (mean squared error, no penalty) on the training rows (the validation rows
        excluded) after each epoch.
    val_loss:
        The same on the validation rows, or ``None`` without validation.
    test_loss:
        The same on ``test``, or ``None`` when no test set was passed.
    penalty:
        The L2 penalty ``(l2 / 2) sum ||W||**2`` after each epoch (0 when ``l2 = 0``); the
        objective is ``train_loss + penalty``.
    lr:
        The learning rate of the epoch's last step (NaN for an optimizer without ``lr``).
    grad_norm:
        The mean over the epoch's steps of the mini-batch gradient's Euclidean norm (all
        ``W`` and ``b`` together, penalty included).
    dead:
        ``(n_epochs, n_hidden_layers)``: per hidden layer, the fraction of units that output
        zero for every training row after each epoch.
    """

    train_loss: FloatArray
    val_loss: FloatArray | None
    test_loss: FloatArray | None
    penalty: FloatArray
    lr: FloatArray
    grad_norm: FloatArray
    dead: FloatArray

    def __len__(self) -> int:
        return int(self.train_loss.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, History):
            return NotImplemented
        for name in ("train_loss", "val_loss", "test_loss", "penalty", "lr", "grad_norm",
                     "dead"):
            a, b = getattr(self, name), getattr(other, name)
            if (a is None) != (b is None):
                return False
            if a is not None and not (a.shape == b.shape
                                      and np.array_equal(a, b, equal_nan=True)):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        last = f", last train_loss={self.train_loss[-1]:.3g}" if len(self) else ""
        return f"History({len(self)} epochs{last})"


@attrs.frozen(slots=True, eq=False, repr=False)
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    params:
        The trained params: with early stopping (``patience``), those of the best validation
        epoch; otherwise those after the last completed epoch.
    state:
        The optimizer state after the last completed epoch (it belongs to ``last_params``).
    history:
        Every completed epoch of the run, resumed calls included.
    optimizer:
        The optimizer used (a resumed run keeps it).
    last_params:
        The params after the last completed epoch (what a resumed run starts from).
    best_epoch:
        Index into ``history`` (from 0, like ``on_epoch``'s ``epoch``) of the best validation
        loss, or ``None`` without validation.  Messages and ``repr`` count epochs from 1.
    stopped_epoch:
        Index of the epoch after which early stopping ended the run, or ``None``.
    interrupted:
        ``True`` when a ``KeyboardInterrupt`` cut the run short (see :func:`train`).
    best_params:
        The params of ``best_epoch`` (``None`` without validation).
    val_rows:
        ``(n_val,)`` the indices of ``data``'s rows held out for validation, or ``None``.
    n_rows, batch_size, l2, revive_epochs:
        The run's settings, which a resumed call keeps.
    """

    params: Params
    state: Any
    history: History
    optimizer: Optimizer[Any]
    last_params: Params
    best_epoch: int | None = None
    stopped_epoch: int | None = None
    interrupted: bool = False
    # what a resumed call needs to continue the same run
    best_params: Params | None = None
    val_rows: NDArray[np.intp] | None = None
    n_rows: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    l2: float = 0.0
    revive_epochs: int = 0

    @property
    def epochs(self) -> int:
        """The number of completed epochs."""
        return len(self.history)

    def __repr__(self) -> str:
        notes = []
        if self.stopped_epoch is not None:
            best = "?" if self.best_epoch is None else self.best_epoch + 1
            notes.append(f"stopped early after epoch {self.stopped_epoch + 1}, best epoch {best}")
        if self.interrupted:
            notes.append("interrupted")
        extra = f", {'; '.join(notes)}" if notes else ""
        return f"TrainResult({self.params!r}, {self.history!r}, {self.optimizer!r}{extra})"


def _check_resumable(prev: TrainResult, where: str) -> None:
    """A ``TrainResult`` passed as ``params``: its parts must be what ``train`` made."""
    check_params(prev.last_params, where, "params.last_params")
    if not isinstance(prev.optimizer, Optimizer):
        raise DTypeError(expected(where, "params.optimizer", "an nnfunc.Optimizer",
                                  _describe(prev.optimizer)))
    if not isinstance(prev.history, History):
        raise DTypeError(expected(where, "params.history", "an nnfunc.History",
                                  _describe(prev.history)))


def _data_arrays(p: Params, ds: Dataset, where: str, name: str, resumed: bool
                 ) -> tuple[FloatArray, FloatArray]:
    """``ds.X`` and ``ds.Y`` (a Dataset: 2-D, finite, row for row), checked against ``p``'s
    input and output widths and dtype; the message names ``name.X`` or ``name.Y``."""
    whose = "the resumed run's params" if resumed else "the params"
    n_in, n_out = p.layers[0].n_in, p.layers[-1].n_out
    for field, arr, width, layer in (("X", ds.X, n_in, f"layer 0 has n_in={n_in}"),
                                     ("Y", ds.Y, n_out,
                                      f"layer {len(p.layers) - 1} has n_out={n_out}")):
        if arr.shape[1] != width:
            hint = ("A TrainResult continues on the data it was trained on." if resumed else
                    f"Make params for this data: nnfunc.init([{ds.X.shape[1]}, ..., "
                    f"{ds.Y.shape[1]}], ...).")
            raise ShapeError(expected(where, f"{name}.{field}", f"{width} columns, like {whose} "
                                      f"({layer})", f"{arr.shape[1]} columns", hint))
        if arr.dtype != p.dtype:
            raise DTypeError(expected(where, f"{name}.{field}", f"dtype {p.dtype}, like {whose}",
                                      str(arr.dtype), f"Make the Dataset from "
                                      f"{field}.astype(np.{p.dtype}), or init(..., dtype=...)."))
    return ds.X, ds.Y


def default_optimizer(epochs: int, steps_per_epoch: int) -> Optimizer[Any]:
    """The optimizer :func:`train` uses when given none: ``adam`` with a cosine schedule
    peaking at :data:`DEFAULT_LR` after a linear warm-up over the first 5 % of the
    ``epochs * steps_per_epoch`` steps, decaying to 0 at the last step."""
    total = max(1, check_int(epochs, where="default_optimizer", name="epochs", low=0)
                * check_int(steps_per_epoch, where="default_optimizer", name="steps_per_epoch",
                            low=1))
    return adam(cosine(DEFAULT_LR, total, warmup_steps=int(WARMUP_FRACTION * total)))


BoolArray = NDArray[np.bool_]

EVAL_WORK = 262_144
"""Rows per chunk of the per-epoch evaluation are chosen so that ``rows * n_in * n_out`` of
the widest layer stays at or below this (64 to 1024 rows): OpenBLAS runs a product with
``m * n * k <= 65536 * 4`` on one thread, and its worker threads then do not linger, spinning,
to slow down the small steps that follow."""


def _chunk_rows(p: Params) -> int:
    widest = max(layer.n_in * layer.n_out for layer in p.layers)
    return min(1024, max(64, EVAL_WORK // widest))


def _evaluate(p: Params, X: FloatArray, Y: FloatArray, chunk: int
              ) -> tuple[float, list[BoolArray]]:
    """``(mse, alive)`` over all rows, in chunks of ``chunk`` rows: the data loss (the same
    number as :data:`nnfunc.mse` up to rounding) and, per hidden layer, a ``(n_units,)`` mask
    of the units that output non-zero for some row."""
    alive: list[BoolArray] = [np.zeros(layer.n_out, dtype=bool) for layer in p.layers[:-1]]
    sq = _kernels.evaluate(p.layers, X, Y, chunk, alive)
    if sq is None:  # an activation without a private kernel: the plain arithmetic
        sq = 0.0
        for lo in range(0, X.shape[0], chunk):
            _, As = _forward_trace(p.layers, X[lo:lo + chunk])
            d = As[-1] - Y[lo:lo + chunk]
            sq += float(np.vdot(d, d))
            for mask, A in zip(alive, As[1:-1], strict=True):
                mask |= A.any(axis=0)
    return sq / Y.size, alive


def _loss(p: Params, X: FloatArray, Y: FloatArray, chunk: int) -> float:
    sq = _kernels.evaluate(p.layers, X, Y, chunk, None)
    if sq is None:
        sq = 0.0
        for lo in range(0, X.shape[0], chunk):
            d = _forward(p.layers, X[lo:lo + chunk]) - Y[lo:lo + chunk]
            sq += float(np.vdot(d, d))
    return sq / Y.size


def _revive(p: Params, alive: list[BoolArray], rng: np.random.Generator) -> Params:
    """New He-normal incoming weights and bias :data:`REVIVE_BIAS` for every dead unit of a
    ReLU-family hidden layer; ``p`` itself is returned when nothing is dead."""
    arrays = _leaves(p)
    changed = False
    for i, layer in enumerate(p.layers[:-1]):
        if layer.activation.init != "he":
            continue
        dead = np.flatnonzero(~alive[i])
        if dead.size == 0:
            continue
        W, b = layer.W.copy(), layer.b.copy()
        W[:, dead] = rng.normal(0.0, math.sqrt(2.0 / layer.n_in), size=(layer.n_in, dead.size))
        b[dead] = REVIVE_BIAS
        arrays[2 * i], arrays[2 * i + 1] = W, b
        changed = True
    return _unflatten(p, arrays) if changed else p


def _diverged(p: Params, g: Params | None, what: str, epoch: int, batch: int, lr: float,
              snapshot: TrainResult) -> DivergenceError:
    worst = ""
    if g is not None:
        norms = []
        for layer in g.layers:
            with np.errstate(all="ignore"):
                sq = float(np.vdot(layer.W, layer.W) + np.vdot(layer.b, layer.b))
            norms.append(math.inf if not math.isfinite(sq) else math.sqrt(sq))
        li = int(np.argmax(norms))
        worst = f"; the largest gradient is in layer {li} (norm {norms[li]:.3g})"
    smaller = f"{lr / 10:.3g}" if lr > 0 else "a smaller one"
    message = (
        f"train: {what} became non-finite in epoch {epoch + 1}, batch {batch + 1} (counting "
        f"from 1), with learning rate "
        f"{lr:.3g}{worst}. Lower the learning rate (try {smaller}) or add a warm-up "
        "(nnfunc.cosine(..., warmup_steps=...)), standardize the data (nnfunc.fit_scaler, "
        "nnfunc.transform), or use l2 > 0. The error's last_finite holds the params from "
        f"before this step; its result holds the {snapshot.epochs} completed epoch(s), "
        "which train(result, ...) resumes.")
    return DivergenceError(message, last_finite=p, result=snapshot)


def _finite_sum(arrays: list[FloatArray]) -> bool:
    total = 0.0
    for a in arrays:
        total += float(np.add.reduce(a, axis=None))
    if math.isfinite(total):
        return True
    return all(bool(np.isfinite(a).all()) for a in arrays)


def train(
    params: Params | TrainResult,
    data: Dataset,
    rng: np.random.Generator,
    *,
    epochs: int = DEFAULT_EPOCHS,
    batch_size: int | None = None,
    optimizer: Optimizer[Any] | None = None,
    test: Dataset | None = None,
    val_fraction: float = 0.0,
    patience: int | None = None,
    min_delta: float = 0.0,
    l2: float | None = None,
    revive_epochs: int | None = None,
    on_epoch: Callable[[int, Params, History], None] | None = None,
    verbose: bool | int = False,
    progress: bool = False,
) -> TrainResult:
    """Train ``params`` on ``data`` (standardized) and return a :class:`TrainResult`.

    Parameters
    ----------
    params:
        The starting point (not changed), or a previous :class:`TrainResult` to resume: the
        run continues from its ``last_params``, optimizer, state, validation rows, batch size,
        ``l2`` and history (see the module docstring for the exact-resume contract).
    data:
        The training set, ``X: (n_samples, n_features)``, ``Y: (n_samples, n_outputs)``, in
        the params' dtype.  Warns :class:`ScaleWarning` when a column's root mean square is
        above :data:`SCALE_LIMIT` (unstandardized data).
    rng:
        Draws the validation rows, the shuffles and revived units; see the module docstring.
    epochs:
        Full passes over the training rows in this call (0 returns the params unchanged).
    batch_size:
        Rows per update, from 1 to the number of training rows (full batch); default 32, or
        the resumed run's.
    optimizer:
        Default :func:`default_optimizer` (Adam, cosine schedule with warm-up over this
        call's epochs), or the resumed run's.
    test:
        Evaluated after every epoch (``history.test_loss``), never trained on.
    val_fraction:
        Hold out this fraction of ``data``'s rows, chosen with ``rng``, as the validation set
        (``history.val_loss``); never the test set.  0 (default): no validation.
    patience, min_delta:
        Early stopping (needs validation): stop once ``patience`` epochs in a row have not
        lowered the best validation loss by more than ``min_delta``, and return the params of
        the best epoch (``result.best_epoch``, ``result.stopped_epoch``).
    l2:
        The weight penalty in the objective (see :mod:`nnfunc.net`); default 0, or the resumed
        run's.  Reported separately in ``history.penalty``.
    revive_epochs:
        At the start of each epoch ``1 <= e <= revive_epochs`` of the run, every hidden ReLU
        unit that output zero for every training row at the end of epoch ``e - 1`` gets fresh
        He-normal incoming weights and bias 0.1 (the optimizer state is left as is; the
        history and ``on_epoch`` always see the params as trained).  Default: half of
        ``epochs`` (a resumed run keeps its own); 0 turns revival off.
    on_epoch:
        Called as ``on_epoch(epoch, params, history)`` after every epoch (``epoch`` counts
        from 0 over the whole run; ``history`` is the run so far).
    verbose:
        ``True`` prints one line about every tenth of the epochs (and the last); an integer
        ``k`` prints every ``k`` epochs.  Nothing is printed by default.
    progress:
        Show a tqdm progress bar over the epochs with the current losses.  tqdm is the
        optional ``progress`` extra (``pip install 'nnfunc[progress]'``); without it
        ``progress=True`` raises ``ModuleNotFoundError`` before any training.

    Returns
    -------
    TrainResult

    Raises
    ------
    DivergenceError
        The moment a loss, a gradient or a parameter becomes NaN or infinite.  The message
        names the epoch, the batch, the layer with the largest gradient and the learning
        rate; ``err.last_finite`` holds the params from just before that step and
        ``err.result`` a resumable :class:`TrainResult` of the completed epochs.

    Warns
    -----
    DeadUnitsWarning
        When, for the returned params, more than half of a hidden layer's units output zero
        for every training row.
    NnfuncWarning
        On Ctrl-C (``KeyboardInterrupt``): ``train`` does not lose the work, it returns the
        result of the completed epochs with ``interrupted=True`` (and rewinds ``rng`` to the
        end of the last completed epoch, so resuming continues exactly).
    """
    where = "train"
    prev: TrainResult | None = params if isinstance(params, TrainResult) else None
    if prev is None and not isinstance(params, Params):
        raise DTypeError(expected(where, "params", "an nnfunc.Params, or a TrainResult to "
                                  "resume", _describe(params),
                                  "Make params with nnfunc.init(sizes, activations, rng)."))
    if prev is not None:
        _check_resumable(prev, where)
        p = prev.last_params
    else:
        p = check_params(params, where)
    resumed = prev is not None
    X_all, Y_all = _data_arrays(p, check_dataset(data, where, "data"), where, "data", resumed)
    test_xy = None
    if test is not None:
        test_xy = _data_arrays(p, check_dataset(test, where, "test"), where, "test", resumed)
    rng = check_rng(rng, where=where)
    n_epochs = check_int(epochs, where=where, name="epochs", low=0)
    n_all = X_all.shape[0]

    # --- the validation rows (drawn below, once every argument has been checked) ----------
    frac = check_float(val_fraction, where=where, name="val_fraction", low=0.0, high=1.0,
                       low_open=False)
    n_val = 0
    if prev is not None:
        if prev.n_rows != n_all:
            raise DataError(expected(where, "data", f"the {prev.n_rows} rows the resumed run was "
                                     "trained on", f"{n_all} rows"))
        n_val = 0 if prev.val_rows is None else len(prev.val_rows)
    elif frac > 0:
        n_val = round(n_all * frac)
        if n_val < 1 or n_val >= n_all:
            raise DataError(expected(where, "data", "enough rows to hold out at least one "
                                     f"validation row and keep one at val_fraction={frac}",
                                     f"{n_all} rows"))
    n = n_all - n_val

    # --- hyper-parameters ----------------------------------------------------------------
    what = "len(data)" if n_val == 0 else "the number of training rows (without validation)"
    if batch_size is None:
        size = check_batch_size(prev.batch_size, n, where=where, what=what
                                ) if prev is not None else min(DEFAULT_BATCH_SIZE, n)
    else:
        size = check_batch_size(batch_size, n, where=where, what=what)
    steps = -(-n // size)
    if l2 is None:
        lam = prev.l2 if prev is not None else 0.0
    else:
        lam = check_float(l2, where=where, name="l2", low=0.0, low_open=False)
    if optimizer is None:
        opt = prev.optimizer if prev is not None else default_optimizer(n_epochs, steps)
    else:
        opt = optimizer
    if not isinstance(opt, Optimizer):
        raise DTypeError(expected(where, "optimizer", "an nnfunc.Optimizer such as nnfunc.adam()",
                                  type(opt).__name__))
    if prev is not None and opt.name != prev.optimizer.name:
        raise HyperParameterError(expected(where, "optimizer", f"a {prev.optimizer.name} "
                                           "optimizer, like the resumed run's (its state is "
                                           f"carried)", repr(opt)))
    if patience is not None:
        wait_limit: int | None = check_int(patience, where=where, name="patience", low=1)
        if n_val == 0:
            raise HyperParameterError(expected(where, "val_fraction", "> 0 for early stopping "
                                               f"(patience={wait_limit})", repr(frac),
                                               "Try val_fraction=0.1."))
    else:
        wait_limit = None
    delta = check_float(min_delta, where=where, name="min_delta", low=0.0, low_open=False)
    if revive_epochs is None:
        revive_until = prev.revive_epochs if prev is not None else n_epochs // 2
    else:
        revive_until = check_int(revive_epochs, where=where, name="revive_epochs", low=0)
    if on_epoch is not None and not callable(on_epoch):
        raise DTypeError(expected(where, "on_epoch", "None or a function "
                                  "on_epoch(epoch, params, history)", _describe(on_epoch)))
    every = 0
    if isinstance(verbose, (bool, np.bool_)):
        every = max(1, n_epochs // 10) if verbose else 0
    else:
        every = check_int(verbose, where=where, name="verbose", low=0)
    if not isinstance(progress, (bool, np.bool_)):
        raise DTypeError(expected(where, "progress", "True or False", _describe(progress)))
    tqdm: Any = None
    if progress:
        try:
            tqdm = importlib.import_module("tqdm.auto").tqdm
        except ImportError as err:
            raise ModuleNotFoundError(
                "train: progress=True needs tqdm, which is not installed. Install it with "
                "pip install 'nnfunc[progress]' (or tqdm), or use verbose=True for plain "
                "lines.") from err
    if prev is not None:
        val_rows = prev.val_rows
    elif n_val:
        val_rows = np.sort(rng.permutation(n_all)[:n_val])
        val_rows.flags.writeable = False
    else:
        val_rows = None
    if val_rows is not None:
        keep = np.ones(n_all, dtype=bool)
        keep[val_rows] = False
        X, Y = X_all[keep], Y_all[keep]
        val_xy: tuple[FloatArray, FloatArray] | None = (X_all[~keep], Y_all[~keep])
    else:
        X, Y = X_all, Y_all
        val_xy = None
    warn_if_unscaled((("data.X", X), ("data.Y", Y)), where=where)

    # --- the run so far (a resumed one carries its history) --------------------------------
    start = prev.epochs if prev is not None else 0
    state = prev.state if prev is not None else opt.init(p)
    total = start + n_epochs
    n_hidden = len(p.layers) - 1
    h_train = np.empty(total)
    h_val = np.empty(total) if val_xy is not None else None
    h_test = np.empty(total) if test_xy is not None else None
    h_pen = np.empty(total)
    h_lr = np.empty(total)
    h_gn = np.empty(total)
    h_dead = np.empty((total, n_hidden))
    if prev is not None:
        hp = prev.history
        for arr, old in ((h_train, hp.train_loss), (h_val, hp.val_loss),
                         (h_test, hp.test_loss), (h_pen, hp.penalty), (h_lr, hp.lr),
                         (h_gn, hp.grad_norm), (h_dead, hp.dead)):
            if (arr is None) != (old is None):
                given = "not given" if arr is None else "given"
                raise DataError(expected(where, "test", "given (or not) as in the resumed run, "
                                         "so its history continues", given))
            if arr is not None and old is not None:
                arr[:start] = old
    best_epoch = prev.best_epoch if prev is not None else None
    best_params = prev.best_params if prev is not None else None
    best_val = math.inf
    if best_epoch is not None and h_val is not None:
        best_val = float(h_val[best_epoch])

    def history(upto: int) -> History:
        def cut(a: FloatArray | None) -> FloatArray | None:
            return None if a is None else freeze(a[:upto].copy())
        return History(freeze(h_train[:upto].copy()), cut(h_val), cut(h_test),
                       freeze(h_pen[:upto].copy()), freeze(h_lr[:upto].copy()),
                       freeze(h_gn[:upto].copy()), freeze(h_dead[:upto].copy()))

    def result(upto: int, last: Params, st: Any, best: tuple[int | None, Params | None],
               stopped: int | None = None, interrupted: bool = False) -> TrainResult:
        b_epoch, b_params = best
        use_best = wait_limit is not None and b_params is not None
        return TrainResult(
            params=b_params if use_best and b_params is not None else last,
            state=st, history=history(upto), optimizer=opt, last_params=last,
            best_epoch=b_epoch, stopped_epoch=stopped, interrupted=interrupted,
            best_params=b_params, val_rows=val_rows, n_rows=n_all, batch_size=size, l2=lam,
            revive_epochs=revive_until)

    # the last completed epoch's (upto, params, state, best): its TrainResult is built only
    # when someone needs it (on_epoch, an error, Ctrl-C), and at the end
    snap: tuple[int, Params, Any, tuple[int | None, Params | None]] = (
        start, p, state, (best_epoch, best_params))
    built: list[TrainResult] = []

    def snapshot() -> TrainResult:
        if not built or built[0].epochs != snap[0]:
            built[:] = [result(*snap)]
        return built[0]

    sched = opt.lr.fn if opt.lr is not None else None

    def fail(p: Params, g: Params | None, what: str, epoch: int, batch: int, count: int
             ) -> DivergenceError:
        return _diverged(p, g, what, epoch, batch, _rate(sched, count), snapshot())

    def run_epoch(p: Params, state: Any, Xp: FloatArray, Yp: FloatArray, epoch: int
                  ) -> tuple[Params, Any, float]:
        if opt.rule is not None:
            return _epoch_flat(opt.rule, p, state, Xp, Yp, size, steps, lam, epoch, fail)
        return _epoch_any(opt, p, state, Xp, Yp, size, steps, lam, epoch, fail)

    rng_at_boundary = rng.bit_generator.state
    stopped: int | None = None
    epoch = start
    chunk = _chunk_rows(p)
    alive: list[BoolArray] | None = None
    bar = None if tqdm is None else tqdm(total=n_epochs, desc="train", unit="epoch", leave=False)
    try:
        for epoch in range(start, total):
            with np.errstate(all="ignore"):  # the guard checks every number instead
                if 0 < epoch <= revive_until and h_dead[epoch - 1].any():
                    if alive is None:  # a resumed run: find the dead units again
                        alive = _evaluate(p, X, Y, chunk)[1]
                    p = _revive(p, alive, rng)
                if size < n:  # shuffled into private buffers, reused from epoch to epoch
                    Xp, Yp, give_back = _kernels.shuffled(X, Y, rng.permutation(n))
                    p, state, gsum = run_epoch(p, state, Xp, Yp, epoch)
                    give_back()
                else:
                    p, state, gsum = run_epoch(p, state, X, Y, epoch)

                # --- diagnostics: one full forward pass over the training rows ------------
                h_train[epoch], alive = _evaluate(p, X, Y, chunk)
                h_pen[epoch] = _penalty(p.layers, lam)
                h_lr[epoch] = _rate(sched, _count(state) - 1)
                h_gn[epoch] = gsum / steps
                dead = [(mask.size - int(np.count_nonzero(mask))) / mask.size for mask in alive]
                h_dead[epoch] = dead
                if not math.isfinite(h_train[epoch] + h_pen[epoch]):
                    raise fail(p, None, "the training loss", epoch, steps - 1,
                               _count(state) - 1)
                if h_test is not None and test_xy is not None:
                    h_test[epoch] = _loss(p, test_xy[0], test_xy[1], chunk)
                if h_val is not None and val_xy is not None:
                    h_val[epoch] = _loss(p, val_xy[0], val_xy[1], chunk)
                    if h_val[epoch] < best_val - delta or best_epoch is None:
                        best_val, best_epoch, best_params = float(h_val[epoch]), epoch, p
            snap = (epoch + 1, p, state, (best_epoch, best_params))
            rng_at_boundary = rng.bit_generator.state
            if every and ((epoch + 1 - start) % every == 0 or epoch + 1 == total):
                print(_line(epoch, total, h_train, h_val, h_test, h_lr, h_gn, dead),
                      flush=True)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(_postfix(epoch, h_train, h_val, h_test), refresh=False)
            if on_epoch is not None:
                on_epoch(epoch, p, snapshot().history)
            if (wait_limit is not None and best_epoch is not None
                    and epoch - best_epoch >= wait_limit):
                stopped = epoch
                break
    except KeyboardInterrupt:
        rng.bit_generator.state = rng_at_boundary
        done = snap[0]
        moment = "after" if done == epoch + 1 else "during"
        warnings.warn(
            f"train: interrupted (KeyboardInterrupt) {moment} epoch {epoch + 1}; returning the "
            f"{done} completed epoch(s) with interrupted=True. Resume with "
            "train(result, data, rng, epochs=...).", NnfuncWarning, stacklevel=2)
        out = attrs.evolve(snapshot(), interrupted=True)
        _warn_dead(out)
        return out
    except DivergenceError:
        rng.bit_generator.state = rng_at_boundary
        raise
    finally:
        if bar is not None:
            bar.close()
    out = result(*snap, stopped=stopped)
    if every and stopped is not None:
        print(f"early stopping after epoch {stopped + 1}: no improvement of the validation loss "
              f"for {wait_limit} epochs; returning the params of epoch "
              f"{'?' if best_epoch is None else best_epoch + 1}")
    _warn_dead(out)
    return out


def _count(state: Any) -> int:
    count = getattr(state, "count", None)
    return count if isinstance(count, int) else -1


def _rate(sched: Callable[[int], float] | None, count: int) -> float:
    """The learning rate of update number ``count`` (NaN when unknown)."""
    if sched is None or count < 0:
        return math.nan
    return float(sched(count))


Fail = Callable[[Params, "Params | None", str, int, int, int], DivergenceError]


def _epoch_flat(rule: FlatRule[Any], p: Params, state: Any, Xp: FloatArray, Yp: FloatArray,
                size: int, steps: int, lam: float, epoch: int, fail: Fail
                ) -> tuple[Params, Any, float]:
    """One epoch on one flat parameter vector.

    With the built-in activations (and the MSE, the only loss ``train`` uses) the step is
    fused: :class:`nnfunc._kernels.FlatNet` writes each gradient straight into one private
    flat vector and reads ``W``/``b`` as views of the private flat params, the optimizer's
    rule updates that vector, and ``Params`` records are built only at the end of the epoch
    (or for an error), from fresh copies.  Otherwise the gradient comes from
    :func:`_value_and_grads` and is flattened once per step.  Both do the same arithmetic in
    the same order, so they agree bit for bit.
    """
    layout = _Layout.of(p)
    count, slot_params = rule.unpack(state)
    slots = tuple(_flatten(sp) for sp in slot_params)
    net = _kernels.flat_net(p.layers, _flatten(p), layout.spans, lam)
    if net is None:
        return _epoch_flat_general(rule, layout, p, count, slots, Xp, Yp, size, steps, lam,
                                   epoch, fail)
    layers, gf, theta, grad, rule_step = p.layers, net.g, net.theta, net.grad, rule.step
    n = Xp.shape[0]
    w_full = _kernels.plan(layers, size)
    w_last = _kernels.plan(layers, n - (steps - 1) * size)
    assert w_full is not None and w_last is not None  # the activations have kernels
    isfinite, add, dot, add_reduce = math.isfinite, np.add, np.dot, np.add.reduce
    gsum, cur = 0.0, 0
    for batch in range(steps):
        lo = batch * size
        hi = lo + size
        value = grad(cur, w_full if hi <= n else w_last, Xp[lo:hi], Yp[lo:hi])
        gn2 = float(dot(gf, gf))
        if not isfinite(value + gn2) and not (isfinite(value) and isfinite(gn2)):
            raise fail(layout.unflatten(theta[cur].copy()), layout.unflatten(gf.copy()),
                       "the loss" if not isfinite(value) else "the gradient",
                       epoch, batch, count)
        u, new_slots = rule_step(gf, slots, count)
        new = add(theta[cur], u, out=theta[1 - cur])
        if not isfinite(float(add_reduce(new))) and not np.isfinite(new).all():
            raise fail(layout.unflatten(theta[cur].copy()), layout.unflatten(gf.copy()),
                       "a parameter", epoch, batch, count)
        # a rule returns new arrays; should one hand back the gradient itself, keep a copy
        slots = (tuple(a.copy() if a is gf or a.base is gf else a for a in new_slots)
                 if new_slots else new_slots)
        cur, count = 1 - cur, count + 1
        gsum += math.sqrt(gn2)
    return (layout.unflatten(theta[cur].copy()),
            rule.pack(count, tuple(layout.unflatten(a) for a in slots)), gsum)


def _epoch_flat_general(rule: FlatRule[Any], layout: _Layout, p: Params, count: int,
                        slots: tuple[FloatArray, ...], Xp: FloatArray, Yp: FloatArray,
                        size: int, steps: int, lam: float, epoch: int, fail: Fail
                        ) -> tuple[Params, Any, float]:
    """:func:`_epoch_flat` for custom activations: per step, the gradient is flattened once,
    the rule updates the flat vector, and the new ``Params`` are views of it."""
    theta = _flatten(p)
    gsum = 0.0
    for batch in range(steps):
        lo = batch * size
        value, g = _value_and_grads(p, Xp[lo:lo + size], Yp[lo:lo + size], lam, mse)
        gf = _flatten(g)
        gn2 = float(np.dot(gf, gf))
        if not (math.isfinite(value) and math.isfinite(gn2)):
            raise fail(p, g, "the loss" if not math.isfinite(value) else "the gradient",
                       epoch, batch, count)
        u, slots = rule.step(gf, slots, count)
        new = np.add(theta, u)
        if not math.isfinite(float(np.add.reduce(new))) and not np.isfinite(new).all():
            raise fail(p, g, "a parameter", epoch, batch, count)
        theta, count = new, count + 1
        p = layout.unflatten(theta)
        gsum += math.sqrt(gn2)
    return p, rule.pack(count, tuple(layout.unflatten(a) for a in slots)), gsum


def _epoch_any(opt: Optimizer[Any], p: Params, state: Any, Xp: FloatArray, Yp: FloatArray,
               size: int, steps: int, lam: float, epoch: int, fail: Fail
               ) -> tuple[Params, Any, float]:
    """One epoch with an optimizer known only by its ``init``/``update``."""
    gsum = 0.0
    for batch in range(steps):
        lo = batch * size
        value, g = _value_and_grads(p, Xp[lo:lo + size], Yp[lo:lo + size], lam, mse)
        gn2 = 0.0
        for a in _leaves(g):
            gn2 += float(np.vdot(a, a))
        if not (math.isfinite(value) and math.isfinite(gn2)):
            raise fail(p, g, "the loss" if not math.isfinite(value) else "the gradient",
                       epoch, batch, _count(state))
        updates, new_state = opt.update(g, state, p)
        new = _add(p, updates)
        if not _finite_sum(_leaves(new)):
            raise fail(p, g, "a parameter", epoch, batch, _count(state))
        p, state = new, new_state
        gsum += math.sqrt(gn2)
    return p, state, gsum


def _warn_dead(res: TrainResult) -> None:
    if not len(res.history):
        return
    row = res.history.dead[res.best_epoch if res.params is res.best_params
                           and res.best_epoch is not None else -1]
    found = [f"hidden layer {i} has {round(frac * res.params.layers[i].n_out)} of "
             f"{res.params.layers[i].n_out} units ({frac:.0%})"
             for i, frac in enumerate(row) if frac > 0.5]
    if found:
        warnings.warn(
            f"train: {' and '.join(found)} that output zero for every training row; they no "
            "longer learn. Try a smaller learning rate or a longer warm-up, init(..., bias=0.1), "
            "revive_epochs=..., a wider layer, or leaky_relu.", DeadUnitsWarning, stacklevel=3)


def _fmt(a: FloatArray | None, epoch: int, label: str) -> str:
    return "" if a is None else f"  {label} {a[epoch]:.2e}"


def _line(epoch: int, total: int, h_train: FloatArray, h_val: FloatArray | None,
          h_test: FloatArray | None, h_lr: FloatArray, h_gn: FloatArray, dead: list[float]
          ) -> str:
    width = len(str(total))
    dead_s = "/".join(f"{d:.0%}" for d in dead) or "-"
    return (f"epoch {epoch + 1:{width}d}/{total}  train {h_train[epoch]:.2e}"
            f"{_fmt(h_val, epoch, 'val')}{_fmt(h_test, epoch, 'test')}"
            f"  lr {h_lr[epoch]:.2e}  |g| {h_gn[epoch]:.2e}  dead {dead_s}")


def _postfix(epoch: int, h_train: FloatArray, h_val: FloatArray | None,
             h_test: FloatArray | None) -> str:
    parts = [f"train={h_train[epoch]:.2e}"]
    parts += [f"{label}={a[epoch]:.2e}" for label, a in (("val", h_val), ("test", h_test))
              if a is not None]
    return " ".join(parts)
