"""The private fast path (nnfunc._kernels) computes what the plain path computes, changes no
input, and never hands a private work array to a caller."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfunc as nf
from nnfunc import _kernels
from nnfunc.activations import _kernel
from nnfunc.net import (
    _checked_XY,
    _forward,
    _forward_plain,
    _value_and_grads,
    _value_and_grads_plain,
)
from tests.helpers import networks

Net = tuple[nf.Params, np.ndarray, np.ndarray]


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    scale = max(float(np.max(np.abs(b))), 1e-300) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


def _work_arrays() -> list[np.ndarray]:
    cache: Any = getattr(_kernels._local, "cache", {})
    return [a for w in cache.values() for group in (w.Zt, w.At, w.dAt, [w.Et, w.ones])
            for a in group]


def _assert_private(arrays: list[np.ndarray]) -> None:
    for out in arrays:
        for buf in _work_arrays():
            assert not np.shares_memory(out, buf)


@pytest.mark.parametrize("name", sorted(nf.ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_kernels_equal_the_public_pair_bit_for_bit(name: str, dtype: Any) -> None:
    act = nf.ACTIVATIONS[name]
    k = _kernel(act)
    assert k is not None
    fwd, bwd = k
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(scale=3.0, size=60), [0.0, -0.0, 1e-6, -1e-6, 30, -30]])
    z = z.astype(dtype).reshape(6, 11)
    g = rng.normal(size=z.shape).astype(dtype)
    a = act.fn(z)
    out = np.empty_like(z)
    fast_a = fwd(z.copy(), out)
    assert np.array_equal(fast_a, a) and fast_a.dtype == a.dtype
    expect = act.backward(g, z, a)
    g2 = g.copy()
    bwd(g2, z, a)
    assert np.array_equal(g2, expect) and g2.dtype == expect.dtype


def test_custom_or_edited_activations_take_the_plain_path() -> None:
    mine = nf.Activation("cube", lambda z: z ** 3, lambda g, z, a: g * 3 * z * z)
    edited = attrs.evolve(nf.relu, fn=lambda z: np.maximum(z, 0.5))
    assert _kernel(mine) is None and _kernel(edited) is None
    rng = np.random.default_rng(1)
    for act in (mine, edited):
        params = nf.init([2, 3, 1], [act, "linear"], rng)
        assert _kernels.kernels(params.layers) is None
        X, Y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
        v, g = _value_and_grads(params, X, Y, 0.0, nf.mse)
        v0, g0 = _value_and_grads_plain(params, X, Y, 0.0, nf.mse)
        assert v == v0 and g == g0


@given(net=networks(max_width=6, max_batch=9), l2=st.sampled_from([0.0, 0.2]))
def test_fast_gradient_equals_the_plain_one(net: Net, l2: float) -> None:
    params, X, Y = net
    assert _kernels.kernels(params.layers) is not None
    v, g = _value_and_grads(params, X, Y, l2, nf.mse)
    v0, g0 = _value_and_grads_plain(params, X, Y, l2, nf.mse)
    assert v == pytest.approx(v0, rel=1e-12, abs=1e-300)
    for a, b in zip(g.layers, g0.layers, strict=True):
        _close(a.W, b.W, 1e-12)
        _close(a.b, b.b, 1e-12)
    _close(_forward(params.layers, X), _forward_plain(params.layers, X), 1e-12)


@given(net=networks(dtype=np.float32, max_width=6, max_batch=9))
def test_float32_stays_float32_on_the_fast_path(net: Net) -> None:
    params, X, Y = net
    g = _value_and_grads(params, X, Y, 0.0, nf.mse)[1]
    g0 = _value_and_grads_plain(params, X, Y, 0.0, nf.mse)[1]
    for a, b in zip(g.layers, g0.layers, strict=True):
        assert a.W.dtype == a.b.dtype == np.float32
        _close(a.W, b.W, 1e-4)
    p = nf.sgd_step(params, X, Y, 0.1)
    assert p.dtype == np.float32 and nf.forward(p, X).dtype == np.float32


@given(net=networks(max_width=6, max_batch=9), lr=st.sampled_from([0.0, 0.05]),
       l2=st.sampled_from([0.0, 0.3]))
def test_sgd_step_is_params_minus_lr_times_the_plain_gradient(net: Net, lr: float, l2: float
                                                              ) -> None:
    params, X, Y = net
    g = _value_and_grads_plain(params, X, Y, l2, nf.mse)[1]
    new = nf.sgd_step(params, X, Y, lr, l2=l2)
    for n, p, d in zip(new.layers, params.layers, g.layers, strict=True):
        _close(n.W, p.W - lr * d.W, 1e-12)
        _close(n.b, p.b - lr * d.b, 1e-12)
        assert not n.W.flags.writeable and not n.b.flags.writeable
    if lr == 0.0:
        assert new == params


@given(net=networks(max_width=6, max_batch=9))
def test_results_are_fresh_and_survive_the_next_call(net: Net) -> None:
    params, X, Y = net
    Xs, Ys = X.copy(), Y.copy()
    out = nf.forward(params, X)
    g = nf.grads(params, X, Y)
    p1 = nf.sgd_step(params, X, Y, 0.1)
    saved = [out.copy()] + [a.copy() for q in (g, p1) for lay in q.layers for a in (lay.W, lay.b)]
    arrays = [out] + [a for q in (g, p1) for lay in q.layers for a in (lay.W, lay.b)]
    _assert_private(arrays)
    # the same shapes again, with other numbers: the work arrays are reused ...
    nf.forward(params, X * 2)
    nf.grads(params, X * 2, Y - 1)
    nf.sgd_step(params, X * 2, Y - 1, 0.3)
    # ... and nothing returned before has changed, nor any input
    assert all(np.array_equal(a, b) for a, b in zip(arrays, saved, strict=True))
    assert np.array_equal(X, Xs) and np.array_equal(Y, Ys)


def test_odd_layouts_are_read_not_changed() -> None:
    rng = np.random.default_rng(2)
    params = nf.init([3, 5, 2], ["relu", "linear"], rng)
    base = rng.normal(size=(8, 6))
    for X in (base[:, ::2], np.asfortranarray(base[:, :3]), base[::2, :3]):
        Y = rng.normal(size=(X.shape[0], 2))
        X0 = X.copy()
        X.flags.writeable = False  # a write would raise
        v, g = _value_and_grads(params, X, Y, 0.0, nf.mse)
        v0, g0 = _value_and_grads_plain(params, X0, Y, 0.0, nf.mse)
        assert v == pytest.approx(v0, rel=1e-12)
        for a, b in zip(g.layers, g0.layers, strict=True):
            _close(a.W, b.W, 1e-12)
        assert np.array_equal(X, X0)


def test_lean_validation_still_raises_the_typed_errors() -> None:
    rng = np.random.default_rng(3)
    params = nf.init([2, 3, 1], ["relu", "linear"], rng)
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    bad = X.copy()
    bad[2, 1] = np.nan
    with pytest.raises(nf.NonFiniteError, match=r"sgd_step: X .*NaN"):
        nf.sgd_step(params, bad, Y, 0.1)
    with pytest.raises(nf.NonFiniteError, match=r"grads: Y"):
        nf.grads(params, X, np.full((5, 1), np.inf))
    with pytest.raises(nf.DTypeError, match=r"sgd_step: X .*float32"):
        nf.sgd_step(params, X.astype(np.float32), Y, 0.1)
    with pytest.raises(nf.ShapeError, match=r"sgd_step: Y"):
        nf.sgd_step(params, X, Y[:4], 0.1)
    # a finite batch whose sum overflows is still accepted (the exact check decides)
    huge = np.full((5, 2), 1e308)
    Xa, Ya = _checked_XY(params, huge, Y, "sgd_step")
    assert Xa is huge and Ya is Y


def test_the_work_cache_is_bounded() -> None:
    rng = np.random.default_rng(4)
    params = nf.init([2, 3, 1], ["tanh", "linear"], rng)
    for n in range(1, 3 * _kernels._MAX_ENTRIES):
        nf.grads(params, rng.normal(size=(n, 2)), rng.normal(size=(n, 1)))
    assert len(_kernels._local.cache) <= _kernels._MAX_ENTRIES


def test_threads_do_not_share_work_arrays() -> None:
    rng = np.random.default_rng(5)
    params = nf.init([4, 16, 16, 2], ["relu", "sigmoid", "linear"], rng)
    batches = [(rng.normal(size=(32, 4)), rng.normal(size=(32, 2))) for _ in range(8)]
    expect = [nf.grads(params, X, Y) for X, Y in batches]
    got: list[list[nf.Params]] = [[], []]

    def work(k: int) -> None:
        with np.errstate(all="raise"):
            for _ in range(20):
                got[k] = [nf.grads(params, X, Y) for X, Y in batches]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got[0] == expect and got[1] == expect
