"""The private fast path (nnfunc._kernels) computes what the plain path computes, changes no
input, and never hands a private work array to a caller."""

from __future__ import annotations

import importlib
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
from nnfunc.optim import _from_rule
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


# --- the fused training loop (nnfunc._kernels.FlatNet, used by nnfunc.train) ---------------

_TRAIN_MODULE = importlib.import_module("nnfunc.train")


def _task(dtype: Any, n: int = 90) -> tuple[nf.Params, nf.Dataset, nf.Dataset]:
    rng = np.random.default_rng(11)
    params = nf.init([2, 7, 5, 3], ["relu", "tanh", "linear"], rng, dtype=dtype, bias=0.1)
    X = rng.normal(size=(n + 20, 2))
    Y = np.stack([np.sin(X[:, 0]), X[:, 0] * X[:, 1], np.cos(X[:, 1])], axis=1)
    data = nf.Dataset(X[:n].astype(dtype), Y[:n].astype(dtype))
    return params, data, nf.Dataset(X[n:].astype(dtype), Y[n:].astype(dtype))


def _arrays(res: nf.TrainResult) -> list[np.ndarray]:
    out = [a for q in (res.params, res.last_params) for lay in q.layers for a in (lay.W, lay.b)]
    for value in attrs.asdict(res.state, recurse=False).values():
        if isinstance(value, nf.Params):
            out += [a for lay in value.layers for a in (lay.W, lay.b)]
    return out


def _fused_nets(monkeypatch: pytest.MonkeyPatch) -> list[_kernels.FlatNet]:
    made: list[_kernels.FlatNet] = []
    real = _kernels.flat_net

    def spy(*args: Any) -> _kernels.FlatNet | None:
        net = real(*args)
        if net is not None:
            made.append(net)
        return net
    monkeypatch.setattr(_kernels, "flat_net", spy)
    return made


