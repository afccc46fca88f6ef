"""Step 6 (and 7): activations, each defined together with its derivative.

An :class:`Activation` is one small frozen record: the function ``fn(z) -> a`` and its
vector-Jacobian product ``backward(g, z, a) -> g * f'(z)``, side by side, so the two can
never drift apart.  ``backward`` receives both the pre-activation ``z`` and the output
``a = fn(z)`` so each derivative can use whichever is cheaper.  Both are elementwise and
keep the dtype of ``z``.

To add your own, build an ``Activation`` and pass it to :func:`nnfunc.init` in place of
a name; :func:`nnfunc.grad_check` then tells you whether ``backward`` is right.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Literal

import attrs
import numpy as np

from ._checks import FloatArray
from .errors import DTypeError, UnknownActivationError, expected

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "get_activation",
    "leaky_relu",
    "linear",
    "relu",
    "sigmoid",
    "tanh",
]

LEAKY_SLOPE = 0.01


@attrs.frozen(slots=True)
class Activation:
    """An elementwise activation and its derivative.

    Attributes
    ----------
    name:
        The registry key, also written into saved models.
    fn:
        ``a = fn(z)``; ``z: (n_samples, n_units)``.
    backward:
        ``backward(g, z, a) = g * fn'(z)``: the gradient with respect to ``z`` given the
        gradient ``g`` with respect to ``a``; all three ``(n_samples, n_units)``.
    init:
        The initialisation that keeps this activation's signal variance: ``"he"`` for the
        ReLU family, ``"glorot"`` for the others.
    kinks:
        Points where ``fn`` is not differentiable (gradient checks keep away from them).
    """

    name: str
    fn: Callable[[FloatArray], FloatArray] = attrs.field(eq=False)
    backward: Callable[[FloatArray, FloatArray, FloatArray], FloatArray] = attrs.field(eq=False)
    init: Literal["he", "glorot"] = "glorot"
    kinks: tuple[float, ...] = ()

    def __attrs_post_init__(self) -> None:
        where = "Activation"
        if not isinstance(self.name, str) or not self.name:
            raise DTypeError(expected(where, "name", "a non-empty string", repr(self.name)))
        for field in ("fn", "backward"):
            if not callable(getattr(self, field)):
                raise DTypeError(expected(f"{where} {self.name!r}", field, "a function",
                                          type(getattr(self, field)).__name__))
        if self.init not in ("he", "glorot"):
            raise DTypeError(expected(f"{where} {self.name!r}", "init", "'he' or 'glorot'",
                                      repr(self.init)))
        if not isinstance(self.kinks, tuple) or not all(
                isinstance(k, (int, float)) and not isinstance(k, bool) for k in self.kinks):
            raise DTypeError(expected(f"{where} {self.name!r}", "kinks", "a tuple of numbers",
                                      repr(self.kinks)))

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"


def _relu(z: FloatArray) -> FloatArray:
    return np.maximum(z, 0)


def _relu_backward(g: FloatArray, z: FloatArray, a: FloatArray) -> FloatArray:
    return g * (z > 0)


# Numerical faults: for every finite input no built-in activation overflows (every output
# and derivative is bounded by |z| or |g|), and underflow -- a product too small for the
# dtype rounding to a subnormal or 0, e.g. 0.01 * -1e-310 or exp(-800) -- is the right
# answer, so it is silenced here whatever np.errstate the caller set.


def _leaky(z: FloatArray) -> FloatArray:
    with np.errstate(under="ignore"):
        return np.where(z > 0, z, z * z.dtype.type(LEAKY_SLOPE))


def _leaky_backward(g: FloatArray, z: FloatArray, a: FloatArray) -> FloatArray:
    with np.errstate(under="ignore"):
        return np.where(z > 0, g, g * g.dtype.type(LEAKY_SLOPE))


def _sigmoid(z: FloatArray) -> FloatArray:
    # Stable for any |z|: exp is only ever taken of a non-positive number.
    with np.errstate(under="ignore"):  # exp(-800) is 0 and that is the right answer
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype, copy=False)


def _sigmoid_backward(g: FloatArray, z: FloatArray, a: FloatArray) -> FloatArray:
    with np.errstate(under="ignore"):
        return g * a * (1 - a)


def _tanh(z: FloatArray) -> FloatArray:
    with np.errstate(under="ignore"):  # tanh of a subnormal
        return np.tanh(z)


def _tanh_backward(g: FloatArray, z: FloatArray, a: FloatArray) -> FloatArray:
    with np.errstate(under="ignore"):
        return g * (1 - a * a)


def _identity(z: FloatArray) -> FloatArray:
    return z


def _identity_backward(g: FloatArray, z: FloatArray, a: FloatArray) -> FloatArray:
    return g


# --- private in-place kernels for nnfunc's own work buffers (see nnfunc._kernels) -----------
# ``fwd(z, out) -> a`` writes f(z) into ``out`` (or returns ``z`` itself for the identity);
# ``bwd(g, z, a)`` turns ``g`` into ``g * f'(z)`` in place.  They only ever see private
# buffers, never a caller's array, and give the same numbers as the public pair above.


def _relu_fwd(z: FloatArray, out: FloatArray) -> FloatArray:
    return np.maximum(z, 0, out=out)


def _relu_bwd(g: FloatArray, z: FloatArray, a: FloatArray) -> None:
    np.multiply(g, np.greater(z, 0), out=g)


def _leaky_fwd(z: FloatArray, out: FloatArray) -> FloatArray:
    np.multiply(z, z.dtype.type(LEAKY_SLOPE), out=out)
    return np.maximum(z, out, out=out)  # max(z, 0.01 z) is z for z > 0, 0.01 z otherwise


def _leaky_bwd(g: FloatArray, z: FloatArray, a: FloatArray) -> None:
    slope = np.where(np.greater(z, 0), g.dtype.type(1), g.dtype.type(LEAKY_SLOPE))
    np.multiply(g, slope, out=g)


def _sigmoid_fwd(z: FloatArray, out: FloatArray) -> FloatArray:
    np.abs(z, out=out)
    np.negative(out, out=out)
    with np.errstate(under="ignore"):
        np.exp(out, out=out)  # e = exp(-|z|)
    den = np.add(out, out.dtype.type(1))
    np.copyto(out, out.dtype.type(1), where=np.greater_equal(z, 0))  # 1 or e
    return np.divide(out, den, out=out)


def _sigmoid_bwd(g: FloatArray, z: FloatArray, a: FloatArray) -> None:
    np.multiply(g, a, out=g)
    np.multiply(g, np.subtract(a.dtype.type(1), a), out=g)


def _tanh_fwd(z: FloatArray, out: FloatArray) -> FloatArray:
    return np.tanh(z, out=out)


def _tanh_bwd(g: FloatArray, z: FloatArray, a: FloatArray) -> None:
    t = np.multiply(a, a)
    np.subtract(a.dtype.type(1), t, out=t)
    np.multiply(g, t, out=g)


def _identity_fwd(z: FloatArray, out: FloatArray) -> FloatArray:
    return z


def _identity_bwd(g: FloatArray, z: FloatArray, a: FloatArray) -> None:
    return None


Kernel = tuple[Callable[[FloatArray, FloatArray], FloatArray],
               Callable[[FloatArray, FloatArray, FloatArray], None]]

_KERNELS: Mapping[tuple[object, object], Kernel] = MappingProxyType({
    (_relu, _relu_backward): (_relu_fwd, _relu_bwd),
    (_leaky, _leaky_backward): (_leaky_fwd, _leaky_bwd),
    (_sigmoid, _sigmoid_backward): (_sigmoid_fwd, _sigmoid_bwd),
    (_tanh, _tanh_backward): (_tanh_fwd, _tanh_bwd),
    (_identity, _identity_backward): (_identity_fwd, _identity_bwd),
})
"""In-place kernels of the built-in activations, keyed by their public ``(fn, backward)``
pair, so a record whose functions were replaced (``attrs.evolve``) never takes them."""


def _kernel(act: Activation) -> Kernel | None:
    return _KERNELS.get((act.fn, act.backward))


relu = Activation("relu", _relu, _relu_backward, init="he", kinks=(0.0,))
"""``max(z, 0)``; derivative 1 for ``z > 0`` and 0 otherwise (0 at the kink)."""
leaky_relu = Activation("leaky_relu", _leaky, _leaky_backward, init="he", kinks=(0.0,))
"""``z`` for ``z > 0``, ``0.01 z`` otherwise."""
sigmoid = Activation("sigmoid", _sigmoid, _sigmoid_backward)
"""``1 / (1 + exp(-z))``, computed without overflow for any ``z``; derivative ``a (1 - a)``."""
tanh = Activation("tanh", _tanh, _tanh_backward)
"""``tanh(z)``; derivative ``1 - a**2``."""
linear = Activation("linear", _identity, _identity_backward)
"""The identity, for regression outputs; derivative 1."""

ACTIVATIONS: Mapping[str, Activation] = MappingProxyType(
    {a.name: a for a in (relu, leaky_relu, sigmoid, tanh, linear)}
)
"""The built-in activations by name (read-only)."""


def get_activation(spec: str | Activation, *, where: str = "get_activation",
                   name: str = "activation") -> Activation:
    """Look up an activation by name, or pass an :class:`Activation` through unchanged.

    An unknown name raises :class:`UnknownActivationError` listing the known names (with a
    hint when only the case or surrounding spaces differ); anything that is neither a
    string nor an ``Activation`` (``None``, a function, a number) raises
    :class:`DTypeError`.
    """
    if isinstance(spec, Activation):
        return spec
    known = ", ".join(sorted(ACTIVATIONS))
    value: object = spec  # callers from untyped code pass anything
    if not isinstance(value, str):
        got = type(value).__name__
        hint = ""
        if callable(value):
            hint = ("To use your own function, wrap it with its derivative: "
                    "nnfunc.Activation(name, fn, backward).")
        raise DTypeError(
            expected(where, name, f"a name (one of {known}) or an nnfunc.Activation", got, hint)
        )
    if spec in ACTIVATIONS:
        return ACTIVATIONS[spec]
    close = spec.strip().lower().replace("-", "_")
    hint = f"Did you mean {close!r}?" if close in ACTIVATIONS else ""
    text = repr(spec) if len(spec) <= 40 else repr(spec[:40]) + "..."
    raise UnknownActivationError(
        expected(where, name, f"one of {known} or an nnfunc.Activation", text, hint)
    )
