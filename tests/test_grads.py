"""Step 7: grads is the exact gradient of the objective written in nnfunc.net."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nnfunc as nf
from tests.helpers import min_distance_to_kinks, networks


@settings(max_examples=200)
@given(net=networks(), l2=st.sampled_from([0.0, 0.3]))
def test_grads_match_central_differences(net: tuple[nf.Params, np.ndarray, np.ndarray],
                                         l2: float) -> None:
    params, X, Y = net
    assume(min_distance_to_kinks(params, X) > 2e-3)
    g = nf.grads(params, X, Y, l2=l2)
    # not trivially zero: a check that passes because both sides vanish proves nothing
    # (a network whose every ReLU path is closed is a true zero; draw another)
    assume(sum(float(np.abs(layer.W).sum()) for layer in g.layers) > 1e-8)
    assert nf.grad_check(params, X, Y, l2=l2) <= 1e-6


@given(net=networks())
def test_gradient_has_the_structure_of_params(net: tuple[nf.Params, np.ndarray, np.ndarray]
                                              ) -> None:
    params, X, Y = net
    g = nf.grads(params, X, Y)
    assert g.sizes == params.sizes
    assert g.activations == params.activations
    assert all(gl.W.dtype == pl.W.dtype for gl, pl in zip(g.layers, params.layers, strict=True))


def test_batch_gradient_is_the_mean_of_per_sample_gradients() -> None:
    rng = np.random.default_rng(1)
    params = nf.init([3, 5, 2], ["tanh", "linear"], rng)
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    whole = nf.grads(params, X, Y)
    parts = [nf.grads(params, X[i:i + 1], Y[i:i + 1]) for i in range(4)]
    for li, layer in enumerate(whole.layers):
        np.testing.assert_allclose(layer.W, np.mean([p.layers[li].W for p in parts], axis=0),
                                   rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer.b, np.mean([p.layers[li].b for p in parts], axis=0),
                                   rtol=1e-12, atol=1e-15)


def test_loss_is_the_mean_over_samples_and_outputs_without_a_half() -> None:
    params = nf.Params([nf.Layer(np.zeros((1, 2)), np.zeros(2), "linear")])
    X = np.ones((2, 1))
    Y = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert nf.loss(params, X, Y) == pytest.approx((1 + 4 + 9 + 16) / 4)


def test_objective_is_loss_plus_penalty() -> None:
    rng = np.random.default_rng(2)
    params = nf.init([2, 3, 1], ["relu", "linear"], rng)
    X, Y = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    w2 = sum(float((layer.W ** 2).sum()) for layer in params.layers)
    assert nf.penalty(params, 0.5) == pytest.approx(0.25 * w2)
    assert nf.objective(params, X, Y, l2=0.5) == pytest.approx(nf.loss(params, X, Y) + 0.25 * w2)


def test_grad_check_detects_a_wrong_derivative() -> None:
    wrong = nf.Activation("bad_tanh", np.tanh, lambda g, z, a: g * (1 - a), init="glorot")
    rng = np.random.default_rng(3)
    params = nf.init([2, 4, 1], [wrong, "linear"], rng)
    X, Y = rng.normal(size=(6, 2)), rng.normal(size=(6, 1))
    assert nf.grad_check(params, X, Y) > 1e-3
