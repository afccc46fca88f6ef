"""Fuzz every public entry point with malformed input: only nnfunc's typed errors come out.

Each test draws one malformed argument at a time (every other argument valid) from the
strategies below -- wrong ndim, wrong rows or columns, empty arrays, NaN/inf, integer,
boolean, complex, object, string and float16 arrays, the other float dtype, non-arrays
(None, str, bytes, numbers, dicts, a Dataset, Params...), lists of booleans/strings/None,
ragged lists, out-of-range and non-numeric hyper-parameters, generators that are not a
``numpy.random.Generator``, unknown activation names -- and asserts that exactly the
expected nnfunc error is raised, with a message that starts with the function and names
the argument: never an ``IndexError``, ``AttributeError``, ``FloatingPointError`` or bare
NumPy error.  A second group feeds *finite but extreme* values (1e308, subnormals) and
asserts a finite result or :class:`nnfunc.NonFiniteError`, under ``np.errstate(all="raise")``.

``NNFUNC_FUZZ_REPORT=1 pytest tests/test_fuzz.py`` prints how many inputs each test tried;
``NNFUNC_FUZZ_EXAMPLES=5000`` runs 25 times deeper than the default 200 per function.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, cast

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nnfunc as nf
from nnfunc._checks import SCALE_LIMIT, warn_if_unscaled

Case = tuple[str, object, type[nf.NnfuncError]]
"""(argument name, malformed value, the error it must raise)."""

TRIED: Counter[str] = Counter()
N = int(os.environ.get("NNFUNC_FUZZ_EXAMPLES", "200"))
"""Malformed inputs per function (hypothesis max_examples); set NNFUNC_FUZZ_EXAMPLES for a
deeper run."""

RNG0 = np.random.default_rng(0)
P = nf.init([2, 3, 1], ["tanh", "linear"], np.random.default_rng(0))
P32 = nf.init([2, 3, 1], ["tanh", "linear"], np.random.default_rng(0), dtype=np.float32)
X = np.random.default_rng(1).normal(size=(4, 2))
Y = np.random.default_rng(2).normal(size=(4, 1))
DATA = nf.Dataset(X, Y)
SCALER = nf.fit_scaler(X)
MODEL = nf.Model(P, SCALER, nf.fit_scaler(Y))


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if os.environ.get("NNFUNC_FUZZ_REPORT"):
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        lines = [f"{name:>28}: {count}" for name, count in sorted(TRIED.items())]
        text = "\n".join(["", "fuzz: inputs tried per function", *lines,
                          f"{'total':>28}: {sum(TRIED.values())}"])
        if capture is not None:
            with capture.global_and_fixture_disabled():
                print(text)


def expect(call: Callable[[], object], case: Case, where: str, counter: str) -> None:
    """``call()`` raises exactly ``case``'s error class, naming ``where`` and the argument."""
    name, _, error = case
    TRIED[counter] += 1
    pattern = rf"^(?:{where})\b[^:]*: {re.escape(name)}(?!\w)"
    with pytest.raises(nf.NnfuncError, match=pattern) as info:
        call()
    assert type(info.value) is error, f"{type(info.value).__name__}: {info.value}"


# --- strategies for malformed values ------------------------------------------------------

NOT_ARRAYS: list[object] = [
    None, "abc", "", b"\x00\x01", 3, 2.5, True, 1j, {"X": 1}, {1, 2}, object(), range(3),
    DATA, P, SCALER, RNG0, np.float64(1.0), iter([1.0]),
]
BAD_DTYPES: list[Any] = [np.int8, np.int64, np.uint8, np.bool_, np.complex128, np.float16,
                         object, "U3", "S2", np.longdouble, ">f8"]


def _named(name: str, strategy: st.SearchStrategy[tuple[object, type[nf.NnfuncError]]]
           ) -> st.SearchStrategy[Case]:
    return strategy.map(lambda pair: (name, pair[0], pair[1]))


@st.composite
def bad_arrays(draw: st.DrawFn, *, ndim: int, shape: tuple[int | None, ...],
               dtype: Any = np.float64, other_float_refused: bool = True
               ) -> tuple[object, type[nf.NnfuncError]]:
    """An array argument that must be ``ndim``-D; ``shape`` gives the required length of each
    axis (``None``: any length >= 1); ``dtype`` the float dtype it must have."""
    good = tuple(draw(st.integers(1, 5)) if s is None else s for s in shape)
    kinds = ["ndim", "empty", "nonfinite", "dtype", "not_array", "bad_list", "ragged"]
    if any(s is not None for s in shape):
        kinds.append("length")
    if other_float_refused:
        kinds.append("other_float")
    kind = draw(st.sampled_from(kinds))
    if kind == "ndim":
        nd = draw(st.sampled_from([d for d in (0, 1, 2, 3) if d != ndim]))
        return np.ones(draw(hnp.array_shapes(min_dims=nd, max_dims=nd, max_side=3)), dtype
                       ) if nd else np.array(1.0, dtype=dtype), nf.ShapeError
    if kind == "empty":
        axis = draw(st.integers(0, ndim - 1))
        empty = tuple(0 if i == axis else g for i, g in enumerate(good))
        # a zero-width axis that must match a non-zero width is a ShapeError either way
        return np.ones(empty, dtype=dtype), nf.ShapeError
    if kind == "length":
        axis = draw(st.sampled_from([i for i, s in enumerate(shape) if s is not None]))
        wrong = draw(st.integers(1, 7).filter(lambda v: v != shape[axis]))
        return np.ones(tuple(wrong if i == axis else g for i, g in enumerate(good)), dtype
                       ), nf.ShapeError
    if kind == "nonfinite":
        arr = np.ones(good, dtype=dtype)
        idx = tuple(draw(st.integers(0, g - 1)) for g in good)
        arr[idx] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return arr, nf.NonFiniteError
    if kind == "dtype":
        return np.ones(good).astype(draw(st.sampled_from(BAD_DTYPES))), nf.DTypeError
    if kind == "other_float":
        other = np.float32 if np.dtype(dtype) == np.float64 else np.float64
        return np.ones(good, dtype=other), nf.DTypeError
    if kind == "not_array":
        return draw(st.sampled_from(NOT_ARRAYS)), nf.DTypeError
    if kind == "bad_list":
        item = draw(st.sampled_from([True, "1.0", None, 1j, "x"]))
        flat = [item] * int(np.prod(good))
        return np.array(flat, dtype=object).reshape(good).tolist(), nf.DTypeError
    # ragged: rows of different lengths (needs at least 2 dimensions to be ragged)
    if ndim == 1:
        return [[1.0], [1.0, 2.0]], nf.ShapeError
    rows = draw(st.integers(2, 4))
    return [[1.0] * (i + 1) for i in range(rows)], nf.ShapeError


