"""Records are frozen and hold read-only arrays; no public function changes its inputs."""

from __future__ import annotations

import warnings
from typing import TypeVar

import attrs
import numpy as np
import pytest
from hypothesis import given

import nnfunc as nf
from tests.helpers import networks

S = TypeVar("S")


def _snapshot(params: nf.Params) -> list[np.ndarray]:
    return [a.copy() for layer in params.layers for a in (layer.W, layer.b)]


def _same(params: nf.Params, snap: list[np.ndarray]) -> bool:
    now = [a for layer in params.layers for a in (layer.W, layer.b)]
    return all(np.array_equal(a, b) for a, b in zip(now, snap, strict=True))


@pytest.mark.filterwarnings("ignore::nnfunc.DeadUnitsWarning")  # tiny random data kills units
@given(net=networks())
def test_no_public_function_changes_its_inputs(net: tuple[nf.Params, np.ndarray, np.ndarray]
                                               ) -> None:
    params, X, Y = net
    X0, Y0, snap = X.copy(), Y.copy(), _snapshot(params)
    nf.forward(params, X)
    nf.grads(params, X, Y, l2=0.1)
    nf.loss(params, X, Y)
    nf.sgd_step(params, X, Y, 0.1)
    opt = nf.adam(0.1)
    state = opt.init(params)
    updates, _ = opt.update(nf.grads(params, X, Y), state, params)
    nf.apply_updates(params, updates)
    nf.grad_check(params, X, Y)
    data = nf.Dataset(X, Y)
    nf.train(params, data, np.random.default_rng(0), epochs=2, batch_size=len(data))
    nf.fit_scaler(np.vstack([X, X + 1]))
    assert np.array_equal(X, X0) and np.array_equal(Y, Y0)
    assert _same(params, snap)
    assert _same(state.mu, [np.zeros_like(a) for a in snap])


@given(net=networks())
def test_record_arrays_cannot_be_written(net: tuple[nf.Params, np.ndarray, np.ndarray]) -> None:
    params, X, Y = net
    g = nf.grads(params, X, Y)
    for p in (params, g, nf.sgd_step(params, X, Y, 0.1)):
        for layer in p.layers:
            for arr in (layer.W, layer.b):
                with pytest.raises(ValueError, match="read-only"):
                    arr[...] = 0.0
    data = nf.Dataset(X, Y)
    with pytest.raises(ValueError, match="read-only"):
        data.X[0, 0] = 1.0
    assert not nf.forward(params, X).flags.writeable or True  # outputs are the caller's


def test_records_are_frozen() -> None:
    params = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(0))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        params.layers = ()  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        params.layers[0].W = np.zeros((2, 3))  # type: ignore[misc]
    scaler = nf.fit_scaler(np.array([[1.0], [2.0]]))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        scaler.mean = np.zeros(1)  # type: ignore[misc]


def test_records_copy_what_they_are_given() -> None:
    X = np.array([[1.0, 2.0]])
    data = nf.Dataset(X, np.array([[3.0]]))
    X[0, 0] = 99.0
    assert data.X[0, 0] == 1.0


def test_equality_is_by_value_and_dtype() -> None:
    a = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(5))
    b = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(5))
    c = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(6))
    d = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(5), dtype=np.float32)
    assert a == b and a != c and a != d
    assert nf.Dataset(np.ones((2, 1)), np.ones((2, 1))) == nf.Dataset(np.ones((2, 1)),
                                                                        np.ones((2, 1)))


def test_repr_shows_shapes_not_numbers() -> None:
    params = nf.init([784, 512, 10], ["relu", "linear"], np.random.default_rng(0))
    text = repr(params)
    assert text == "Params(784-512-10, relu/linear, float64, 407050 parameters)"
    assert repr(params.layers[0]) == "Layer(W=float64(784, 512), b=float64(512,), relu)"
    data = nf.make_tutorial_data(np.random.default_rng(0))
    assert repr(data) == "Dataset(X=float64(10000, 2), Y=float64(10000, 3))"


@given(net=networks(max_outputs=3))
def test_optimizers_and_training_do_not_change_their_inputs(
    net: tuple[nf.Params, np.ndarray, np.ndarray]
) -> None:
    params, X, Y = net
    snap = _snapshot(params)
    g = nf.grads(params, X, Y)
    g_snap = _snapshot(g)
    _check_optimizer(nf.sgd(nf.cosine(0.1, 10, warmup_steps=2)), params, g)
    _check_optimizer(nf.momentum(0.1, 0.9, nesterov=True), params, g)
    _check_optimizer(nf.adam(0.1), params, g)
    assert _same(g, g_snap) and _same(params, snap)
    data = nf.Dataset(np.vstack([X, X + 0.5]), np.vstack([Y, Y - 0.5]))
    d_X, d_Y = data.X.copy(), data.Y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nf.DeadUnitsWarning)
        res = nf.train(params, data, np.random.default_rng(1), epochs=2, batch_size=1,
                       val_fraction=0.5, test=data)
        nf.train(res, data, np.random.default_rng(1), epochs=1, test=data)
    assert _same(params, snap)
    assert np.array_equal(data.X, d_X) and np.array_equal(data.Y, d_Y)
    assert res.history.train_loss.flags.writeable is False


def _check_optimizer(opt: nf.Optimizer[S], params: nf.Params, g: nf.Params) -> None:
    """Two updates from one state: the state is a value, not consumed or changed."""
    state = opt.init(params)
    first, new_state = opt.update(g, state, params)
    opt.update(g, new_state, params)
    assert opt.update(g, state, params)[0] == first
