"""Steps 5, 6, 8, 9: init, forward, the optimizers' basic laws, train, predict."""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfunc as nf
from tests.helpers import networks

S = TypeVar("S")


def test_parameter_count_by_formula_and_by_counting() -> None:
    params = nf.init([2, 4, 4, 3], ["relu", "relu", "linear"], np.random.default_rng(0))
    assert nf.n_params([2, 4, 4, 3]) == (2 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 3 == 47
    assert nf.count_params(params) == 47


def test_capacity_check_warns_when_parameters_reach_the_data() -> None:
    params = nf.init([2, 4, 4, 3], ["relu", "relu", "linear"], np.random.default_rng(0))
    assert nf.check_capacity(params, 48) == 47
    with pytest.warns(nf.CapacityWarning, match="47 parameters for 47 training samples"):
        nf.check_capacity(params, 47)


def test_init_uses_he_for_relu_and_glorot_for_the_others() -> None:
    rng = np.random.default_rng(0)
    p = nf.init([400, 300, 200], ["relu", "tanh"], rng)
    assert p.layers[0].W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    r = np.sqrt(6 / (300 + 200))
    assert p.layers[1].W.max() <= r and p.layers[1].W.min() >= -r
    assert p.layers[1].W.std() == pytest.approx(r / np.sqrt(3), rel=0.02)


@given(net=networks(), dtype=st.sampled_from([np.float32, np.float64]))
def test_forward_shape_and_dtype_for_any_depth(
    net: tuple[nf.Params, np.ndarray, np.ndarray], dtype: type[np.floating[Any]]
) -> None:
    params, X, _ = net
    p = nf.tree_map(lambda a: a.astype(dtype), params)
    out = nf.forward(p, X.astype(dtype))
    assert out.shape == (X.shape[0], params.sizes[-1])
    assert out.dtype == dtype
    assert nf.grads(p, X.astype(dtype), _.astype(dtype)).dtype == dtype


def test_sigmoid_is_stable_for_huge_inputs() -> None:
    z = np.array([-1e308, -1000.0, 0.0, 1000.0, 1e308])
    a = nf.sigmoid.fn(z)
    np.testing.assert_array_equal(a, [0.0, 0.0, 0.5, 1.0, 1.0])


@given(net=networks())
def test_sgd_step_with_zero_learning_rate_returns_equal_params(
    net: tuple[nf.Params, np.ndarray, np.ndarray]
) -> None:
    params, X, Y = net
    assert nf.sgd_step(params, X, Y, 0.0) == params


@given(net=networks())
def test_optimizers_with_zero_learning_rate_leave_params_equal(
    net: tuple[nf.Params, np.ndarray, np.ndarray]
) -> None:
    params, X, Y = net
    _assert_zero_lr_is_identity(nf.sgd(0.0), params, X, Y)
    _assert_zero_lr_is_identity(nf.adam(0.0), params, X, Y)


def _assert_zero_lr_is_identity(opt: nf.Optimizer[S], params: nf.Params, X: np.ndarray,
                                Y: np.ndarray) -> None:
    state = opt.init(params)
    for _ in range(2):
        updates, state = opt.update(nf.grads(params, X, Y), state, params)
        assert nf.apply_updates(params, updates) == params


@given(net=networks())
def test_a_small_step_lowers_the_loss(net: tuple[nf.Params, np.ndarray, np.ndarray]) -> None:
    params, X, Y = net
    g = nf.grads(params, X, Y)
    gnorm2 = sum(float((layer.W ** 2).sum() + (layer.b ** 2).sum()) for layer in g.layers)
    if gnorm2 < 1e-10:
        return
    lr = 1e-4 / max(1.0, gnorm2)
    assert nf.loss(nf.sgd_step(params, X, Y, lr), X, Y) < nf.loss(params, X, Y)


def _tutorial(seed: int, n: int = 1000) -> tuple[nf.Dataset, nf.Dataset, nf.Scaler, nf.Scaler]:
    data = nf.make_tutorial_data(np.random.default_rng(seed), n)
    tr, te = nf.split(data)
    xs, ys = nf.fit_scaler(tr.X), nf.fit_scaler(tr.Y)
    return (nf.Dataset(nf.transform(xs, tr.X), nf.transform(ys, tr.Y)),
            nf.Dataset(nf.transform(xs, te.X), nf.transform(ys, te.Y)), xs, ys)


def test_same_seed_gives_bit_identical_params_and_history() -> None:
    train, test, _, _ = _tutorial(0, 300)

    def run() -> nf.TrainResult:
        rng = np.random.default_rng(42)
        p = nf.init([2, 8, 3], ["relu", "linear"], rng)
        return nf.train(p, train, rng, epochs=5, batch_size=16, test=test)

    a, b = run(), run()
    assert a.params == b.params
    assert np.array_equal(a.history.train_loss, b.history.train_loss)
    assert a.history.test_loss is not None and b.history.test_loss is not None
    assert np.array_equal(a.history.test_loss, b.history.test_loss)


def test_float32_in_gives_float32_out_through_training() -> None:
    train, _, _, _ = _tutorial(0, 200)
    train32 = nf.Dataset(train.X.astype(np.float32), train.Y.astype(np.float32))
    rng = np.random.default_rng(0)
    p = nf.init([2, 8, 3], ["relu", "linear"], rng, dtype=np.float32)
    res = nf.train(p, train32, rng, epochs=2, batch_size=32)
    assert res.params.dtype == np.float32
    assert all(a.dtype == np.float32 for layer in res.state.mu for a in (layer.W, layer.b))


def test_training_learns_the_tutorial_task_and_predicts_in_raw_units() -> None:
    train, test, xs, ys = _tutorial(0, 3000)
    rng = np.random.default_rng(0)
    p = nf.init([2, 16, 16, 3], ["relu", "relu", "linear"], rng)
    res = nf.train(p, train, rng, epochs=40, batch_size=32, test=test)
    assert res.history.test_loss is not None
    assert res.history.test_loss[-1] < 1e-2 < res.history.test_loss[0] * 10
    pred = nf.predict(nf.Model(res.params, xs, ys), [[30, 70], [70, 30]])
    np.testing.assert_allclose(pred, [[100, -40, 40], [100, 40, 40]], atol=3.0)


def test_zero_epochs_returns_the_params_unchanged() -> None:
    train, _, _, _ = _tutorial(0, 100)
    p = nf.init([2, 3, 3], ["relu", "linear"], np.random.default_rng(0))
    res = nf.train(p, train, np.random.default_rng(0), epochs=0)
    assert res.params == p and len(res.history) == 0