@st.composite
def bad_floats(draw: st.DrawFn, *, low: float, low_open: bool = True, high: float = np.inf,
               high_open: bool = True) -> tuple[object, type[nf.NnfuncError]]:
    kind = draw(st.sampled_from(["type", "range"]))
    if kind == "type":
        return draw(st.sampled_from(
            [None, "0.1", b"1", [0.1], (0.1,), np.array([0.1]), np.array(0.1), 1j, True,
             np.bool_(True), {}, DATA])), nf.DTypeError
    below = st.floats(max_value=low, exclude_max=not low_open, allow_nan=False,
                      allow_infinity=False) if np.isfinite(low) else st.nothing()
    above = st.floats(min_value=high, exclude_min=not high_open, allow_nan=False,
                      allow_infinity=False) if np.isfinite(high) else st.nothing()
    return draw(st.one_of(
        below, above, st.sampled_from([np.nan, np.inf, -np.inf, 10**400, -(10**400)]),
        st.floats(max_value=low, exclude_max=not low_open, allow_nan=False,
                  allow_infinity=False, width=32).map(np.float32)
        if np.isfinite(low) else st.nothing(),
    )), nf.HyperParameterError


@st.composite
def bad_ints(draw: st.DrawFn, *, low: int, high: int | None = None
             ) -> tuple[object, type[nf.NnfuncError]]:
    kind = draw(st.sampled_from(["type", "range"]))
    if kind == "type":
        return draw(st.sampled_from(
            [None, "3", 3.0, 1.5, True, False, np.float64(3), np.bool_(True), [3], np.array(3),
             1j, DATA])), nf.DTypeError
    out = st.integers(max_value=low - 1)
    if high is not None:
        out = out | st.integers(min_value=high + 1)
    return draw(out | out.filter(lambda v: abs(v) < 2**62).map(np.int64)), nf.HyperParameterError


BAD_RNGS = st.sampled_from(
    [None, 0, 42, "seed", 1.5, np.random.RandomState(0), random.Random(0),
     np.random.default_rng(0).bit_generator, np.random.SeedSequence(0), DATA]
).map(lambda r: (r, nf.DTypeError))
BAD_OPTIONAL_RNGS = BAD_RNGS.filter(lambda pair: pair[0] is not None)

STAND_INS: list[object] = [None, "params", 3, 2.5, P.layers[0], P.layers, list(P.layers), MODEL,
                           DATA, X, {"W": X}, (X, Y), [], SCALER, RNG0, nf.relu]


def not_a(kind: type) -> st.SearchStrategy[tuple[object, type[nf.NnfuncError]]]:
    """Records and values that are not an instance of ``kind``: a DTypeError each."""
    return st.sampled_from([v for v in STAND_INS if not isinstance(v, kind)]).map(
        lambda v: (v, nf.DTypeError))


BAD_PARAMS = not_a(nf.Params)

UNKNOWN_NAMES = st.text(max_size=12).filter(lambda s: s not in nf.ACTIVATIONS) | st.sampled_from(
    ["ReLU", "Sigmoid", " tanh", "softmax", "leaky-relu", "identity", "gelu"])
BAD_ACTIVATIONS = st.one_of(
    UNKNOWN_NAMES.map(lambda s: (s, nf.UnknownActivationError)),
    st.sampled_from([None, 3, np.tanh, b"relu", ["relu"], DATA, P]).map(
        lambda a: (a, nf.DTypeError)),
)


