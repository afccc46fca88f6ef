"""Bad input meets a clear, typed error that names the argument."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import nnfunc as nf

RNG = np.random.default_rng(0)
P = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(0))
X = np.ones((4, 2))
Y = np.ones((4, 1))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nf.Dataset(np.ones(3), np.ones((3, 1))), nf.ShapeError,
         r"Dataset: X must be a 2-D array \(n_samples, n_features\); got shape \(3,\)"),
        (lambda: nf.Dataset(np.ones((3, 1)), np.ones(3)), nf.ShapeError,
         r"Dataset: Y must be a 2-D .* Use Y.reshape\(-1, 1\)"),
        (lambda: nf.Dataset(np.ones((3, 1)), np.ones((4, 1))), nf.ShapeError,
         r"Dataset: Y must be 3 rows, one per row of X; got 4 rows"),
        (lambda: nf.Dataset(np.array([[np.nan]]), np.ones((1, 1))), nf.NonFiniteError,
         r"Dataset: X must be finite .* at index \(0, 0\)"),
        (lambda: nf.Dataset(np.ones((0, 2)), np.ones((0, 1))), nf.ShapeError,
         r"Dataset: X must be non-empty"),
        (lambda: nf.Dataset(np.ones((3, 1), dtype=int), np.ones((3, 1))), nf.DTypeError,
         r"Dataset: X must be a float32 or float64 array; got dtype int64"),
        (lambda: nf.Dataset("abc", np.ones((3, 1))), nf.DTypeError,  # type: ignore[arg-type]
         r"Dataset: X must be a float NumPy array or a list of numbers"),
        (lambda: nf.init([2, 3, 1], ["relu", "softplus"], RNG), nf.UnknownActivationError,
         r"init layer 1: activation must be one of leaky_relu, linear, relu, sigmoid, tanh"),
        (lambda: nf.init([2, 0, 1], ["relu", "linear"], RNG), nf.HyperParameterError,
         r"init: sizes\[1\] must be an integer >= 1; got 0"),
        (lambda: nf.init([2, 3, 1], ["relu"], RNG), nf.ShapeError,
         r"init: activations must be 2 entries, one per layer; got 1"),
        (lambda: nf.init([2, 3, 1], ["relu", "linear"], 0), nf.DTypeError,  # type: ignore[arg-type]
         r"init: rng must be a numpy.random.Generator; got int"),
        (lambda: nf.forward(P, np.ones((4, 3))), nf.ShapeError,
         r"forward: X must be 2 columns \(layer 0 has n_in=2\); got 3 columns"),
        (lambda: nf.forward(P, np.ones((4, 2), dtype=np.float32)), nf.DTypeError,
         r"forward: X must be dtype float64, like the params; got float32"),
        (lambda: nf.grads(P, X, np.ones((3, 1))), nf.ShapeError,
         r"grads: Y must be shape \(4, 1\)"),
        (lambda: nf.sgd_step(P, X, Y, -0.1), nf.HyperParameterError,
         r"sgd_step: lr must be a finite number in \[0.0, inf\); got -0.1"),
        (lambda: nf.sgd_step(P, X, Y, float("nan")), nf.HyperParameterError,
         r"sgd_step: lr must be a finite number"),
        (lambda: nf.train(P, nf.Dataset(X, Y), RNG, epochs=-1), nf.HyperParameterError,
         r"train: epochs must be an integer >= 0; got -1"),
        (lambda: nf.train(P, nf.Dataset(X, Y), RNG, batch_size=5), nf.ShapeError,
         r"train: batch_size must be at most len\(data\) = 4; got 5. Use batch_size=4"),
        (lambda: nf.split(nf.Dataset(X, Y), 1.5), nf.HyperParameterError,
         r"split: test_fraction must be a finite number in \(0.0, 1.0\); got 1.5"),
        (lambda: nf.Params((nf.Layer(np.ones((2, 3)), np.ones(3), "relu"),
                            nf.Layer(np.ones((4, 1)), np.ones(1), "linear"))), nf.ShapeError,
         r"Params layer 1: W must be 3 rows to chain from layer 0"),
        (lambda: nf.Layer(np.ones((2, 3)), np.ones(2), "relu"), nf.ShapeError,
         r"Layer: b must be shape \(3,\), one bias per column of W; got shape \(2,\)"),
    ],
)
def test_bad_input_raises_a_typed_error_naming_the_argument(
    call: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        call()


def test_errors_are_also_builtin_errors() -> None:
    assert issubclass(nf.ShapeError, ValueError) and issubclass(nf.DTypeError, TypeError)
    assert issubclass(nf.HyperParameterError, ValueError)
    assert issubclass(nf.DivergenceError, ArithmeticError)
    for cls in (nf.ShapeError, nf.DTypeError, nf.NonFiniteError, nf.DivergenceError):
        assert issubclass(cls, nf.NnfuncError)


def test_a_diverging_run_raises_and_keeps_the_last_finite_params() -> None:
    rng = np.random.default_rng(0)
    data = nf.Dataset(rng.normal(size=(64, 2)) * 10, rng.normal(size=(64, 1)) * 10)
    p = nf.init([2, 8, 1], ["relu", "linear"], rng)
    with pytest.raises(nf.DivergenceError, match=r"train: .* epoch") as info:
        with np.errstate(all="ignore"):
            nf.train(p, data, rng, epochs=50, batch_size=64, optimizer=nf.sgd(10.0))
    last = info.value.last_finite
    assert isinstance(last, nf.Params)
    assert all(np.isfinite(layer.W).all() for layer in last.layers)
