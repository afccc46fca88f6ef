"""Step 8: gradient descent, and optimizers as pure functions over small state records.

An :class:`Optimizer` is a pair of pure functions, in the style of optax::

    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = apply_updates(params, updates)         # W + dW, b + db, dtype preserved

Computing an update is separate from applying it.  The contract, for every optimizer here:

- ``updates`` and every array in a state record have the structure of ``Params`` (a gradient
  is a ``Params`` too) and the params' dtype: float32 in, float32 state, float32 updates.
- State records are frozen; ``update`` returns a new one and never changes the old one.
  ``state.count`` is the number of updates made so far.
- The learning rate ``lr`` is a float or a :class:`~nnfunc.schedules.Schedule`; update number
  ``t = state.count`` uses ``lr(t)``, so the first update uses ``lr(0)``.
- With learning rate 0 every optimizer returns zero updates: ``apply_updates`` gives params
  equal to the input.
- The L2 penalty is not an optimizer's business: it is part of the objective
  (``train(..., l2=...)`` and :func:`nnfunc.grads`), so every optimizer sees its gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs
import numpy as np

from . import _kernels
from ._checks import FloatArray, _describe, check_finite, check_float, guard_numerics
from .errors import DTypeError, HyperParameterError, ShapeError, expected
from .losses import mse
from .net import _checked_XY, _value_and_grads, check_params
from .params import Layer, Params
from .schedules import Schedule, as_schedule

__all__ = [
    "AdamState",
    "FlatRule",
    "MomentumState",
    "Optimizer",
    "SgdState",
    "adam",
    "apply_updates",
    "momentum",
    "sgd",
    "sgd_step",
    "tree_map",
    "zeros_like",
]

S = TypeVar("S")


@attrs.frozen(slots=True)
class Optimizer(Generic[S]):
    """An optimizer: ``init(params) -> state`` and
    ``update(grads, state, params) -> (updates, state)``, both pure.

    Attributes
    ----------
    name: ``"sgd"``, ``"momentum"``, ``"adam"`` or your own.
    init: builds the starting state for ``params``.
    update: turns a gradient into updates (to be *added* to the params) and a new state.
    hyper: the hyper-parameters, for display: ``(("lr", 0.01), ...)``.
    lr: the learning-rate schedule, when the optimizer has one (:func:`nnfunc.train` reads
        it for the history as ``lr(state.count)``).
    rule: the arithmetic on flat vectors (:class:`FlatRule`) that ``init`` and ``update``
        are built from; :func:`nnfunc.train` uses it directly.  ``None`` for an optimizer
        written only as ``init``/``update``, which ``train`` then calls step by step.
    """

    name: str
    init: Callable[[Params], S] = attrs.field(eq=False, repr=False)
    update: Callable[[Params, S, Params], tuple[Params, S]] = attrs.field(eq=False, repr=False)
    hyper: tuple[tuple[str, Any], ...] = ()
    lr: Schedule | None = attrs.field(default=None, eq=False, repr=False)
    rule: FlatRule[S] | None = attrs.field(default=None, eq=False, repr=False)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper)
        return f"{self.name}({args})"


def _check_like(template: Params, other: object, where: str, name: str) -> Params:
    """``other`` as a ``Params`` with ``template``'s layer sizes (:class:`ShapeError`
    otherwise) and dtype (:class:`DTypeError`)."""
    o = check_params(other, where, name)
    if o.sizes != template.sizes:
        raise ShapeError(expected(where, name, f"layer sizes {list(template.sizes)}, like params",
                                  f"sizes {list(o.sizes)}"))
    if o.dtype != template.dtype:
        raise DTypeError(expected(where, name, f"dtype {template.dtype}, like params",
                                  str(o.dtype)))
    return o


def tree_map(fn: Callable[..., FloatArray], tree: Params, *rest: Params) -> Params:
    """Apply ``fn`` to every ``W`` and every ``b`` of ``tree`` (and the matching arrays of
    ``rest``, which must have ``tree``'s layer sizes), giving a new ``Params`` of the same
    structure.  ``fn`` must return new arrays of the same shape (they are made read-only);
    the dtype is whatever ``fn`` returns, float32 or float64."""
    where = "tree_map"
    if not callable(fn):
        raise DTypeError(expected(where, "fn", "a function of arrays", _describe(fn)))
    tree = check_params(tree, where, "tree")
    for k, r in enumerate(rest):
        if check_params(r, where, f"rest[{k}]").sizes != tree.sizes:
            raise ShapeError(expected(where, f"rest[{k}]", f"layer sizes {list(tree.sizes)}, "
                                      "like tree", f"sizes {list(r.sizes)}"))
    layers = []
    for i, layer in enumerate(tree.layers):
        others = [r.layers[i] for r in rest]
        W = _returned(fn(layer.W, *(o.W for o in others)), layer.W, where, i, "W")
        b = _returned(fn(layer.b, *(o.b for o in others)), layer.b, where, i, "b")
        if W.dtype != b.dtype:
            raise DTypeError(expected(f"{where} layer {i}", "fn", "one dtype for W and b",
                                      f"W {W.dtype} and b {b.dtype}"))
        layers.append(Layer._trusted(W, b, layer.activation))
    return Params._trusted(tuple(layers))


def _returned(out: object, arg: FloatArray, where: str, layer: int, field: str) -> FloatArray:
    """What ``tree_map``'s ``fn`` returned for ``arg``: a float32/float64 array of its shape."""
    arr = np.asarray(out)
    if arr.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise DTypeError(expected(f"{where} layer {layer}", "fn", f"to return float arrays "
                                  f"for {field}", f"dtype {arr.dtype}"))
    if arr.shape != arg.shape:
        raise ShapeError(expected(f"{where} layer {layer}", "fn", f"to return shape "
                                  f"{arg.shape} for {field}", f"shape {arr.shape}"))
    if arr.flags.writeable and not arr.flags.owndata:
        arr = arr.copy()  # a view of someone else's array: a private copy, to be frozen
    return arr


def zeros_like(params: Params) -> Params:
    """A ``Params`` of zeros with the shapes and dtype of ``params``."""
    return tree_map(np.zeros_like, check_params(params, "zeros_like"))


def _leaves(p: Params) -> list[FloatArray]:
    """``[W_0, b_0, W_1, b_1, ...]``: the arrays of ``p`` in a fixed order."""
    return [a for layer in p.layers for a in (layer.W, layer.b)]


def _flatten(p: Params) -> FloatArray:
    """All of ``p``'s arrays as one new 1-D array, in :func:`_leaves` order."""
    return np.concatenate(_leaves(p), axis=None)


@attrs.frozen(slots=True, eq=False)
class _Layout:
    """Where each ``W`` and ``b`` of a ``Params`` sits in its flat vector."""

    template: Params
    spans: tuple[tuple[int, int, tuple[int, ...]], ...]
    size: int

    @classmethod
    def of(cls, p: Params) -> _Layout:
        spans, at = [], 0
        for a in _leaves(p):
            spans.append((at, at + a.size, a.shape))
            at += a.size
        return cls(p, tuple(spans), at)

    def unflatten(self, flat: FloatArray) -> Params:
        """A ``Params`` whose arrays are read-only views of ``flat`` (which becomes read-only;
        ``flat`` must be new and never written again)."""
        flat.flags.writeable = False
        return _unflatten(self.template,
                          [flat[lo:hi].reshape(shape) for lo, hi, shape in self.spans])


def _unflatten(template: Params, arrays: list[FloatArray]) -> Params:
    """The inverse of :func:`_leaves`: new arrays (made read-only) in ``template``'s layers."""
    return Params._trusted(tuple(
        Layer._trusted(arrays[2 * i], arrays[2 * i + 1], layer.activation)
        for i, layer in enumerate(template.layers)))


def _add(params: Params, updates: Params) -> Params:
    """``params + updates`` without checks."""
    return Params._trusted(tuple(
        Layer._trusted(np.add(p.W, u.W, dtype=p.W.dtype), np.add(p.b, u.b, dtype=p.b.dtype),
                       p.activation)
        for p, u in zip(params.layers, updates.layers, strict=True)))


def apply_updates(params: Params, updates: Params) -> Params:
    """``params + updates`` layer by layer; a new ``Params`` of the params' dtype."""
    where = "apply_updates"
    p = check_params(params, where)
    u = check_params(updates, where, "updates")
    if p.sizes != u.sizes:
        raise ShapeError(expected(where, "updates", f"layer sizes {list(p.sizes)}, like params",
                                  f"sizes {list(u.sizes)}"))
    with np.errstate(over="ignore", invalid="ignore"):
        out = _add(p, u)
    for i, layer in enumerate(out.layers):
        for field in ("W", "b"):
            check_finite(getattr(layer, field), where=f"{where} layer {i}",
                         name=f"params + updates ({field})",
                         hint="The updates are too large: lower the learning rate.")
    return out


Slots = tuple[FloatArray, ...]


@attrs.frozen(slots=True)
class FlatRule(Generic[S]):
    """An optimizer's arithmetic, written once, on flat vectors.

    Every optimizer here is a ``FlatRule``; its public ``init``/``update`` (over ``Params``)
    and :func:`nnfunc.train`'s inner loop (over one flat vector, to skip per-layer
    bookkeeping) both call ``step``, so the two can never disagree.

    Attributes
    ----------
    n_slots:
        How many params-shaped arrays the state keeps (``mu`` and ``nu``: 2).
    step:
        ``step(g, slots, count) -> (update, new_slots)``; ``g: (n_params,)`` the flat
        gradient, ``slots`` the flat state arrays, ``count`` the updates made so far.  Returns
        new arrays and never writes to its inputs.
    pack:
        ``pack(count, slot_params) -> state``: the frozen state record.
    unpack:
        ``unpack(state) -> (count, slot_params)``.
    state_type:
        The state record's class, when known: ``update`` refuses a state of another type
        (:class:`~nnfunc.DTypeError`), as well as a gradient, params or state slots whose
        layer sizes or dtype differ (:class:`~nnfunc.ShapeError`, ``DTypeError``).
    """

    n_slots: int
    step: Callable[[FloatArray, Slots, int], tuple[FloatArray, Slots]]
    pack: Callable[[int, tuple[Params, ...]], S]
    unpack: Callable[[S], tuple[int, tuple[Params, ...]]]
    state_type: type | None = None


def _from_rule(name: str, rule: FlatRule[S], hyper: tuple[tuple[str, Any], ...],
               sched: Schedule) -> Optimizer[S]:
    def init(params: Params) -> S:
        p = check_params(params, f"{name}.init")
        layout = _Layout.of(p)
        return rule.pack(0, tuple(layout.unflatten(np.zeros(layout.size, dtype=p.dtype))
                                  for _ in range(rule.n_slots)))

    def update(g: Params, state: S, params: Params) -> tuple[Params, S]:
        where = f"{name}.update"
        p = check_params(params, where)
        g = _check_like(p, g, where, "grads")
        count, slots = _check_state(rule, state, p, where)
        layout = _Layout.of(g)
        u, new = rule.step(_flatten(g), tuple(_flatten(s) for s in slots), count)
        return layout.unflatten(u), rule.pack(count + 1, tuple(layout.unflatten(a) for a in new))

    return Optimizer(name, init, update, hyper, sched, rule)


def _check_state(rule: FlatRule[S], state: object, p: Params, where: str
                 ) -> tuple[int, tuple[Params, ...]]:
    """``state`` unpacked: of the rule's record type, a count >= 0, and slots like ``p``."""
    kind = rule.state_type
    if kind is not None and not isinstance(state, kind):
        raise DTypeError(expected(where, "state", f"an nnfunc.{kind.__name__} from this "
                                  "optimizer's init", _describe(state),
                                  "Make it with opt.init(params); states of different "
                                  "optimizers do not mix."))
    count, slots = rule.unpack(state)  # type: ignore[arg-type]
    if isinstance(count, bool) or not isinstance(count, int):
        raise DTypeError(expected(where, "state.count", "an integer", _describe(count)))
    if count < 0:
        raise HyperParameterError(expected(where, "state.count", "an integer >= 0", str(count)))
    kind_of_state: Any = type(state)
    names = ([f.name for f in attrs.fields(kind_of_state) if f.name != "count"]
             if attrs.has(kind_of_state) else [])
    for k, slot in enumerate(slots):
        _check_like(p, slot, where, f"state.{names[k]}" if k < len(names) else
                    f"state slot {k}")
    return count, slots


def _lr(lr: float, where: str) -> float:
    return check_float(lr, where=where, name="lr", low=0.0, low_open=False)


def _beta(value: object, where: str, name: str) -> float:
    return check_float(value, where=where, name=name, low=0.0, high=1.0, low_open=False)


def _show(sched: Schedule) -> Any:
    return sched.fn(0) if sched.name == "constant" else sched


@attrs.frozen(slots=True)
class SgdState:
    """Plain gradient descent keeps only the step count.

    Attributes
    ----------
    count: the number of updates made so far.
    """

    count: int = 0


def sgd(lr: float | Schedule = 0.01) -> Optimizer[SgdState]:
    """Plain gradient descent: ``update = -lr(t) * g``, with ``t = count``."""
    sched = as_schedule(lr, "sgd")
    rate = sched.fn

    def step(g: FloatArray, slots: Slots, count: int) -> tuple[FloatArray, Slots]:
        return np.multiply(g, g.dtype.type(-rate(count))), ()

    rule = FlatRule(0, step, lambda count, _: SgdState(count), lambda st: (st.count, ()),
                    SgdState)
    return _from_rule("sgd", rule, (("lr", _show(sched)),), sched)


@attrs.frozen(slots=True, eq=False)
class MomentumState:
    """Heavy-ball momentum's state.

    Attributes
    ----------
    count: the number of updates made so far.
    velocity: the decaying sum of past gradients (optax calls it the *trace*); structure and
        dtype of the params.
    """

    count: int
    velocity: Params

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MomentumState):
            return NotImplemented
        return self.count == other.count and self.velocity == other.velocity

    __hash__ = None  # type: ignore[assignment]


