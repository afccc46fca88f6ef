"""summary: the table's figures match the formula sum((n_in + 1) * n_out) and the arrays."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnfunc as nf
from tests.helpers import networks


@given(net=networks(), n_samples=st.integers(1, 500))
def test_figures_match_the_formula_and_the_arrays(
    net: tuple[nf.Params, np.ndarray, np.ndarray], n_samples: int
) -> None:
    params = net[0]
    s = nf.summary(params, n_samples=n_samples)
    assert len(s.layers) == len(params.layers)
    for row, layer in zip(s.layers, params.layers, strict=True):
        assert (row.n_in, row.n_out) == layer.W.shape
        assert row.n_params == (layer.n_in + 1) * layer.n_out == layer.W.size + layer.b.size
        assert row.activation == layer.activation.name
    dims = params.sizes
    assert s.total == sum((dims[i] + 1) * dims[i + 1] for i in range(len(dims) - 1))
    assert s.total == nf.count_params(params)
    assert s.over_capacity == (s.total >= n_samples)
    text = str(s)
    # every row of the table shows its own figures, and the total closes it
    lines = text.splitlines()
    for row in s.layers:
        line = next(x for x in lines if re.match(rf"\s*{row.index}\s", x))
        assert f"({row.n_in}, {row.n_out})" in line and row.activation in line
        assert re.search(rf"\s{row.n_params}\s+= \({row.n_in} \+ 1\) \* {row.n_out}$", line)
    assert re.search(rf"^total\s+{s.total}\s+= sum\(\(n_in \+ 1\) \* n_out\)$", text, re.M)
    assert f"{s.total} parameters for {n_samples} training samples" in text


def test_the_tutorial_network_and_its_capacity_verdicts() -> None:
    params = nf.init([2, 16, 16, 3], ["relu", "relu", "linear"], np.random.default_rng(0))
    s = nf.summary(params, n_samples=7000)
    assert [r.n_params for r in s.layers] == [48, 272, 51] and s.total == 371
    assert "network 2-16-16-3, float64" in str(s)
    assert "fewer parameters than samples" in str(s)
    assert repr(s) == str(s)
    small_data = str(nf.summary(params, n_samples=371))
    assert "at least one parameter per sample" in small_data
    assert nf.summary(params).over_capacity is None
    assert "capacity" not in str(nf.summary(params))


def test_a_model_is_summarised_by_its_params_and_nothing_warns() -> None:
    rng = np.random.default_rng(0)
    params = nf.init([3, 2], ["linear"], rng, dtype=np.float32)
    model = nf.Model(params, nf.Scaler(np.zeros(3), np.ones(3)), nf.Scaler(np.zeros(2),
                                                                           np.ones(2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = nf.summary(model, n_samples=1)
    assert s == nf.summary(params, n_samples=1)
    assert s.total == 8 and s.dtype == "float32" and s.over_capacity


def test_bad_arguments_are_refused() -> None:
    params = nf.init([2, 1], ["linear"], np.random.default_rng(0))
    with pytest.raises(nf.DTypeError, match=r"summary: params must be an nnfunc\.Params"):
        nf.summary([1, 2])  # type: ignore[arg-type]
    with pytest.raises(nf.HyperParameterError, match=r"summary: n_samples must be an integer >= 1"):
        nf.summary(params, n_samples=0)
    with pytest.raises(nf.DTypeError, match=r"summary: n_samples must be an integer"):
        nf.summary(params, n_samples=2.5)  # type: ignore[arg-type]
