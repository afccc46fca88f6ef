"""Steps 2-4: the tutorial's data, the split, mini-batches and the scalers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnfunc as nf


def test_tutorial_data_has_the_tutorials_targets() -> None:
    data = nf.make_tutorial_data(np.random.default_rng(0))
    assert data.X.shape == (10_000, 2) and data.Y.shape == (10_000, 3)
    a, b = data.X[:, 0], data.X[:, 1]
    assert np.all((data.X >= 0) & (data.X < 100))
    np.testing.assert_array_equal(data.Y, np.stack([a + b, a - b, np.abs(a - b)], axis=1))


def test_same_seed_same_data() -> None:
    a = nf.make_tutorial_data(np.random.default_rng(7), 50)
    b = nf.make_tutorial_data(np.random.default_rng(7), 50)
    assert a == b


def test_unshuffled_split_takes_the_first_rows_for_training() -> None:
    data = nf.make_tutorial_data(np.random.default_rng(0), 100)
    train, test = nf.split(data)
    assert (len(train), len(test)) == (70, 30)
    np.testing.assert_array_equal(train.X, data.X[:70])
    np.testing.assert_array_equal(test.X, data.X[70:])


@given(n=st.integers(2, 300), frac=st.floats(0.05, 0.95), seed=st.integers(0, 1000))
def test_shuffled_split_is_a_partition(n: int, frac: float, seed: int) -> None:
    data = nf.make_tutorial_data(np.random.default_rng(seed), n)
    n_test = round(n * frac)
    if n_test < 1 or n_test >= n:
        with pytest.raises(nf.DataError, match="split: data must be enough rows"):
            nf.split(data, frac, np.random.default_rng(seed))
        return
    train, test = nf.split(data, frac, np.random.default_rng(seed))
    assert len(train) + len(test) == n and len(test) == n_test
    rows = np.vstack([train.X, test.X])
    assert np.array_equal(np.sort(rows, axis=0), np.sort(data.X, axis=0))


@given(n=st.integers(1, 60), size=st.integers(1, 60), seed=st.integers(0, 100))
def test_batches_cover_every_row_once(n: int, size: int, seed: int) -> None:
    data = nf.make_tutorial_data(np.random.default_rng(seed), n)
    if size > n:
        with pytest.raises(nf.HyperParameterError,
                           match=r"batches: batch_size must be at most len\(data\)"):
            list(nf.batches(data, size))
        return
    parts = list(nf.batches(data, size, np.random.default_rng(seed)))
    assert all(len(p) == size for p in parts[:-1]) and 1 <= len(parts[-1]) <= size
    rows = np.vstack([p.X for p in parts])
    assert np.array_equal(np.sort(rows, axis=0), np.sort(data.X, axis=0))


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@given(X=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=8),
                    elements=finite))
def test_inverse_transform_undoes_transform(X: np.ndarray) -> None:
    with np.errstate(under="ignore"):
        std = X.std(axis=0)
    if not np.all(std > 1e-6 * (1 + np.abs(X).max())):
        return
    s = nf.fit_scaler(X)
    Z = nf.transform(s, X)
    back = nf.inverse_transform(s, Z)
    with np.errstate(under="ignore"):  # the comparison itself, not nnfunc
        np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-8)
        np.testing.assert_allclose(back, X, rtol=1e-9, atol=1e-9 * (1 + np.abs(X).max()))


def test_scaler_is_fit_on_training_rows_only() -> None:
    data = nf.make_tutorial_data(np.random.default_rng(0), 1000)
    train, test = nf.split(data)
    s = nf.fit_scaler(train.X)
    np.testing.assert_array_equal(s.mean, train.X.mean(axis=0))
    assert not np.array_equal(s.mean, data.X.mean(axis=0))
    # and the test set is transformed with the training statistics, not its own
    np.testing.assert_allclose(nf.transform(s, test.X), (test.X - s.mean) / s.std)


def test_constant_column_is_refused_with_its_index() -> None:
    X = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    with pytest.raises(nf.DataError, match=r"fit_scaler: X column 1 must be non-constant"):
        nf.fit_scaler(X)


def test_scaler_keeps_float32() -> None:
    X = np.random.default_rng(0).normal(size=(10, 2)).astype(np.float32)
    s = nf.fit_scaler(X)
    assert nf.transform(s, X).dtype == np.float32
    assert nf.inverse_transform(s, X).dtype == np.float32