def momentum(lr: float | Schedule = 0.01, beta: float = 0.9, *, nesterov: bool = False
             ) -> Optimizer[MomentumState]:
    """SGD with heavy-ball momentum, or Nesterov's variant (the optax ``trace`` form)::

        velocity = beta * velocity + g
        update   = -lr(t) * velocity                    (nesterov=False)
        update   = -lr(t) * (g + beta * velocity)       (nesterov=True, with the new velocity)

    ``t = count``; ``velocity`` starts at zero, so the first update is ``-lr(0) * g`` without
    Nesterov and ``-lr(0) * (1 + beta) * g`` with it.  ``beta = 0`` is plain SGD.
    """
    where = "momentum"
    sched = as_schedule(lr, where)
    rate = sched.fn
    b = _beta(beta, where, "beta")
    if not isinstance(nesterov, bool):
        raise DTypeError(expected(where, "nesterov", "True or False", type(nesterov).__name__))

    def step(g: FloatArray, slots: Slots, count: int) -> tuple[FloatArray, Slots]:
        dt = g.dtype.type
        v = np.multiply(slots[0], dt(b))
        v += g
        if nesterov:
            u = np.multiply(v, dt(b))
            u += g
            u *= dt(-rate(count))
        else:
            u = np.multiply(v, dt(-rate(count)))
        return u, (v,)

    rule = FlatRule(1, step, lambda count, s: MomentumState(count, s[0]),
                    lambda st: (st.count, (st.velocity,)), MomentumState)
    return _from_rule("nesterov" if nesterov else "momentum", rule,
                      (("lr", _show(sched)), ("beta", b)), sched)


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