def fuzz(n: int = 200) -> Callable[[Callable[..., None]], Callable[..., None]]:
    return settings(max_examples=max(1, n * N // 200), deadline=None)


# --- step 2, 3: data ---------------------------------------------------------------------


@fuzz()
@given(case=st.one_of(_named("rng", BAD_RNGS),
                      _named("n_samples", bad_ints(low=1))))
def test_fuzz_make_tutorial_data(case: Case) -> None:
    args: dict[str, Any] = {"rng": RNG0, "n_samples": 5, case[0]: case[1]}
    expect(lambda: nf.make_tutorial_data(**args), case, "make_tutorial_data",
           "make_tutorial_data")


@fuzz()
@given(case=st.one_of(
    _named("X", bad_arrays(ndim=2, shape=(None, None), other_float_refused=False)),
    _named("Y", bad_arrays(ndim=2, shape=(4, None))),
))
def test_fuzz_dataset(case: Case) -> None:
    args: dict[str, Any] = {"X": X, "Y": Y}
    args[case[0]] = case[1]
    if case[0] == "X" and isinstance(case[1], np.ndarray) and case[1].ndim == 2 \
            and case[1].shape[0] not in (0, 4) and case[2] is nf.ShapeError:
        args["Y"] = np.ones((case[1].shape[0], 1))
    expect(lambda: nf.Dataset(**args), case, "Dataset", "Dataset")


@fuzz()
@given(case=st.one_of(
    _named("data", not_a(nf.Dataset)),
    _named("test_fraction", bad_floats(low=0.0, high=1.0)),
    _named("rng", BAD_OPTIONAL_RNGS),
))
def test_fuzz_split(case: Case) -> None:
    args: dict[str, Any] = {"data": DATA, "test_fraction": 0.5, "rng": RNG0, case[0]: case[1]}
    expect(lambda: nf.split(**args), case, "split", "split")


@fuzz(60)
@given(n=st.integers(1, 40), frac=st.floats(0.0, 1.0, exclude_min=True, exclude_max=True))
def test_fuzz_split_too_few_rows_is_a_data_error(n: int, frac: float) -> None:
    data = nf.make_tutorial_data(np.random.default_rng(n), n)
    n_test = round(n * frac)
    if 1 <= n_test < n:
        return
    expect(lambda: nf.split(data, frac), ("data", data, nf.DataError), "split", "split")


@fuzz()
@given(case=st.one_of(
    _named("data", not_a(nf.Dataset)),
    _named("batch_size", bad_ints(low=1, high=len(DATA))),
    _named("rng", BAD_OPTIONAL_RNGS),
))
def test_fuzz_batches(case: Case) -> None:
    args: dict[str, Any] = {"data": DATA, "batch_size": 2, "rng": RNG0, case[0]: case[1]}
    expect(lambda: nf.batches(**args), case, "batches", "batches")


# --- step 4: scaling ---------------------------------------------------------------------


@fuzz()
@given(case=st.one_of(
    _named("mean", bad_arrays(ndim=1, shape=(None,), other_float_refused=False)),
    _named("std", bad_arrays(ndim=1, shape=(2,))),
    _named("std", st.sampled_from([np.array([1.0, 0.0]), np.array([-1.0, 1.0]),
                                   np.array([1.0, -0.0])]).map(lambda s: (s, nf.DataError))),
))
def test_fuzz_scaler(case: Case) -> None:
    args: dict[str, Any] = {"mean": np.zeros(2), "std": np.ones(2), case[0]: case[1]}
    if case[0] == "mean" and isinstance(case[1], np.ndarray) and case[1].ndim == 1 \
            and case[1].size and case[2] is not nf.DTypeError:
        args["std"] = np.ones(case[1].shape[0])
    expect(lambda: nf.Scaler(**args), case, "Scaler", "Scaler")


@fuzz()
@given(case=st.one_of(
    _named("X", bad_arrays(ndim=2, shape=(None, None), other_float_refused=False)),
    st.integers(1, 4).map(lambda c: ("X column", np.hstack([X, np.full((4, c), 7.0)]),
                                     nf.DataError)),
    st.just(("X column", X[:1], nf.DataError)),
))
def test_fuzz_fit_scaler(case: Case) -> None:
    expect(lambda: nf.fit_scaler(case[1]), case, "fit_scaler", "fit_scaler")  # type: ignore[arg-type]


@pytest.mark.parametrize("fn", [nf.transform, nf.inverse_transform])
@fuzz()
@given(case=st.one_of(
    _named("scaler", not_a(nf.Scaler)),
    _named("X", bad_arrays(ndim=2, shape=(None, 2), other_float_refused=False)),
))
def test_fuzz_transform(fn: Callable[[nf.Scaler, Any], Any], case: Case) -> None:
    name = "Z" if fn is nf.inverse_transform else "X"
    args: list[Any] = [SCALER, X]
    if case[0] == "scaler":
        args[0] = case[1]
    else:
        args[1] = case[1]
        case = (name, case[1], case[2])
    expect(lambda: fn(*args), case, fn.__name__, fn.__name__)


# --- step 5: params ----------------------------------------------------------------------


@fuzz()
@given(case=st.one_of(
    # a float32 W with the float64 b: the error names b ("dtype float32, like W")
    _named("W", bad_arrays(ndim=2, shape=(None, None), other_float_refused=False)),
    _named("b", bad_arrays(ndim=1, shape=(3,))),
    _named("activation", BAD_ACTIVATIONS),
))
def test_fuzz_layer(case: Case) -> None:
    args: dict[str, Any] = {"W": np.ones((2, 3)), "b": np.zeros(3), "activation": "relu",
                            case[0]: case[1]}
    expect(lambda: nf.Layer(**args), case, "Layer", "Layer")


@st.composite
def bad_layer_tuples(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["type", "element", "empty", "chain", "dtype"]))
    l0 = P.layers[0]
    if kind == "type":
        return ("layers", draw(st.sampled_from([None, "x", 3, l0, X, DATA, iter(P.layers)])),
                nf.DTypeError)
    if kind == "element":
        bad = draw(st.sampled_from([None, X, "relu", P, (X, Y)]))
        i = draw(st.integers(0, 2))
        layers: list[object] = [l0, P.layers[1]]
        layers.insert(i, bad)
        return (f"layers[{i}]", tuple(layers), nf.DTypeError)
    if kind == "empty":
        return ("layers", draw(st.sampled_from([(), []])), nf.ShapeError)
    if kind == "chain":
        n_in = draw(st.integers(1, 6).filter(lambda v: v != l0.n_out))
        nxt = nf.Layer(np.ones((n_in, 1)), np.zeros(1), "linear")
        return ("W", (l0, nxt), nf.ShapeError)
    return ("W", (l0, P32.layers[1]), nf.DTypeError)


@fuzz()
@given(case=bad_layer_tuples())
def test_fuzz_params(case: Case) -> None:
    expect(lambda: nf.Params(case[1]), case, "Params", "Params")


@st.composite
def bad_sizes(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["type", "short", "entry"]))
    if kind == "type":
        return ("sizes", draw(st.sampled_from([None, "2,3", 3, 2.0, {2: 3}, DATA, b"23"])),
                nf.DTypeError)
    if kind == "short":
        return ("sizes", draw(st.lists(st.integers(1, 4), max_size=1)), nf.ShapeError)
    good = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    i = draw(st.integers(0, len(good) - 1))
    bad, err = draw(bad_ints(low=1))
    good_list: list[object] = list(good)
    good_list[i] = bad
    return (f"sizes[{i}]", good_list, err)


