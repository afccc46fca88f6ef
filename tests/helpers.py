"""Strategies that build random networks and data for property tests."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import nnfunc as nf

ACT_NAMES = sorted(nf.ACTIVATIONS)


@st.composite
def networks(
    draw: st.DrawFn, *, dtype: Any = np.float64, max_width: int = 5, max_hidden: int = 3,
    max_outputs: int = 4, max_batch: int = 6,
) -> tuple[nf.Params, np.ndarray, np.ndarray]:
    """A random network (0 to ``max_hidden`` hidden layers, any activations, 1 to
    ``max_outputs`` outputs) with a batch ``(X, Y)`` of 1 to ``max_batch`` rows."""
    n_in = draw(st.integers(1, max_width))
    hidden = draw(st.lists(st.integers(1, max_width), min_size=0, max_size=max_hidden))
    n_out = draw(st.integers(1, max_outputs))
    sizes = [n_in, *hidden, n_out]
    acts = draw(st.lists(st.sampled_from(ACT_NAMES), min_size=len(sizes) - 1,
                         max_size=len(sizes) - 1))
    n = draw(st.integers(1, max_batch))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    params = nf.init(sizes, acts, rng, dtype=dtype, bias=0.1)
    X = rng.normal(size=(n, n_in)).astype(dtype)
    Y = rng.normal(size=(n, n_out)).astype(dtype)
    return params, X, Y


def min_distance_to_kinks(params: nf.Params, X: np.ndarray) -> float:
    """The smallest distance of any pre-activation to its activation's kinks (inf if none)."""
    A = X
    best = np.inf
    for layer in params.layers:
        Z = A @ layer.W + layer.b
        for k in layer.activation.kinks:
            best = min(best, float(np.min(np.abs(Z - k))))
        A = layer.activation.fn(Z)
    return float(best)
