r"""Step 8: learning-rate schedules, pure functions of the optimizer's step count.

A :class:`Schedule` maps the step ``t = 0, 1, 2, ...`` (the optimizer state's ``count``
*before* the update, so the first update uses ``schedule(0)``) to a learning rate.  It holds
no state: the same ``t`` always gives the same rate, which is what makes a resumed run
continue exactly.  Every optimizer in :mod:`nnfunc.optim` takes a float (a constant rate) or
a ``Schedule`` as ``lr``.

=================  ==============================================================
``constant(v)``    ``v``
``step_decay``     ``v * factor ** (t // every)``
``cosine``         linear warm-up ``peak * (t + 1) / warmup_steps`` for
                   ``t < warmup_steps``, then
                   ``final + (peak - final) * (1 + cos(pi * p)) / 2`` with
                   ``p = (t - warmup_steps) / (total_steps - warmup_steps)``, and
                   ``final`` from ``t >= total_steps`` on
=================  ==============================================================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import attrs

from ._checks import check_float, check_int
from .errors import DTypeError, HyperParameterError, expected

__all__ = ["Schedule", "as_schedule", "constant", "cosine", "step_decay"]


@attrs.frozen(slots=True)
class Schedule:
    """A learning rate as a pure function of the step: ``schedule(t) -> float``.

    Attributes
    ----------
    name:
        ``"constant"``, ``"step_decay"``, ``"cosine"`` or your own.
    fn:
        ``fn(t) -> float`` for an integer step ``t >= 0`` (no checks: ``__call__`` checks).
    hyper:
        The hyper-parameters, for display.
    """

    name: str
    fn: Callable[[int], float] = attrs.field(eq=False, repr=False)
    hyper: tuple[tuple[str, Any], ...] = ()

    def __call__(self, step: int) -> float:
        return self.fn(check_int(step, where=f"{self.name} schedule", name="step", low=0))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper)
        return f"{self.name}({args})"


def _rate(value: object, where: str, name: str) -> float:
    return check_float(value, where=where, name=name, low=0.0, low_open=False)


def constant(value: float) -> Schedule:
    """The same rate at every step."""
    v = _rate(value, "constant", "value")
    return Schedule("constant", lambda t: v, (("value", v),))


def step_decay(value: float, *, factor: float = 0.5, every: int = 1000) -> Schedule:
    """``value * factor ** (t // every)``: multiply the rate by ``factor`` every ``every`` steps."""
    v = _rate(value, "step_decay", "value")
    f = check_float(factor, where="step_decay", name="factor", low=0.0, high=1.0,
                    low_open=True, high_open=False)
    k = check_int(every, where="step_decay", name="every", low=1)
    return Schedule("step_decay", lambda t: v * f ** (t // k),
                    (("value", v), ("factor", f), ("every", k)))


def cosine(peak: float, total_steps: int, *, warmup_steps: int = 0, final: float = 0.0
           ) -> Schedule:
    """Linear warm-up to ``peak`` over ``warmup_steps``, then half a cosine down to ``final``
    at ``total_steps`` (and ``final`` after it); the formula is in the module docstring."""
    where = "cosine"
    hi = _rate(peak, where, "peak")
    total = check_int(total_steps, where=where, name="total_steps", low=1)
    warm = check_int(warmup_steps, where=where, name="warmup_steps", low=0)
    if warm >= total:
        raise HyperParameterError(expected(where, "warmup_steps",
                                           f"less than total_steps = {total}", str(warm)))
    lo = _rate(final, where, "final")
    if lo > hi:
        raise HyperParameterError(expected(where, "final", f"at most peak = {hi}", repr(lo)))
    span = total - warm

    def fn(t: int) -> float:
        if t < warm:
            return hi * ((t + 1) / warm)
        if t >= total:
            return lo
        # written from the top, so that the first step after warm-up is exactly ``peak``
        return hi - (hi - lo) * 0.5 * (1.0 - math.cos(math.pi * (t - warm) / span))

    return Schedule("cosine", fn, (("peak", hi), ("total_steps", total),
                                   ("warmup_steps", warm), ("final", lo)))


def as_schedule(lr: object, where: str, name: str = "lr") -> Schedule:
    """A ``Schedule`` as is, or a number as :func:`constant` (checked: finite, >= 0)."""
    if isinstance(lr, Schedule):
        return lr
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise DTypeError(expected(where, name, "a number or an nnfunc.Schedule such as "
                                  "nnfunc.cosine(...)", type(lr).__name__))
    return constant(_rate(lr, where, name))