@fuzz()
@given(case=st.one_of(
    bad_sizes(),
    _named("activations", st.sampled_from(["relu", None, 3, b"relu"]).map(
        lambda a: (a, nf.DTypeError))),
    _named("activations", st.lists(st.sampled_from(sorted(nf.ACTIVATIONS)), max_size=4).filter(
        lambda acts: len(acts) != 2).map(lambda a: (a, nf.ShapeError))),
    BAD_ACTIVATIONS.map(lambda a: ("activation", ["relu", a[0]], a[1])),
    _named("rng", BAD_RNGS),
    _named("dtype", st.sampled_from([np.int64, np.float16, "foo", object, np.complex64,
                                     [np.float64], 3]).map(lambda d: (d, nf.DTypeError))),
    _named("bias", bad_floats(low=-np.inf)),
    _named("bias", st.sampled_from([1e39, -1e300]).map(lambda b: (b, nf.HyperParameterError))),
))
def test_fuzz_init(case: Case) -> None:
    args: dict[str, Any] = {"sizes": [2, 3, 1], "activations": ["relu", "linear"],
                            "rng": RNG0, "dtype": np.float32}
    name = "activation" if case[0] == "activation" else case[0]
    args["activations" if name == "activation" else name.split("[")[0]] = case[1]
    if name == "sizes" or name.startswith("sizes["):
        sizes = case[1]
        if isinstance(sizes, list) and len(sizes) >= 2:
            args["activations"] = ["relu"] * (len(sizes) - 1)
    expect(lambda: nf.init(**args), case, "init", "init")


@fuzz()
@given(case=bad_sizes())
def test_fuzz_n_params(case: Case) -> None:
    expect(lambda: nf.n_params(case[1]), case, "n_params", "n_params")  # type: ignore[arg-type]


@fuzz(60)
@given(case=_named("params", BAD_PARAMS))
def test_fuzz_count_params(case: Case) -> None:
    expect(lambda: nf.count_params(case[1]), case, "count_params",  # type: ignore[arg-type]
           "count_params")


@fuzz()
@given(case=st.one_of(_named("params", BAD_PARAMS), _named("n_samples", bad_ints(low=1))))
def test_fuzz_check_capacity(case: Case) -> None:
    args: dict[str, Any] = {"params": P, "n_samples": 1000, case[0]: case[1]}
    expect(lambda: nf.check_capacity(**args), case, "check_capacity", "check_capacity")


@fuzz()
@given(case=BAD_ACTIVATIONS.map(lambda a: ("activation", a[0], a[1])))
def test_fuzz_get_activation(case: Case) -> None:
    expect(lambda: nf.get_activation(case[1]), case, "get_activation",  # type: ignore[arg-type]
           "get_activation")


# --- steps 6, 7, 8: the net --------------------------------------------------------------


def net_cases(*, with_y: bool = True) -> st.SearchStrategy[Case]:
    cases = [_named("params", BAD_PARAMS), _named("X", bad_arrays(ndim=2, shape=(None, 2)))]
    if with_y:
        cases.append(_named("Y", bad_arrays(ndim=2, shape=(4, 1))))
    return st.one_of(*cases)


BAD_LOSS = _named("loss_fn", st.sampled_from(["mse", None, np.mean, nf.relu, 3]).map(
    lambda f: (f, nf.DTypeError)))
BAD_L2 = _named("l2", bad_floats(low=0.0, low_open=False))

NET_FUNCTIONS: dict[str, tuple[Callable[..., object], str, st.SearchStrategy[Case]]] = {
    "forward": (nf.forward, "forward", net_cases(with_y=False)),
    "loss": (nf.loss, "loss", st.one_of(net_cases(), BAD_LOSS)),
    "objective": (nf.objective, "loss|penalty", st.one_of(net_cases(), BAD_LOSS, BAD_L2)),
    "grads": (nf.grads, "grads", st.one_of(net_cases(), BAD_LOSS, BAD_L2)),
    "value_and_grads": (nf.value_and_grads, "grads", st.one_of(net_cases(), BAD_LOSS, BAD_L2)),
    "grad_check": (nf.grad_check, "grad_check", st.one_of(
        net_cases(), BAD_LOSS, BAD_L2, _named("eps", bad_floats(low=0.0)))),
    "sgd_step": (nf.sgd_step, "sgd_step", st.one_of(
        net_cases(), BAD_L2, _named("lr", bad_floats(low=0.0, low_open=False)))),
}


@pytest.mark.parametrize("fname", sorted(NET_FUNCTIONS))
@fuzz()
@given(data=st.data())
def test_fuzz_net(fname: str, data: st.DataObject) -> None:
    fn, where, strategy = NET_FUNCTIONS[fname]
    case = data.draw(strategy)
    args: dict[str, Any] = {"params": P, "X": X, "Y": Y}
    if fname == "forward":
        del args["Y"]
    if fname == "sgd_step":
        args["lr"] = 0.1
    args[case[0]] = case[1]
    if case[0] == "X" and isinstance(case[1], np.ndarray) and case[1].ndim == 2 \
            and case[1].shape[0] not in (0, 4) and "Y" in args:
        args["Y"] = np.ones((case[1].shape[0], 1))  # keep Y matching: X is what is wrong
    expect(lambda: fn(**args), case, where, fname)


@fuzz(60)
@given(case=st.one_of(
    _named("params", BAD_PARAMS),
    _named("l2", bad_floats(low=0.0, low_open=False)),
))
def test_fuzz_penalty(case: Case) -> None:
    args: dict[str, Any] = {"params": P, "l2": 0.1, case[0]: case[1]}
    expect(lambda: nf.penalty(**args), case, "penalty", "penalty")


# --- step 9: the model -------------------------------------------------------------------


@fuzz()
@given(case=st.one_of(
    _named("params", BAD_PARAMS),
    _named("x_scaler", st.sampled_from([None, X, P, "s", nf.fit_scaler(np.ones((3, 3)) * [
        [1], [2], [3]])]).map(lambda s: (s, nf.NnfuncError))),
    _named("y_scaler", st.sampled_from([None, Y, P, SCALER]).map(lambda s: (s, nf.NnfuncError))),
))
def test_fuzz_model(case: Case) -> None:
    args: dict[str, Any] = {"params": P, "x_scaler": SCALER, "y_scaler": MODEL.y_scaler,
                            case[0]: case[1]}
    name, _, error = case
    TRIED["Model"] += 1
    with pytest.raises(error, match=rf"^Model\b[^:]*: {name}(?!\w)"):
        nf.Model(**args)


@fuzz()
@given(case=st.one_of(
    _named("model", not_a(nf.Model)),
    _named("X_raw", bad_arrays(ndim=2, shape=(None, 2), other_float_refused=False)),
))
def test_fuzz_predict(case: Case) -> None:
    args: dict[str, Any] = {"model": MODEL, "X_raw": X, case[0]: case[1]}
    expect(lambda: nf.predict(**args), case, "predict", "predict")


