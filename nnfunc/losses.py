"""The data loss, as a small record holding its value and its gradient together.

Regression uses :data:`mse`.  (Classification's softmax cross-entropy slots in as another
``Loss``.)
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import numpy as np

from ._checks import FloatArray

__all__ = ["Loss", "mse"]


@attrs.frozen(slots=True)
class Loss:
    """A loss ``L(Y_hat, Y)`` and its gradient with respect to ``Y_hat``.

    Attributes
    ----------
    name:
        Its name.
    value:
        ``value(Y_hat, Y) -> float``; ``Y_hat, Y: (n_samples, n_outputs)``.
    grad:
        ``grad(Y_hat, Y) -> dL/dY_hat``, ``(n_samples, n_outputs)``, same dtype as ``Y_hat``.
    """

    name: str
    value: Callable[[FloatArray, FloatArray], float] = attrs.field(eq=False)
    grad: Callable[[FloatArray, FloatArray], FloatArray] = attrs.field(eq=False)

    def __repr__(self) -> str:
        return f"Loss({self.name!r})"


def _mse_value(Y_hat: FloatArray, Y: FloatArray) -> float:
    d = Y_hat - Y
    return float(np.vdot(d, d)) / d.size


def _mse_grad(Y_hat: FloatArray, Y: FloatArray) -> FloatArray:
    d = Y_hat - Y
    d *= d.dtype.type(2.0 / d.size)
    return d


mse = Loss("mse", _mse_value, _mse_grad)
"""Mean squared error over samples *and* outputs, no ½:
``L = (1 / (n m)) sum_i sum_k (Y_hat[i, k] - Y[i, k])**2`` with ``n`` samples and ``m``
outputs; ``dL/dY_hat = 2 (Y_hat - Y) / (n m)``."""
