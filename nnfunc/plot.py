"""Pictures: the loss history and predicted-vs-true, with matplotlib (the ``plot`` extra).

matplotlib is optional: it is imported inside each function, never by ``import nnfunc``,
and a missing one raises ``ModuleNotFoundError`` saying ``pip install 'nnfunc[plot]'``.

Both functions build a :class:`matplotlib.figure.Figure` on the non-interactive Agg
canvas without touching ``pyplot``'s global state (no window opens, no backend is
switched under a notebook's feet), save it to ``path`` when one is given (the format
follows the extension; PNG without one), and return it.  In a notebook the returned
figure displays itself; elsewhere, ``fig.savefig(...)``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._checks import FloatArray, MatrixLike, _describe, as_float_array, check_path
from .errors import DataError, DTypeError, NonFiniteError, ShapeError, expected
from .model import Model, predict
from .train import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["INSTALL_HINT", "plot_history", "plot_predictions"]

INSTALL_HINT = "pip install 'nnfunc[plot]'"
"""How to get the plotting extra."""

_MAX_POINTS = 4000  # points per scatter panel; more only blot the picture
_MAX_SHOWN = 1e300  # loss values beyond this are not drawn (matplotlib's limits overflow)
_MIN_LOG = 1e-300


def _figure(where: str, width: float, height: float) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"{where} needs matplotlib, which is not installed ({err}). "
            f"Install the plot extra: {INSTALL_HINT}", name="matplotlib") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | None) -> None:
    if path is not None:
        with np.errstate(all="ignore"):  # Agg's own arithmetic on extreme (finite) data
            fig.savefig(path, dpi=110)


def _check_common(path: object, title: object, where: str) -> str | None:
    """``path`` (None or a path) and ``title`` (None or a str), checked before any drawing."""
    if title is not None and not isinstance(title, str):
        raise DTypeError(expected(where, "title", "None or a str", _describe(title)))
    return None if path is None else check_path(path, where=where)


def _curve(history: History, attr: str, where: str, n: int | None) -> FloatArray | None:
    """``history.<attr>`` as a 1-D float array (NaN and inf allowed: they are not drawn)."""
    values = getattr(history, attr)
    if values is None and attr != "train_loss":
        return None
    name = f"history.{attr}"
    if not isinstance(values, np.ndarray) or values.dtype.kind != "f":
        raise DTypeError(expected(where, name, "a float array (n_epochs,)", _describe(values)))
    if values.ndim != 1 or (n is not None and values.shape[0] != n):
        should = "1-D (n_epochs,)" if n is None else f"shape ({n},), like history.train_loss"
        raise ShapeError(expected(where, name, should, f"shape {values.shape}"))
    return values.astype(np.float64)


def plot_history(history: History, path: str | os.PathLike[str] | None = None, *,
                 title: str | None = None) -> Figure:
    """Draw the loss per epoch, on a log scale: train, and validation and test when present.

    ``history`` is the :class:`~nnfunc.History` of a :func:`~nnfunc.train` run (its
    ``train_loss``, and ``val_loss`` / ``test_loss`` when they are not ``None``, each
    ``(n_epochs,)``).  Returns the figure; writes it to ``path`` when given.
    """
    where = "plot_history"
    if not isinstance(history, History):
        raise DTypeError(expected(where, "history", "an nnfunc.History (TrainResult.history)",
                                  _describe(history),
                                  "Pass result.history." if hasattr(history, "history") else ""))
    target = _check_common(path, title, where)
    curves: list[tuple[str, FloatArray]] = []
    n: int | None = None
    for label, attr in (("train", "train_loss"), ("validation", "val_loss"),
                        ("test", "test_loss")):
        values = _curve(history, attr, where, n)
        if values is not None:
            curves.append((label, values))
            n = values.shape[0]
    n_epochs = len(curves[0][1])
    if n_epochs == 0:
        raise DataError(expected(where, "history", "at least one epoch", "0 epochs"))
    fig = _figure(where, 6.4, 4.0)
    from matplotlib.ticker import MaxNLocator  # present: _figure imported matplotlib

    with np.errstate(all="ignore"):  # matplotlib's own arithmetic on extreme values
        ax = fig.add_subplot()
        epochs = np.arange(1, n_epochs + 1)
        # train wide and pale underneath, so the others stay visible when they coincide
        styles = {"train": ("-", 3.0, 0.55), "validation": ("--", 1.5, 1.0),
                  "test": (":", 1.8, 1.0)}
        positive = False
        for label, values in curves:
            finite = values[np.isfinite(values)]
            final = f" (last {finite[-1]:.2e})" if finite.size else ""
            style, width, alpha = styles[label]
            # NaN, inf and values beyond +-1e300 (a diverged run) are not drawn
            big = np.abs(np.nan_to_num(values, nan=np.inf)) > _MAX_SHOWN
            shown = np.where(big, np.nan, values)
            positive = positive or bool((shown > _MIN_LOG).any())
            ax.plot(epochs[:len(values)], shown, style, marker="." if n_epochs < 30 else None,
                    label=f"{label}{final}", linewidth=width, alpha=alpha)
        if positive:  # a log scale needs something positive to show
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean squared error (standardized)")
        ax.set_title(title if title is not None else f"loss per epoch ({n_epochs} epochs)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    _save(fig, target)
    return fig


def plot_predictions(
    model: Model | MatrixLike,
    X_raw: MatrixLike | None,
    Y_raw: MatrixLike,
    path: str | os.PathLike[str] | None = None,
    *,
    names: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw predicted against true values, one panel per output, in raw units.

    Parameters
    ----------
    model:
        A :class:`~nnfunc.Model` (then ``predict(model, X_raw)`` gives the predictions),
        or the predictions themselves, ``(n_samples, n_outputs)`` (then ``X_raw`` must
        be ``None``).
    X_raw: (n_samples, n_features)
        The inputs, raw units.
    Y_raw: (n_samples, n_outputs)
        The true targets, raw units.
    path:
        Where to write the picture, if anywhere.
    names:
        One label per output (default ``output 0``, ``output 1``, ...).

    A perfect model puts every point on the diagonal; each panel gives its RMSE.  At most
    4,000 evenly spaced rows are drawn (the RMSE uses all of them).
    """
    where = "plot_predictions"
    target = _check_common(path, title, where)
    if isinstance(model, Model):
        if X_raw is None:
            raise DTypeError(expected(where, "X_raw", "the inputs to predict from, with a Model",
                                      "None"))
        Xa = as_float_array(X_raw, where=where, name="X_raw", ndim=2,
                            shape_doc="(n_samples, n_features)")
        n_in = model.params.layers[0].n_in
        if Xa.shape[1] != n_in:
            raise ShapeError(expected(where, "X_raw", f"{n_in} columns, like the model's "
                                      "inputs", f"{Xa.shape[1]} columns"))
        pred = predict(model, Xa)
    else:
        if X_raw is not None:
            raise DTypeError(expected(where, "X_raw", "None when predictions are passed",
                                      "an array", "Pass the Model to predict from X_raw."))
        pred = as_float_array(model, where=where, name="predictions", ndim=2,
                              shape_doc="(n_samples, n_outputs)")
    Y = as_float_array(Y_raw, where=where, name="Y_raw", ndim=2,
                       shape_doc="(n_samples, n_outputs)")
    if Y.shape != pred.shape:
        raise ShapeError(expected(where, "Y_raw", f"shape {pred.shape}, like the predictions",
                                  f"shape {Y.shape}"))
    n, m = pred.shape
    if names is not None and (isinstance(names, (str, bytes))
                              or not isinstance(names, Sequence)):
        raise DTypeError(expected(where, "names", f"None or a list of {m} strings",
                                  _describe(names)))
    labels = [f"output {k}" for k in range(m)] if names is None else list(names)
    if not all(isinstance(s, str) for s in labels):
        raise DTypeError(expected(where, "names", f"{m} strings, one per output",
                                  repr(names)[:80]))
    if len(labels) != m:
        raise ShapeError(expected(where, "names", f"{m} strings, one per output", repr(names)))
    with np.errstate(all="ignore"):
        lo_all = float(min(np.min(pred), np.min(Y)))
        hi_all = float(max(np.max(pred), np.max(Y)))
        span_ok = math.isfinite((hi_all - lo_all) * 16.0)
    if not span_ok:  # matplotlib cannot draw axes wider than the float range
        raise NonFiniteError(expected(
            where, "Y_raw and the predictions", "within a range a plot can show "
            "(max - min below about 1e307)", f"values from {lo_all:.3g} to {hi_all:.3g}",
            "Plot standardized values (nnfunc.transform) instead."))
    rows = np.linspace(0, n - 1, min(n, _MAX_POINTS)).round().astype(np.intp)
    fig = _figure(where, 3.6 * m + 0.4, 3.8)
    axes: Any = fig.subplots(1, m, squeeze=False)[0]
    for k in range(m):
        ax = axes[k]
        t, p = Y[:, k].astype(np.float64), pred[:, k].astype(np.float64)
        with np.errstate(over="ignore", under="ignore"):  # finite data near 1e308: RMSE inf
            rmse = float(np.sqrt(np.mean(np.square(p - t))))
        lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
        with np.errstate(all="ignore"):  # matplotlib's own arithmetic on extreme data
            ax.plot([lo, hi], [lo, hi], color="0.5", linewidth=1, label="perfect")
            ax.scatter(t[rows], p[rows], s=5, alpha=0.5, color="C0", label="samples")
            ax.set_title(f"{labels[k]}   RMSE {rmse:.3g}")
            ax.set_xlabel("true")
            ax.set_ylabel("predicted")
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(True, alpha=0.3)
    axes[0].legend(loc="upper left")
    if title is not None:
        fig.suptitle(title)
    _save(fig, target)
    return fig