# --- step 8: optimizers, schedules, updates -----------------------------------------------

P_OTHER = nf.init([2, 4, 1], ["tanh", "linear"], np.random.default_rng(0))
OPTIMIZERS: dict[str, Callable[[], nf.Optimizer[Any]]] = {
    "sgd": lambda: nf.sgd(0.1), "momentum": lambda: nf.momentum(0.1),
    "nesterov": lambda: nf.momentum(0.1, nesterov=True), "adam": lambda: nf.adam(0.1)}
STATES = {name: make().init(P) for name, make in OPTIMIZERS.items()}
LR = bad_floats(low=0.0, low_open=False)
BETA = bad_floats(low=0.0, low_open=False, high=1.0)
NOT_BOOLS = st.sampled_from([None, 0, 1, "True", 1.0, [True], DATA]).map(
    lambda v: (v, nf.DTypeError))


def like_params(name: str) -> st.SearchStrategy[Case]:
    """Not a Params, a Params of other layer sizes, or of the other float dtype."""
    return st.one_of(_named(name, BAD_PARAMS),
                     st.just((name, P_OTHER, nf.ShapeError)),
                     st.just((name, P32, nf.DTypeError)))


CONSTRUCTORS: dict[str, tuple[Callable[..., object], dict[str, Any],
                              st.SearchStrategy[Case]]] = {
    "sgd": (nf.sgd, {"lr": 0.1}, _named("lr", LR)),
    "momentum": (nf.momentum, {"lr": 0.1, "beta": 0.9}, st.one_of(
        _named("lr", LR), _named("beta", BETA), _named("nesterov", NOT_BOOLS))),
    "adam": (nf.adam, {"lr": 0.1}, st.one_of(
        _named("lr", LR), _named("b1", BETA), _named("b2", BETA),
        _named("eps", bad_floats(low=0.0)))),
    "constant": (nf.constant, {"value": 0.1}, _named("value", LR)),
    "step_decay": (nf.step_decay, {"value": 0.1}, st.one_of(
        _named("value", LR), _named("every", bad_ints(low=1)),
        _named("factor", bad_floats(low=0.0, high=1.0, high_open=False)))),
    "cosine": (nf.cosine, {"peak": 0.1, "total_steps": 10}, st.one_of(
        _named("peak", LR), _named("total_steps", bad_ints(low=1)),
        _named("warmup_steps", bad_ints(low=0)),
        _named("warmup_steps", st.integers(10, 10**6).map(
            lambda w: (w, nf.HyperParameterError))),
        _named("final", LR),
        _named("final", st.floats(0.1, 1e300, exclude_min=True).map(
            lambda f: (f, nf.HyperParameterError))))),
    "default_optimizer": (nf.default_optimizer, {"epochs": 2, "steps_per_epoch": 3}, st.one_of(
        _named("epochs", bad_ints(low=0)), _named("steps_per_epoch", bad_ints(low=1)))),
}


@pytest.mark.parametrize("fname", sorted(CONSTRUCTORS))
@fuzz(100)
@given(data=st.data())
def test_fuzz_optimizer_and_schedule_constructors(fname: str, data: st.DataObject) -> None:
    fn, good, strategy = CONSTRUCTORS[fname]
    case = data.draw(strategy)
    args = {**good, case[0]: case[1]}
    expect(lambda: fn(**args), case, fname, fname)


@fuzz(100)
@given(name=st.sampled_from(["constant", "step_decay", "cosine"]), case=_named(
    "step", bad_ints(low=0)))
def test_fuzz_schedule_call(name: str, case: Case) -> None:
    sched = {"constant": nf.constant(0.1), "step_decay": nf.step_decay(0.1),
             "cosine": nf.cosine(0.1, 10, warmup_steps=2)}[name]
    step: Any = case[1]
    expect(lambda: sched(step), case, f"{name} schedule", "Schedule.__call__")


@fuzz(100)
@given(name=st.sampled_from(sorted(OPTIMIZERS)), case=_named("params", BAD_PARAMS))
def test_fuzz_optimizer_init(name: str, case: Case) -> None:
    opt = OPTIMIZERS[name]()
    params: Any = case[1]
    expect(lambda: opt.init(params), case, f"{name}\\.init", "Optimizer.init")


@st.composite
def bad_states(draw: st.DrawFn, name: str) -> Case:
    state = STATES[name]
    others = [s for n, s in STATES.items() if type(s) is not type(state)]
    kind = draw(st.sampled_from(["type", "count", "count_type", "slot"]))
    if kind == "type":
        return ("state", draw(st.sampled_from([None, P, 0, (0, P), DATA, *others])),
                nf.DTypeError)
    if kind == "count":
        return ("state.count", attrs.evolve(state, count=draw(st.integers(max_value=-1))),
                nf.HyperParameterError)
    if kind == "count_type":
        return ("state.count", attrs.evolve(state, count=draw(st.sampled_from(
            [None, 1.0, True, "0"]))), nf.DTypeError)
    if name in ("sgd",):
        return ("state", None, nf.DTypeError)
    field = draw(st.sampled_from([f.name for f in attrs.fields(type(state))
                                  if f.name != "count"]))
    bad, error = draw(st.sampled_from([(P_OTHER, nf.ShapeError), (P32, nf.DTypeError),
                                       (X, nf.DTypeError)]))
    return (f"state.{field}", attrs.evolve(state, **{field: bad}), error)


@fuzz()
@given(name=st.sampled_from(sorted(OPTIMIZERS)), data=st.data())
def test_fuzz_optimizer_update(name: str, data: st.DataObject) -> None:
    opt = OPTIMIZERS[name]()
    case = data.draw(st.one_of(like_params("grads"), _named("params", BAD_PARAMS),
                               bad_states(name)))
    args: dict[str, Any] = {"grads": P, "state": STATES[name], "params": P}
    args[case[0].split(".")[0]] = case[1]
    expect(lambda: opt.update(args["grads"], args["state"], args["params"]), case,
           f"{name}\\.update", "Optimizer.update")