def adam(lr: float | Schedule = 0.01, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
         ) -> Optimizer[AdamState]:
    """Adam (Kingma & Ba, 2015, Algorithm 1), with bias correction applied to the moments::

        t  = count + 1
        mu = b1 mu + (1 - b1) g,        nu = b2 nu + (1 - b2) g**2
        update = -lr(count) * (mu / (1 - b1**t)) / (sqrt(nu / (1 - b2**t)) + eps)

    ``eps`` is added outside the square root, after the bias correction, as in the paper's
    Algorithm 1 and optax (not the "eps-hat" variant of the paper's section 2, which folds the
    correction into the step size).  The moments are computed as ``mu + (1 - b1) (g - mu)``,
    the same number up to rounding.
    """
    where = "adam"
    sched = as_schedule(lr, where)
    rate = sched.fn
    beta1 = _beta(b1, where, "b1")
    beta2 = _beta(b2, where, "b2")
    epsilon = check_float(eps, where=where, name="eps", low=0.0)

    def step(g: FloatArray, slots: Slots, count: int) -> tuple[FloatArray, Slots]:
        dt = g.dtype.type
        t = count + 1
        m0, v0 = slots
        m = np.subtract(g, m0)
        m *= dt(1.0 - beta1)
        m += m0
        v = np.multiply(g, g)
        v -= v0
        v *= dt(1.0 - beta2)
        v += v0
        u = np.multiply(v, dt(1.0 / (1.0 - beta2 ** t)))
        np.sqrt(u, out=u)
        u += dt(epsilon)
        np.divide(m, u, out=u)
        u *= dt(-rate(count) / (1.0 - beta1 ** t))
        return u, (m, v)

    rule = FlatRule(2, step, lambda count, s: AdamState(count, s[0], s[1]),
                    lambda st: (st.count, (st.mu, st.nu)), AdamState)
    return _from_rule("adam", rule, (("lr", _show(sched)), ("b1", beta1), ("b2", beta2),
                                     ("eps", epsilon)), sched)


@guard_numerics("sgd_step", "X, Y, params and lr",
                "The step overflowed: lower lr, or standardize the data (nnfunc.fit_scaler).")
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