OPTIMIZERS = [nf.sgd(0.05), nf.momentum(0.03, nesterov=True),
              nf.adam(nf.cosine(0.02, 40, warmup_steps=3))]


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fused_epoch_equals_the_general_paths_bit_for_bit(
    opt: nf.Optimizer[Any], dtype: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    params, data, test = _task(dtype)
    kw: dict[str, Any] = {"epochs": 4, "batch_size": 16, "l2": 0.01, "test": test,
                          "val_fraction": 0.2, "revive_epochs": 2}
    made = _fused_nets(monkeypatch)
    fused = nf.train(params, data, np.random.default_rng(1), optimizer=opt, **kw)
    assert len(made) == 4  # one fused net per epoch: the fast path did run
    # the optimizer known only by init/update (no flat rule): the per-record loop
    plain = nf.train(params, data, np.random.default_rng(1),
                     optimizer=attrs.evolve(opt, rule=None), **kw)
    # the flat loop without the private kernels
    monkeypatch.setattr(_kernels, "flat_net", lambda *args: None)
    flat = nf.train(params, data, np.random.default_rng(1), optimizer=opt, **kw)
    for other in (plain, flat):
        assert fused.params == other.params and fused.last_params == other.last_params
        assert fused.state == other.state
    assert fused.history == flat.history
    # the per-record loop sums the squared gradient layer by layer: grad_norm to rounding
    rtol = 1e-12 if dtype == np.float64 else 1e-5  # a float32 sum of squares
    np.testing.assert_allclose(fused.history.grad_norm, plain.history.grad_norm, rtol=rtol)
    assert attrs.evolve(fused.history, grad_norm=plain.history.grad_norm) == plain.history
    assert fused.params.dtype == dtype and all(a.dtype == dtype for a in _arrays(fused))


def test_the_fused_epoch_leaks_no_private_buffer_and_changes_no_input(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    params, data, test = _task(np.float64)
    saved = [params.layers[0].W.copy(), data.X.copy(), data.Y.copy()]
    made = _fused_nets(monkeypatch)
    seen: list[nf.Params] = []
    kept: list[np.ndarray] = []

    def on_epoch(epoch: int, p: nf.Params, h: nf.History) -> None:
        seen.append(p)
        kept.extend(a.copy() for lay in p.layers for a in (lay.W, lay.b))

    res = nf.train(params, data, np.random.default_rng(2), epochs=3, batch_size=16,
                   optimizer=nf.adam(0.01), on_epoch=on_epoch, test=test)
    private = [buf for net in made for buf in (*net.theta, net.g)]
    rows: Any = getattr(_kernels._local, "rows", {})
    private += [buf for pair in rows.values() for buf in pair] + _work_arrays()
    returned = _arrays(res) + [a for p in seen for lay in p.layers for a in (lay.W, lay.b)]
    for out in returned:
        assert not out.flags.writeable
        for buf in private:
            assert not np.shares_memory(out, buf)
    # more training reuses every private buffer; nothing handed out before changes
    nf.train(res, data, np.random.default_rng(3), epochs=2, test=test)
    after = [a for p in seen for lay in p.layers for a in (lay.W, lay.b)]
    assert all(np.array_equal(a, b) for a, b in zip(after, kept, strict=True))
    assert np.array_equal(params.layers[0].W, saved[0])
    assert np.array_equal(data.X, saved[1]) and np.array_equal(data.Y, saved[2])


def test_a_rule_that_keeps_the_gradient_gets_a_copy() -> None:
    # a custom flat rule that (against its contract) returns the gradient itself as state
    def step(g: np.ndarray, slots: tuple[np.ndarray, ...], count: int
             ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        return -0.05 * (g + slots[0]) / 2, (g,)

    base = nf.momentum(0.05)
    assert base.rule is not None and base.lr is not None
    opt = _from_rule("keep", attrs.evolve(base.rule, step=step), (), base.lr)
    params, data, _ = _task(np.float64)
    fused = nf.train(params, data, np.random.default_rng(4), epochs=2, batch_size=16,
                     optimizer=opt)
    plain = nf.train(params, data, np.random.default_rng(4), epochs=2, batch_size=16,
                     optimizer=attrs.evolve(opt, rule=None))
    assert fused.params == plain.params and fused.state == plain.state


def test_divergence_on_the_fused_path_keeps_the_last_finite_params() -> None:
    params, data, _ = _task(np.float64)
    with pytest.raises(nf.DivergenceError, match=r"non-finite in epoch 1, batch \d+") as info:
        nf.train(params, data, np.random.default_rng(5), epochs=3, batch_size=16,
                 optimizer=nf.sgd(1e305))
    err = info.value
    assert err.result.epochs == 0 and err.result.params == params
    last = err.last_finite
    assert all(np.isfinite(a).all() and not a.flags.writeable
               for lay in last.layers for a in (lay.W, lay.b))
    saved = [a.copy() for lay in last.layers for a in (lay.W, lay.b)]
    nf.train(params, data, np.random.default_rng(5), epochs=1, batch_size=16)  # reuses buffers
    assert all(np.array_equal(a, b) for a, b in
               zip([a for lay in last.layers for a in (lay.W, lay.b)], saved, strict=True))


def test_the_cheap_finite_tests_defer_to_the_exact_ones() -> None:
    # sums of squares overflow for these finite numbers: the exact tests decide, and accept
    rng = np.random.default_rng(6)
    params = nf.init([2, 3, 1], ["relu", "linear"], rng)
    last = params.layers[-1]
    big = nf.Params((params.layers[0], nf.Layer(last.W, np.full_like(last.b, 1e160), "linear")))
    X, Y = np.full((4, 2), 1e160), np.zeros((4, 1))
    assert _checked_XY(params, X, Y, "sgd_step")[0] is X
    same = nf.sgd_step(big, np.zeros((4, 2)), np.zeros((4, 1)), 0.0)
    assert same == big
    # a step that really overflows is refused, naming the step
    with pytest.raises(nf.NonFiniteError, match=r"sgd_step"):
        nf.sgd_step(big, np.ones((4, 2)), np.zeros((4, 1)), 1e200)