@fuzz()
@given(case=st.one_of(_named("params", BAD_PARAMS), _named("updates", BAD_PARAMS),
                      st.just(("updates", P_OTHER, nf.ShapeError))))
def test_fuzz_apply_updates(case: Case) -> None:
    args: dict[str, Any] = {"params": P, "updates": P, case[0]: case[1]}
    expect(lambda: nf.apply_updates(**args), case, "apply_updates", "apply_updates")


@fuzz(60)
@given(case=_named("params", BAD_PARAMS))
def test_fuzz_zeros_like(case: Case) -> None:
    params: Any = case[1]
    expect(lambda: nf.zeros_like(params), case, "zeros_like", "zeros_like")


@fuzz()
@given(case=st.one_of(
    _named("fn", st.sampled_from([None, 3, "add", P, X, DATA]).map(lambda f: (f, nf.DTypeError))),
    _named("fn", st.sampled_from([  # returns the wrong kind of array
        lambda a: a.astype(np.int64), lambda a: a.ravel()[:1], lambda a: "x",
        lambda a: a.astype(np.complex128), lambda a: a[None]]).map(
            lambda f: (f, nf.DTypeError))),
    _named("tree", BAD_PARAMS),
    _named("rest[0]", BAD_PARAMS),
    st.just(("rest[0]", P_OTHER, nf.ShapeError)),
))
def test_fuzz_tree_map(case: Case) -> None:
    args: dict[str, Any] = {"fn": np.add, "tree": P, "rest": P, case[0].split("[")[0]: case[1]}
    name, value, error = case
    if name == "fn" and callable(value):  # a shape error for the ravel/None cases
        out = np.asarray(value(P.layers[0].W))
        if out.dtype.kind == "f":
            error = nf.ShapeError
        fn = value
        TRIED["tree_map"] += 1
        with pytest.raises(error, match=r"^tree_map layer 0: fn must be"):
            nf.tree_map(fn, P)
        return
    expect(lambda: nf.tree_map(args["fn"], args["tree"], args["rest"]), case, "tree_map",
           "tree_map")


# --- step 8, 9: train --------------------------------------------------------------------

RES = nf.train(P, DATA, np.random.default_rng(3), epochs=1)
NOT_NONE = lambda pair: pair[0] is not None  # noqa: E731  (None means "the default" here)
BAD_DATA = st.one_of(
    _named("data", not_a(nf.Dataset)),
    st.sampled_from([
        ("data.X", nf.Dataset(np.ones((4, 3)), Y), nf.ShapeError),
        ("data.Y", nf.Dataset(X, np.ones((4, 2))), nf.ShapeError),
        ("data.X", nf.Dataset(X.astype(np.float32), Y.astype(np.float32)), nf.DTypeError),
    ]),
)


def train_cases() -> st.SearchStrategy[Case]:
    return st.one_of(
        _named("params", st.sampled_from([v for v in STAND_INS if not isinstance(
            v, nf.Params)]).map(lambda v: (v, nf.DTypeError))),
        _named("params.optimizer", st.sampled_from([None, "adam", P]).map(
            lambda v: (attrs.evolve(RES, optimizer=cast(Any, v)), nf.DTypeError))),
        BAD_DATA,
        BAD_DATA.filter(lambda c: c[0] != "data" or c[1] is not None).map(
            lambda c: ("test" + c[0][4:], c[1], c[2])),
        _named("rng", BAD_RNGS),
        _named("epochs", bad_ints(low=0)),
        _named("batch_size", bad_ints(low=1, high=len(DATA)).filter(NOT_NONE)),
        _named("optimizer", not_a(nf.Optimizer).filter(NOT_NONE)),
        _named("val_fraction", bad_floats(low=0.0, low_open=False, high=1.0)),
        _named("data", st.floats(0.0, 0.125, exclude_min=True).map(
            lambda f: (f, nf.DataError))),  # leaves no validation row of 4
        _named("patience", bad_ints(low=1).filter(NOT_NONE)),
        _named("min_delta", bad_floats(low=0.0, low_open=False)),
        _named("l2", bad_floats(low=0.0, low_open=False).filter(NOT_NONE)),
        _named("revive_epochs", bad_ints(low=0).filter(NOT_NONE)),
        _named("on_epoch", st.sampled_from([3, "print", [], DATA, P, X]).map(
            lambda v: (v, nf.DTypeError))),
        _named("verbose", bad_ints(low=0).filter(
            lambda c: not isinstance(c[0], (bool, np.bool_, type(None))))),
        _named("progress", NOT_BOOLS),
    )


@fuzz(300)
@given(case=train_cases())
def test_fuzz_train(case: Case) -> None:
    name, value, error = case
    args: dict[str, Any] = {"params": P, "data": DATA, "rng": np.random.default_rng(0),
                            "epochs": 1}
    if name == "data" and error is nf.DataError:
        args["val_fraction"] = value  # well-formed, but too small for 4 rows
    elif name == "params.optimizer":
        args["params"] = value
    elif name.startswith("test"):
        args["test"] = value
    elif name.startswith("data"):
        args["data"] = value
    else:
        args[name] = value
    if name == "patience":
        args["val_fraction"] = 0.5
    expect(lambda: nf.train(**args), case, "train", "train")


@fuzz(60)
@given(case=st.sampled_from([
    ("data.X", nf.Dataset(np.ones((4, 3)), Y), nf.ShapeError),
    ("data.Y", nf.Dataset(X, np.ones((4, 2))), nf.ShapeError),
    ("data.X", nf.Dataset(X.astype(np.float32), Y.astype(np.float32)), nf.DTypeError),
    ("data", nf.Dataset(np.vstack([X, X]), np.vstack([Y, Y])), nf.DataError),
    ("test.X", nf.Dataset(np.ones((2, 3)), Y[:2]), nf.ShapeError),
]))
def test_fuzz_train_resume_on_other_data(case: Case) -> None:
    name, value, _ = case
    args: dict[str, Any] = {"data": DATA, "test": None}
    args[name.split(".")[0]] = value
    expect(lambda: nf.train(RES, args["data"], np.random.default_rng(0), epochs=1,
                            test=args["test"]), case, "train", "train (resume)")


