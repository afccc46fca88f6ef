"""Steps 2 and 3: the data record, the tutorial's data, the train/test split, mini-batches.

Convention (used everywhere in nnfunc): samples are rows.  ``X: (n_samples, n_features)``,
``Y: (n_samples, n_outputs)``.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import numpy as np

from ._checks import (
    FloatArray,
    _describe,
    array_repr,
    arrays_equal,
    as_float_array,
    check_batch_size,
    check_float,
    check_int,
    check_rng,
    freeze,
    readonly_copy,
)
from .errors import DataError, DTypeError, ShapeError, expected

__all__ = ["Dataset", "batches", "make_tutorial_data", "split"]


def check_dataset(data: object, where: str, name: str = "data") -> Dataset:
    """Return ``data`` if it is a :class:`Dataset`; a tuple ``(X, Y)`` or a bare array is
    refused with the hint to wrap it."""
    if not isinstance(data, Dataset):
        raise DTypeError(expected(where, name, "an nnfunc.Dataset", _describe(data),
                                  "Wrap the arrays: nnfunc.Dataset(X, Y)."))
    return data


@attrs.frozen(slots=True, eq=False, repr=False)
class Dataset:
    """Inputs and targets, row for row.

    Attributes
    ----------
    X: (n_samples, n_features)
        Float inputs, finite.
    Y: (n_samples, n_outputs)
        Float targets, finite, same dtype as ``X``.  A 1-D target is refused: reshape
        it with ``y.reshape(-1, 1)``.

    The arrays are read-only copies of what was passed; equality compares them by value.
    """

    X: FloatArray
    Y: FloatArray

    def __attrs_post_init__(self) -> None:
        X = as_float_array(self.X, where="Dataset", name="X", ndim=2,
                           shape_doc="(n_samples, n_features)")
        Y = as_float_array(self.Y, where="Dataset", name="Y", ndim=2,
                           shape_doc="(n_samples, n_outputs)")
        if X.shape[0] != Y.shape[0]:
            raise ShapeError(expected("Dataset", "Y", f"{X.shape[0]} rows, one per row of X",
                                      f"{Y.shape[0]} rows"))
        if X.dtype != Y.dtype:
            raise DTypeError(expected("Dataset", "Y", f"the dtype of X ({X.dtype})", str(Y.dtype),
                                      "Cast one of them with .astype()."))
        object.__setattr__(self, "X", readonly_copy(X))
        object.__setattr__(self, "Y", readonly_copy(Y))

    @classmethod
    def _trusted(cls, X: FloatArray, Y: FloatArray) -> Dataset:
        """Wrap arrays nnfunc just made from a valid Dataset (no checks, no copies)."""
        ds = object.__new__(cls)
        object.__setattr__(ds, "X", freeze(X))
        object.__setattr__(ds, "Y", freeze(Y))
        return ds

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return arrays_equal(self.X, other.X) and arrays_equal(self.Y, other.Y)

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __repr__(self) -> str:
        return f"Dataset(X={array_repr(self.X)}, Y={array_repr(self.Y)})"


def make_tutorial_data(rng: np.random.Generator, n_samples: int = 10_000) -> Dataset:
    """Step 2: the tutorial's data set.

    ``a, b`` uniform on ``[0, 100)``; targets ``a + b``, ``a - b`` and ``|a - b|``.

    Returns
    -------
    Dataset with ``X: (n_samples, 2)`` and ``Y: (n_samples, 3)``, float64, raw units.
    """
    rng = check_rng(rng, where="make_tutorial_data")
    n = check_int(n_samples, where="make_tutorial_data", name="n_samples", low=1)
    X = rng.uniform(0.0, 100.0, size=(n, 2))
    a, b = X[:, 0], X[:, 1]
    Y = np.stack([a + b, a - b, np.abs(a - b)], axis=1)
    return Dataset._trusted(X, Y)


def split(
    data: Dataset, test_fraction: float = 0.3, rng: np.random.Generator | None = None
) -> tuple[Dataset, Dataset]:
    """Step 3: split into ``(train, test)``.

    Without ``rng`` the first rows are the training set, as in the tutorial; with ``rng``
    the rows are shuffled first.  ``n_test = round(n_samples * test_fraction)``, and both
    parts must be non-empty.
    """
    where = "split"
    data = check_dataset(data, where)
    frac = check_float(test_fraction, where=where, name="test_fraction", low=0.0, high=1.0)
    n = data.n_samples
    n_test = round(n * frac)
    if n_test < 1 or n_test >= n:
        raise DataError(expected(where, "data", f"enough rows to give both parts at least one row "
                                  f"at test_fraction={frac}", f"{n} rows",
                                  f"That gives {n_test} test row(s) and {n - n_test} training "
                                  "row(s); use more data or another test_fraction."))
    n_train = n - n_test
    if rng is None:
        order = np.arange(n)
    else:
        order = check_rng(rng, where=where).permutation(n)
    tr, te = order[:n_train], order[n_train:]
    return (Dataset._trusted(data.X[tr], data.Y[tr]), Dataset._trusted(data.X[te], data.Y[te]))


def batches(
    data: Dataset, batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[Dataset]:
    """Mini-batches covering every row once; shuffled when ``rng`` is given.

    The last batch holds the ``n_samples % batch_size`` rows left over, if any.  A
    ``batch_size`` larger than the data is refused with :class:`HyperParameterError` (use
    ``len(data)`` for full batch).  Arguments are checked when ``batches`` is called, not
    when the first batch is taken.
    """
    where = "batches"
    data = check_dataset(data, where)
    size = check_batch_size(batch_size, data.n_samples, where=where)
    order = np.arange(data.n_samples) if rng is None else check_rng(rng, where=where).permutation(
        data.n_samples)
    return _batch_iter(data, order, size)


def _batch_iter(data: Dataset, order: np.ndarray, size: int) -> Iterator[Dataset]:
    for start in range(0, len(order), size):
        idx = order[start:start + size]
        yield Dataset._trusted(data.X[idx], data.Y[idx])
