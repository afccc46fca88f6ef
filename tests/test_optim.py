"""Step 8: optimizers and schedules — their laws, hand-computed steps, and bad hyper-parameters."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfunc as nf
from tests.helpers import networks

OptimizerFactory = Callable[[float | nf.Schedule], nf.Optimizer[Any]]

FACTORIES: dict[str, OptimizerFactory] = {
    "sgd": lambda lr: nf.sgd(lr),
    "momentum": lambda lr: nf.momentum(lr, 0.9),
    "nesterov": lambda lr: nf.momentum(lr, 0.9, nesterov=True),
    "adam": lambda lr: nf.adam(lr),
}
SLOTS = {"sgd": (), "momentum": ("velocity",), "nesterov": ("velocity",), "adam": ("mu", "nu")}


def _arrays(p: nf.Params) -> list[np.ndarray]:
    return [a for layer in p.layers for a in (layer.W, layer.b)]


@given(net=networks(), name=st.sampled_from(sorted(FACTORIES)), as_schedule=st.booleans())
def test_every_optimizer_with_learning_rate_zero_leaves_params_equal(
    net: tuple[nf.Params, np.ndarray, np.ndarray], name: str, as_schedule: bool
) -> None:
    params, X, Y = net
    opt = FACTORIES[name](nf.constant(0.0) if as_schedule else 0.0)
    state = opt.init(params)
    for _ in range(3):
        updates, state = opt.update(nf.grads(params, X, Y), state, params)
        assert nf.apply_updates(params, updates) == params
    assert state.count == 3


@given(net=networks(dtype=np.float32) | networks(dtype=np.float64),
       name=st.sampled_from(sorted(FACTORIES)))
def test_state_and_updates_keep_the_params_structure_and_dtype(
    net: tuple[nf.Params, np.ndarray, np.ndarray], name: str
) -> None:
    params, X, Y = net
    opt = FACTORIES[name](0.1)
    state = opt.init(params)
    g = nf.grads(params, X, Y)
    updates, new_state = opt.update(g, state, params)
    assert updates.sizes == params.sizes and updates.dtype == params.dtype
    assert updates.activations == params.activations
    assert nf.apply_updates(params, updates).dtype == params.dtype
    for st_ in (state, new_state):
        for slot in SLOTS[name]:
            tree = getattr(st_, slot)
            assert tree.sizes == params.sizes and tree.dtype == params.dtype
            for a in _arrays(tree):
                assert a.dtype == params.dtype and not a.flags.writeable
    assert (state.count, new_state.count) == (0, 1)


@given(net=networks(), name=st.sampled_from(sorted(FACTORIES)))
def test_update_is_pure_the_same_state_gives_the_same_step(
    net: tuple[nf.Params, np.ndarray, np.ndarray], name: str
) -> None:
    params, X, Y = net
    opt = FACTORIES[name](0.05)
    g = nf.grads(params, X, Y)
    state = opt.update(g, opt.init(params), params)[1]
    before = [a.copy() for slot in SLOTS[name] for a in _arrays(getattr(state, slot))]
    u1, s1 = opt.update(g, state, params)
    u2, s2 = opt.update(g, state, params)
    assert u1 == u2 and s1 == s2
    after = [a for slot in SLOTS[name] for a in _arrays(getattr(state, slot))]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


# --- hand-computed steps on a tiny problem: y = w x + c, two samples ----------------------

X1 = np.array([[1.0], [2.0]])
Y1 = np.array([[1.0], [3.0]])


def _line(w: float, c: float) -> nf.Params:
    return nf.Params((nf.Layer(np.array([[w]]), np.array([c]), "linear"),))


def _grad_by_hand(w: float, c: float) -> tuple[float, float]:
    """J = mean((w x + c - y)**2): dJ/dw = mean(2 r x), dJ/dc = mean(2 r)."""
    r = [w * x + c - y for x, y in zip(X1[:, 0], Y1[:, 0], strict=True)]
    return (sum(2 * ri * x for ri, x in zip(r, X1[:, 0], strict=True)) / 2,
            sum(2 * ri for ri in r) / 2)


def _run(opt: nf.Optimizer[Any], steps: int) -> list[tuple[float, float]]:
    p, state, out = _line(0.5, -0.25), opt.init(_line(0.5, -0.25)), []
    for _ in range(steps):
        updates, state = opt.update(nf.grads(p, X1, Y1), state, p)
        p = nf.apply_updates(p, updates)
        out.append((float(p.layers[0].W[0, 0]), float(p.layers[0].b[0])))
    return out


def test_adam_matches_three_hand_computed_steps() -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    w, c = 0.5, -0.25
    m = [0.0, 0.0]
    v = [0.0, 0.0]
    expected = []
    for t in (1, 2, 3):
        g = _grad_by_hand(w, c)
        new = []
        for k, (theta, gk) in enumerate(zip((w, c), g, strict=True)):
            m[k] = b1 * m[k] + (1 - b1) * gk
            v[k] = b2 * v[k] + (1 - b2) * gk * gk
            m_hat, v_hat = m[k] / (1 - b1 ** t), v[k] / (1 - b2 ** t)
            new.append(theta - lr * m_hat / (math.sqrt(v_hat) + eps))
        w, c = new
        expected.append((w, c))
    # the first Adam step moves each parameter by about lr, against its gradient's sign
    assert expected[0][0] == pytest.approx(0.5 + 0.1, abs=1e-6)
    np.testing.assert_allclose(_run(nf.adam(lr, b1, b2, eps), 3), expected, rtol=1e-13)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_matches_three_hand_computed_steps(nesterov: bool) -> None:
    lr, beta = 0.05, 0.9
    w, c = 0.5, -0.25
    vel = [0.0, 0.0]
    expected = []
    for _ in range(3):
        g = _grad_by_hand(w, c)
        new = []
        for k, (theta, gk) in enumerate(zip((w, c), g, strict=True)):
            vel[k] = beta * vel[k] + gk
            step = gk + beta * vel[k] if nesterov else vel[k]
            new.append(theta - lr * step)
        w, c = new
        expected.append((w, c))
    np.testing.assert_allclose(_run(nf.momentum(lr, beta, nesterov=nesterov), 3), expected,
                               rtol=1e-13)


def test_sgd_with_a_schedule_uses_lr_of_count() -> None:
    sched = nf.step_decay(0.1, factor=0.5, every=1)
    w, c = 0.5, -0.25
    expected = []
    for t in range(3):
        gw, gc = _grad_by_hand(w, c)
        w, c = w - 0.1 * 0.5 ** t * gw, c - 0.1 * 0.5 ** t * gc
        expected.append((w, c))
    np.testing.assert_allclose(_run(nf.sgd(sched), 3), expected, rtol=1e-13)


def test_sgd_optimizer_agrees_with_sgd_step() -> None:
    p = _line(0.5, -0.25)
    opt = nf.sgd(0.1)
    updates, _ = opt.update(nf.grads(p, X1, Y1), opt.init(p), p)
    assert nf.apply_updates(p, updates) == nf.sgd_step(p, X1, Y1, 0.1)


# --- schedules ------------------------------------------------------------------------------


def test_schedules_at_known_steps() -> None:
    assert [nf.constant(0.3)(t) for t in (0, 7, 10**6)] == [0.3, 0.3, 0.3]
    decay = nf.step_decay(1.0, factor=0.5, every=10)
    assert [decay(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    cos = nf.cosine(1.0, 110, warmup_steps=10, final=0.1)
    assert cos(0) == pytest.approx(0.1) and cos(4) == pytest.approx(0.5)
    assert cos(9) == cos(10) == 1.0
    assert cos(60) == pytest.approx(0.55)  # halfway down the cosine
    assert cos(110) == cos(10**6) == 0.1
    assert nf.cosine(2.0, 4)(2) == pytest.approx(1.0)  # no warm-up, final 0


@given(peak=st.floats(1e-6, 10.0), total=st.integers(2, 10_000), data=st.data())
def test_cosine_rises_then_falls_and_stays_within_bounds(
    peak: float, total: int, data: st.DataObject
) -> None:
    warm = data.draw(st.integers(0, total - 1))
    sched = nf.cosine(peak, total, warmup_steps=warm, final=peak / 10)
    stride = max(1, total // 50)
    warming = [sched(t) for t in range(0, warm, stride)]
    assert all(0 < v <= peak for v in warming)
    assert all(a <= b for a, b in itertools.pairwise(warming))
    after = [sched(t) for t in range(warm, total + 2, stride)]
    assert all(peak / 10 * (1 - 1e-12) <= v <= peak for v in after)
    assert all(a >= b * (1 - 1e-12) for a, b in itertools.pairwise(after))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nf.adam(b1=1.0), nf.HyperParameterError,
         r"adam: b1 must be a finite number in \[0.0, 1.0\); got 1.0"),
        (lambda: nf.adam(eps=0.0), nf.HyperParameterError, r"adam: eps must be a finite number"),
        (lambda: nf.adam(-0.1), nf.HyperParameterError,
         r"adam: lr must be a finite number in \[0.0, inf\); got -0.1"),
        (lambda: nf.sgd(float("inf")), nf.HyperParameterError, r"sgd: lr must be a finite"),
        (lambda: nf.sgd("0.1"), nf.DTypeError,  # type: ignore[arg-type]
         r"sgd: lr must be a number or an nnfunc.Schedule"),
        (lambda: nf.momentum(0.1, beta=-0.5), nf.HyperParameterError,
         r"momentum: beta must be a finite number in \[0.0, 1.0\); got -0.5"),
        (lambda: nf.momentum(0.1, nesterov=1), nf.DTypeError,  # type: ignore[arg-type]
         r"momentum: nesterov must be True or False; got int"),
        (lambda: nf.cosine(1.0, 10, warmup_steps=10), nf.HyperParameterError,
         r"cosine: warmup_steps must be less than total_steps = 10; got 10"),
        (lambda: nf.cosine(1.0, 10, final=2.0), nf.HyperParameterError,
         r"cosine: final must be at most peak = 1.0; got 2.0"),
        (lambda: nf.cosine(1.0, 0), nf.HyperParameterError,
         r"cosine: total_steps must be an integer >= 1; got 0"),
        (lambda: nf.step_decay(1.0, every=0), nf.HyperParameterError,
         r"step_decay: every must be an integer >= 1; got 0"),
        (lambda: nf.step_decay(1.0, factor=1.5), nf.HyperParameterError,
         r"step_decay: factor must be a finite number in \(0.0, 1.0\]; got 1.5"),
        (lambda: nf.constant(1.0)(-1), nf.HyperParameterError,
         r"constant schedule: step must be an integer >= 0; got -1"),
        (lambda: nf.constant(1.0)(1.5), nf.DTypeError,  # type: ignore[arg-type]
         r"constant schedule: step must be an integer; got float"),
    ],
)
def test_bad_hyper_parameters_raise_typed_errors(
    call: Callable[[], object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_reprs_show_the_hyper_parameters() -> None:
    assert repr(nf.sgd(0.1)) == "sgd(lr=0.1)"
    assert repr(nf.momentum(0.1, nesterov=True)) == "nesterov(lr=0.1, beta=0.9)"
    assert repr(nf.adam(nf.cosine(0.01, 100, warmup_steps=5))) == (
        "adam(lr=cosine(peak=0.01, total_steps=100, warmup_steps=5, final=0.0), b1=0.9, "
        "b2=0.999, eps=1e-08)")