# --- persistence, summary, pictures --------------------------------------------------------

NOT_PATHS = st.one_of(
    st.sampled_from([None, 3, 2.5, b"model.npz", ["model.npz"], ("a",), DATA, P, X,
                     object(), {"path": "x"}]),
    st.integers(), st.floats(), st.binary(), st.lists(st.text(max_size=4), max_size=3),
    st.text(max_size=8).map(lambda t: f"{t}\x00.npz"),  # a NUL character
).map(lambda v: (v, nf.DTypeError))


@fuzz(100)
@given(case=st.one_of(_named("model", not_a(nf.Model)), _named("path", NOT_PATHS)))
def test_fuzz_save(case: Case) -> None:
    args: dict[str, Any] = {"model": MODEL, "path": "never-written.npz", case[0]: case[1]}
    expect(lambda: nf.save(**args), case, "save", "save")


@fuzz(100)
@given(case=st.one_of(
    _named("path", NOT_PATHS.filter(NOT_NONE)),
    _named("activations", st.sampled_from([3, "relu", ["relu"], P, nf.relu]).map(
        lambda v: (v, nf.DTypeError))),
))
def test_fuzz_load(case: Case) -> None:
    args: dict[str, Any] = {"path": "never-read.npz", "activations": None, case[0]: case[1]}
    expect(lambda: nf.load(**args), case, "load", "load")


@fuzz(100)
@given(case=st.one_of(
    _named("params", not_a(nf.Params).filter(lambda c: not isinstance(c[0], nf.Model))),
    _named("n_samples", bad_ints(low=1).filter(NOT_NONE)),
))
def test_fuzz_summary(case: Case) -> None:
    args: dict[str, Any] = {"params": P, "n_samples": 10, case[0]: case[1]}
    expect(lambda: nf.summary(**args), case, "summary", "summary")


def _history(**fields: Any) -> nf.History:
    h = RES.history
    return attrs.evolve(h, **fields)


HISTORY_FIELDS: list[tuple[str, dict[str, Any], type[nf.NnfuncError]]] = [
    ("history.train_loss", {"train_loss": [0.1]}, nf.DTypeError),
    ("history.train_loss", {"train_loss": np.array([1, 2])}, nf.DTypeError),
    ("history.train_loss", {"train_loss": None}, nf.DTypeError),
    ("history.train_loss", {"train_loss": np.ones((1, 1))}, nf.ShapeError),
    ("history.val_loss", {"val_loss": np.ones(3)}, nf.ShapeError),
    ("history.test_loss", {"test_loss": "0.1"}, nf.DTypeError),
    ("history", {"train_loss": np.ones(0)}, nf.DataError),
]
BAD_HISTORY_FIELDS = st.sampled_from(HISTORY_FIELDS).map(
    lambda c: (c[0], _history(**c[1]), c[2]))


@fuzz(100)
@given(case=st.one_of(
    _named("history", not_a(nf.History)), BAD_HISTORY_FIELDS,
    _named("path", NOT_PATHS.filter(NOT_NONE)),
    _named("title", st.sampled_from([3, b"t", ["t"], DATA]).map(lambda v: (v, nf.DTypeError))),
))
def test_fuzz_plot_history(case: Case) -> None:
    pytest.importorskip("matplotlib")
    name = case[0].split(".")[0]
    args: dict[str, Any] = {"history": RES.history, "path": None, "title": None, name: case[1]}
    expect(lambda: nf.plot_history(**args), case, "plot_history", "plot_history")


@fuzz(150)
@given(case=st.one_of(
    _named("predictions", bad_arrays(ndim=2, shape=(None, None), other_float_refused=False)),
    _named("X_raw", bad_arrays(ndim=2, shape=(None, 2), other_float_refused=False)),
    _named("Y_raw", bad_arrays(ndim=2, shape=(4, 1), other_float_refused=False)),
    _named("names", st.sampled_from([3, "y", b"y", {"y": 1}, P]).map(
        lambda v: (v, nf.DTypeError))),
    _named("names", st.sampled_from([[None], [3], [b"y"]]).map(lambda v: (v, nf.DTypeError))),
    _named("names", st.lists(st.text(max_size=3), max_size=4).filter(
        lambda v: len(v) != 1).map(lambda v: (v, nf.ShapeError))),
    _named("path", NOT_PATHS.filter(NOT_NONE)),
    _named("title", st.sampled_from([3, b"t", ["t"], DATA]).map(lambda v: (v, nf.DTypeError))),
    st.just(("Y_raw and the predictions", np.array([[1.7e308], [-1.7e308], [0.0], [1.0]]),
             nf.NonFiniteError)),
))
def test_fuzz_plot_predictions(case: Case) -> None:
    pytest.importorskip("matplotlib")
    name, value, error = case
    args: dict[str, Any] = {"model": MODEL, "X_raw": X, "Y_raw": Y, "path": None, "names": None,
                            "title": None}
    if name == "predictions":
        args["model"], args["X_raw"] = value, None
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.size and \
                error is not nf.NonFiniteError and value.dtype.kind == "f":
            args["Y_raw"] = np.ones_like(value, dtype=np.float64)
    elif name == "Y_raw and the predictions":
        args["Y_raw"] = value
    else:
        args[name] = value
    expect(lambda: nf.plot_predictions(**args), case, "plot_predictions", "plot_predictions")


# --- numerical faults: finite but extreme values ------------------------------------------

EXTREME = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([1e308, -1e308, 1.7e308, 5e-324, -5e-324, 1e-310, 1e200, -1e200, 0.0]),
)


def extreme_arrays(shape: tuple[int, ...], dtype: Any = np.float64
                   ) -> st.SearchStrategy[np.ndarray]:
    floats = (st.floats(allow_nan=False, allow_infinity=False, width=32)
              if np.dtype(dtype) == np.float32 else
              st.floats(allow_nan=False, allow_infinity=False, width=64))
    elements = floats | st.sampled_from(
        [float(np.finfo(dtype).max), -float(np.finfo(dtype).max), float(np.finfo(dtype).tiny),
         float(np.finfo(dtype).smallest_subnormal), 1.0, 0.0])
    return hnp.arrays(dtype, shape, elements=elements)


