"""Step 5: fully connected layers, their initialisation, and counting parameters.

A layer computes ``A = f(Z)``, ``Z = X @ W + b`` with ``W: (n_in, n_out)`` and
``b: (n_out,)`` (samples are rows).  :class:`Params` is a tuple of layers whose shapes
chain: layer ``l``'s ``n_in`` is layer ``l-1``'s ``n_out``.  A gradient has exactly the same
structure, so :func:`nnfunc.grads` returns a ``Params`` too.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import numpy as np
from numpy.typing import DTypeLike

from ._checks import (
    FLOAT_DTYPES,
    FloatArray,
    _describe,
    array_repr,
    arrays_equal,
    as_float_array,
    check_float,
    check_int,
    check_rng,
    freeze,
    readonly_copy,
)
from .activations import Activation, get_activation
from .errors import CapacityWarning, DTypeError, HyperParameterError, ShapeError, expected

__all__ = ["Layer", "Params", "check_capacity", "count_params", "init", "n_params"]


def check_params(params: object, where: str, name: str = "params") -> Params:
    """Return ``params`` if it is a :class:`Params`, else raise :class:`DTypeError` (with a
    hint for the usual stand-ins: a Layer, a tuple of layers, a Model)."""
    if isinstance(params, Params):
        return params
    hint = "Make one with nnfunc.init(sizes, activations, rng)."
    if isinstance(params, Layer):
        hint = "Wrap the layer: nnfunc.Params((layer,))."
    elif isinstance(params, (tuple, list)) and params and all(
            isinstance(x, Layer) for x in params):
        hint = "Wrap the layers: nnfunc.Params(layers)."
    elif hasattr(params, "params") and isinstance(getattr(params, "params", None), Params):
        hint = f"Pass {name}.params, or use nnfunc.predict for a Model."
    raise DTypeError(expected(where, name, "an nnfunc.Params", _describe(params), hint))


def _check_layer(W: object, b: object, where: str) -> tuple[FloatArray, FloatArray]:
    W_ = as_float_array(W, where=where, name="W", ndim=2, shape_doc="(n_in, n_out)")
    b_ = as_float_array(b, where=where, name="b", ndim=1, shape_doc="(n_out,)")
    if b_.shape[0] != W_.shape[1]:
        raise ShapeError(expected(where, "b", f"shape ({W_.shape[1]},), one bias per column of W",
                                  f"shape {b_.shape}"))
    if b_.dtype != W_.dtype:
        raise DTypeError(expected(where, "b", f"dtype {W_.dtype}, like W", str(b_.dtype)))
    return W_, b_


def _to_activation(spec: str | Activation) -> Activation:
    return get_activation(spec, where="Layer", name="activation")


@attrs.frozen(slots=True, eq=False, repr=False)
class Layer:
    """One fully connected layer.

    Attributes
    ----------
    W: (n_in, n_out)
        Weights.
    b: (n_out,)
        Biases.
    activation:
        An :class:`~nnfunc.Activation` (a registered name is accepted and looked up).
    """

    W: FloatArray
    b: FloatArray
    activation: Activation = attrs.field(converter=_to_activation)

    def __attrs_post_init__(self) -> None:
        W, b = _check_layer(self.W, self.b, "Layer")
        object.__setattr__(self, "W", readonly_copy(W))
        object.__setattr__(self, "b", readonly_copy(b))

    @classmethod
    def _trusted(cls, W: FloatArray, b: FloatArray, activation: Activation) -> Layer:
        """Wrap arrays nnfunc just made (no checks, no copies; they become read-only)."""
        layer = object.__new__(cls)
        object.__setattr__(layer, "W", freeze(W))
        object.__setattr__(layer, "b", freeze(b))
        object.__setattr__(layer, "activation", activation)
        return layer

    @property
    def n_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.W.shape[1])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return (self.activation == other.activation and arrays_equal(self.W, other.W)
                and arrays_equal(self.b, other.b))

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __repr__(self) -> str:
        return f"Layer(W={array_repr(self.W)}, b={array_repr(self.b)}, {self.activation.name})"


def _to_layers(layers: object) -> tuple[Layer, ...]:
    if isinstance(layers, Layer):
        raise DTypeError(expected("Params", "layers", "a tuple of nnfunc.Layer", "one Layer",
                                  "Wrap it in a tuple: nnfunc.Params((layer,))."))
    if not isinstance(layers, (tuple, list)):
        raise DTypeError(expected("Params", "layers", "a tuple of nnfunc.Layer",
                                  _describe(layers)))
    for i, x in enumerate(layers):
        if not isinstance(x, Layer):
            raise DTypeError(expected("Params", f"layers[{i}]", "an nnfunc.Layer", _describe(x),
                                      "Build it with nnfunc.Layer(W, b, activation)."))
    return tuple(layers)


@attrs.frozen(slots=True, eq=False, repr=False)
class Params:
    """The parameters of a network: ``layers[0]`` takes the input, ``layers[-1]`` gives the output.

    Invariants (checked at construction): at least one layer; every layer has the same
    float dtype; ``layers[l].W.shape[0] == layers[l-1].W.shape[1]``.
    """

    layers: tuple[Layer, ...] = attrs.field(converter=_to_layers)

    def __attrs_post_init__(self) -> None:
        if not self.layers:
            raise ShapeError(expected("Params", "layers", "at least one layer", "none"))
        dtype = self.layers[0].W.dtype
        for i, layer in enumerate(self.layers):
            if layer.W.dtype != dtype:
                raise DTypeError(expected(f"Params layer {i}", "W", f"dtype {dtype}, like layer 0",
                                          str(layer.W.dtype)))
            if i and layer.n_in != self.layers[i - 1].n_out:
                raise ShapeError(expected(
                    f"Params layer {i}", "W", f"{self.layers[i - 1].n_out} rows to chain from "
                    f"layer {i - 1} (n_out={self.layers[i - 1].n_out})", f"shape {layer.W.shape}"))

    @classmethod
    def _trusted(cls, layers: tuple[Layer, ...]) -> Params:
        p = object.__new__(cls)
        object.__setattr__(p, "layers", layers)
        return p

    @property
    def sizes(self) -> tuple[int, ...]:
        """``(n_features, n_hidden_1, ..., n_outputs)``."""
        return (self.layers[0].n_in, *(layer.n_out for layer in self.layers))

    @property
    def activations(self) -> tuple[str, ...]:
        return tuple(layer.activation.name for layer in self.layers)

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.layers[0].W.dtype

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __getitem__(self, i: int) -> Layer:
        return self.layers[i]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Params):
            return NotImplemented
        return len(self.layers) == len(other.layers) and all(
            a == b for a, b in zip(self.layers, other.layers, strict=True))

    __hash__ = None  # type: ignore[assignment]  # holds arrays

    def __repr__(self) -> str:
        arch = "-".join(map(str, self.sizes))
        acts = "/".join(self.activations)
        return f"Params({arch}, {acts}, {self.dtype}, {count_params(self)} parameters)"


def _check_sizes(sizes: object, where: str) -> tuple[int, ...]:
    if isinstance(sizes, np.ndarray) and sizes.ndim == 1 and sizes.dtype.kind in "iu":
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise DTypeError(expected(where, "sizes", "a sequence of layer widths like (2, 4, 4, 3)",
                                  type(sizes).__name__))
    if len(sizes) < 2:
        raise ShapeError(expected(where, "sizes", "at least 2 widths (inputs and outputs)",
                                  repr(tuple(sizes))))
    return tuple(check_int(s, where=where, name=f"sizes[{i}]", low=1) for i, s in enumerate(sizes))


def init(
    sizes: Sequence[int],
    activations: Sequence[str | Activation],
    rng: np.random.Generator,
    *,
    dtype: DTypeLike = np.float64,
    bias: float = 0.0,
) -> Params:
    """Step 5: a new network with random weights.

    Parameters
    ----------
    sizes:
        ``(n_features, n_hidden_1, ..., n_outputs)``; ``len(sizes) - 1`` layers.  Two
        entries give a network with no hidden layer (a linear model, with ``"linear"``).
    activations:
        One per layer, names from :data:`nnfunc.ACTIVATIONS` or :class:`Activation` records.
    rng:
        The only source of randomness: the same seed gives bit-identical params.
    dtype:
        ``np.float64`` (default) or ``np.float32``.
    bias:
        Every bias starts at this value (0 by default).

    Weights: He normal ``N(0, 2 / n_in)`` for the ReLU family, Glorot uniform
    ``U(-r, r)``, ``r = sqrt(6 / (n_in + n_out))``, for the others.
    """
    where = "init"
    dims = _check_sizes(sizes, where)
    if isinstance(activations, (str, bytes)) or not isinstance(activations, Sequence):
        raise DTypeError(expected(where, "activations", "a sequence with one activation per layer",
                                  repr(activations)))
    if len(activations) != len(dims) - 1:
        raise ShapeError(expected(where, "activations", f"{len(dims) - 1} entries, one per layer",
                                  f"{len(activations)}"))
    acts = [get_activation(a, where=f"{where} layer {i}", name="activation")
            for i, a in enumerate(activations)]
    rng = check_rng(rng, where=where)
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise DTypeError(expected(where, "dtype", "np.float32 or np.float64",
                                  _describe(dtype))) from None
    if dt not in FLOAT_DTYPES:
        raise DTypeError(expected(where, "dtype", "np.float32 or np.float64", str(dt)))
    bias = check_float(bias, where=where, name="bias")
    if abs(bias) > float(np.finfo(dt).max):
        raise HyperParameterError(expected(where, "bias", f"representable in {dt}",
                                           repr(bias)))
    layers = []
    for n_in, n_out, act in zip(dims[:-1], dims[1:], acts, strict=True):
        if act.init == "he":
            W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))
        else:
            r = np.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-r, r, size=(n_in, n_out))
        with np.errstate(under="ignore"):  # float32: tiny values round to 0, rightly
            b = np.full(n_out, bias, dtype=dt)
            layers.append(Layer._trusted(W.astype(dt, copy=False), b, act))
    return Params._trusted(tuple(layers))


def n_params(sizes: Sequence[int]) -> int:
    """The formula: ``sum((n_in + 1) * n_out)`` over layers (weights plus one bias per unit)."""
    dims = _check_sizes(sizes, "n_params")
    return sum((a + 1) * b for a, b in itertools.pairwise(dims))


def count_params(params: Params) -> int:
    """Counting: the number of entries in every ``W`` and ``b``."""
    params = check_params(params, "count_params")
    return sum(int(layer.W.size + layer.b.size) for layer in params.layers)


def check_capacity(params: Params, n_samples: int) -> int:
    """The tutorial's capacity check; returns the parameter count.

    Warns :class:`CapacityWarning` when the network has at least as many parameters as
    there are training samples: it can then memorise the data instead of learning.
    """
    p = check_params(params, "check_capacity")
    n = check_int(n_samples, where="check_capacity", name="n_samples", low=1)
    count = count_params(p)
    if count >= n:
        warnings.warn(
            f"The network has {count} parameters for {n} training samples: at least one "
            "parameter per sample, so it can memorise rather than generalise. Use a smaller "
            "network or more data.", CapacityWarning, stacklevel=2)
    return count