def finite_or_nonfinite_error(call: Callable[[], object], counter: str) -> None:
    """A finite result or NonFiniteError; anything else (FloatingPointError...) fails."""
    TRIED[counter] += 1
    try:
        out = call()
    except nf.NonFiniteError as err:
        assert "must be" in str(err)
        return
    parts: list[Any] = list(out) if isinstance(out, tuple) else [out]
    for part in parts:
        if isinstance(part, nf.Params):
            assert all(np.isfinite(layer.W).all() and np.isfinite(layer.b).all()
                       for layer in part.layers)
        else:
            assert np.isfinite(part).all()


@st.composite
def extreme_nets(draw: st.DrawFn) -> tuple[nf.Params, np.ndarray, np.ndarray]:
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    acts = draw(st.lists(st.sampled_from(sorted(nf.ACTIVATIONS)), min_size=2, max_size=2))
    layers = (nf.Layer(draw(extreme_arrays((2, 3), dtype)), draw(extreme_arrays((3,), dtype)),
                       acts[0]),
              nf.Layer(draw(extreme_arrays((3, 1), dtype)), draw(extreme_arrays((1,), dtype)),
                       acts[1]))
    return nf.Params(layers), draw(extreme_arrays((2, 2), dtype)), draw(
        extreme_arrays((2, 1), dtype))


@fuzz()
@given(net=extreme_nets(), fname=st.sampled_from(
    ["forward", "loss", "grads", "value_and_grads", "objective", "penalty"]))
def test_extreme_values_give_finite_results_or_nonfinite_error(
        net: tuple[nf.Params, np.ndarray, np.ndarray], fname: str) -> None:
    params, Xe, Ye = net
    calls: dict[str, Callable[[], object]] = {
        "forward": lambda: nf.forward(params, Xe),
        "loss": lambda: nf.loss(params, Xe, Ye),
        "grads": lambda: nf.grads(params, Xe, Ye, l2=0.1),
        "value_and_grads": lambda: nf.value_and_grads(params, Xe, Ye),
        "objective": lambda: nf.objective(params, Xe, Ye, l2=1.0),
        "penalty": lambda: nf.penalty(params, 0.5),
    }
    finite_or_nonfinite_error(calls[fname], f"extreme {fname}")


@fuzz()
@given(Xe=st.sampled_from([np.float64, np.float32]).flatmap(
    lambda dt: extreme_arrays((3, 2), dt)), Ze=extreme_arrays((3, 2)))
def test_extreme_values_through_scaling(Xe: np.ndarray, Ze: np.ndarray) -> None:
    TRIED["extreme scaling"] += 1
    try:
        scaler = nf.fit_scaler(Xe)
    except nf.DataError:  # a constant column
        return
    assert np.isfinite(scaler.mean).all() and np.isfinite(scaler.std).all()
    finite_or_nonfinite_error(lambda: nf.transform(scaler, Xe), "extreme scaling")
    finite_or_nonfinite_error(lambda: nf.inverse_transform(scaler, Ze.astype(Xe.dtype)
                                                           if Xe.dtype == np.float64 else
                                                           np.zeros_like(Xe)), "extreme scaling")


@pytest.mark.parametrize("act", sorted(nf.ACTIVATIONS))
@fuzz(100)
@given(data=st.data())
def test_activations_never_fault_on_finite_input(act: str, data: st.DataObject) -> None:
    """Every activation and its derivative: finite in, finite out, no FloatingPointError
    (underflow included) for any finite z and g, in float32 and float64."""
    a = nf.ACTIVATIONS[act]
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    z = data.draw(extreme_arrays((4,), dtype))
    g = data.draw(extreme_arrays((4,), dtype))
    TRIED[f"activation {act}"] += 1
    out = a.fn(z)
    back = a.backward(g, z, out)
    assert out.dtype == z.dtype and back.dtype == z.dtype
    assert np.isfinite(out).all() and np.isfinite(back).all()


# --- the scale warning --------------------------------------------------------------------


@fuzz(100)
@given(n=st.integers(2, 400), seed=st.integers(0, 2**16), shift=st.floats(-1e6, 1e6),
       spread=st.floats(1e-3, 1e6))
def test_standardized_data_never_warns_raw_data_far_from_it_does(
        n: int, seed: int, shift: float, spread: float) -> None:
    """A standardized column has a root mean square of 1 (the population std is 1), below
    SCALE_LIMIT = 10; a raw column whose root mean square is above it warns, named."""
    raw = np.random.default_rng(seed).standard_t(2, size=(n, 2)) * spread + shift
    try:
        z = nf.transform(nf.fit_scaler(raw), raw)
    except nf.DataError:
        return
    TRIED["warn_if_unscaled"] += 1
    assert SCALE_LIMIT == 10.0
    assert not warn_if_unscaled((("data.X", np.asarray(z)), ("data.Y", np.asarray(z))),
                                where="test")
    rms = [float(np.sqrt(np.mean(raw[:, k] ** 2))) for k in range(2)]
    if max(rms) <= SCALE_LIMIT:
        assert not warn_if_unscaled((("data.X", raw),), where="test")
        return
    col = int(np.argmax(rms))
    with pytest.warns(nf.ScaleWarning, match=rf"^test: data.Y column {col} has a root mean "
                                             r"square of .*standardized.*fit_scaler"):
        assert warn_if_unscaled((("data.X", np.asarray(z)), ("data.Y", raw)), where="test")


def test_the_tutorials_raw_data_warns_its_standardized_data_does_not() -> None:
    raw = nf.make_tutorial_data(np.random.default_rng(0), 300)
    with pytest.warns(nf.ScaleWarning, match=r"data.X column \d has a root mean square of "
                                             r"[\d.e+]+ and data.Y column"):
        assert warn_if_unscaled((("data.X", raw.X), ("data.Y", raw.Y)), where="train")
    zx = nf.transform(nf.fit_scaler(raw.X), raw.X)
    zy = nf.transform(nf.fit_scaler(raw.Y), raw.Y)
    assert not warn_if_unscaled((("data.X", zx), ("data.Y", zy)), where="train")
