"""Bad input meets a clear, typed error that names the argument."""

from __future__ import annotations

import importlib
import os
import warnings
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
        (lambda: nf.train(P, nf.Dataset(X, Y), RNG, batch_size=5), nf.HyperParameterError,
         r"train: batch_size must be at most len\(data\) = 4; got 5. A batch cannot be larger "
         r"than the data: use batch_size=4 for full-batch"),
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


# --- issue 6: every kind of bad input, named; numerical faults ---------------------------

DATA = nf.Dataset(X, Y)
nfa: Any = nf  # untyped: these calls are wrong on purpose
SCALER_ = nf.fit_scaler(X + np.arange(8.0).reshape(4, 2))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: nfa.forward(P, [[True, False]]), nf.DTypeError,
         r"forward: X must be a list of int or float numbers .*; got a list of booleans"),
        (lambda: nfa.forward(P, [["1", "2"]]), nf.DTypeError,
         r"forward: X must be a list of int or float .*; got a list of strings"),
        (lambda: nfa.forward(P, [[1.0, 2.0], [1.0]]), nf.ShapeError,
         r"forward: X must be a rectangular list of numbers .*; got a ragged list"),
        (lambda: nfa.forward(P, DATA), nf.DTypeError,
         r"forward: X must be a float NumPy array .*; got Dataset\. Pass the arrays, data\.X"),
        (lambda: nfa.forward(P, "1,2"), nf.DTypeError,
         r"forward: X must be .*; got str '1,2'\. Strings are not numbers"),
        (lambda: nfa.forward(P, np.ones((4, 2), dtype=np.complex128)), nf.DTypeError,
         r"forward: X must be a float32 or float64 array; got dtype complex128"),
        (lambda: nfa.forward(P, np.ones((4, 2), dtype=object)), nf.DTypeError,
         r"forward: X must be a float32 or float64 array; got dtype object"),
        (lambda: nfa.forward(P.layers[0], X), nf.DTypeError,
         r"forward: params must be an nnfunc.Params; got Layer\. Wrap the layer"),
        (lambda: nfa.forward(P.layers, X), nf.DTypeError,
         r"forward: params must be an nnfunc.Params; got tuple\. Wrap the layers"),
        (lambda: nfa.loss(P, X, Y, loss_fn="mse"), nf.DTypeError,
         r"loss: loss_fn must be an nnfunc.Loss such as nnfunc.mse; got str 'mse'"),
        (lambda: nfa.count_params("p"), nf.DTypeError,
         r"count_params: params must be an nnfunc.Params"),
        (lambda: nfa.check_capacity(None, 5), nf.DTypeError,
         r"check_capacity: params must be an nnfunc.Params; got NoneType"),
        (lambda: nfa.get_activation(None), nf.DTypeError,
         r"get_activation: activation must be a name \(one of leaky_relu, linear, relu, "
         r"sigmoid, tanh\) or an nnfunc.Activation; got NoneType"),
        (lambda: nfa.get_activation(np.tanh), nf.DTypeError,
         r"got ufunc\. To use your own function, wrap it with its derivative"),
        (lambda: nfa.get_activation("ReLU"), nf.UnknownActivationError,
         r"got 'ReLU'\. Did you mean 'relu'\?"),
        (lambda: nfa.Activation("mine", np.tanh, 3), nf.DTypeError,
         r"Activation 'mine': backward must be a function; got int"),
        (lambda: nfa.Params((P.layers[0], None)), nf.DTypeError,
         r"Params: layers\[1\] must be an nnfunc.Layer; got NoneType"),
        (lambda: nfa.Params(P.layers[0]), nf.DTypeError,
         r"Params: layers must be a tuple of nnfunc.Layer; got one Layer"),
        (lambda: nfa.Layer(np.ones((2, 0)), np.ones(0), "relu"), nf.ShapeError,
         r"Layer: W must be non-empty \(n_in, n_out\); got shape \(2, 0\)"),
        (lambda: nfa.init([2, 3, 1], ["relu", "linear"], RNG, dtype="foo"), nf.DTypeError,
         r"init: dtype must be np.float32 or np.float64; got str 'foo'"),
        (lambda: nfa.init([2, 3, 1], ["relu", "linear"], RNG, dtype=np.int32), nf.DTypeError,
         r"init: dtype must be np.float32 or np.float64; got int32"),
        (lambda: nfa.init([2, 1], ["linear"], RNG, bias=float("nan")), nf.HyperParameterError,
         r"init: bias must be a finite number"),
        (lambda: nfa.init([2, 1], ["linear"], RNG, dtype=np.float32, bias=1e39),
         nf.HyperParameterError, r"init: bias must be representable in float32; got 1e\+39"),
        (lambda: nfa.init([2, 1], ["linear"], np.random.RandomState(0)),
         nf.DTypeError, r"init: rng must be a numpy.random.Generator; got RandomState"),
        (lambda: nfa.n_params("2,3"), nf.DTypeError,
         r"n_params: sizes must be a sequence of layer widths"),
        (lambda: nfa.batches(DATA, 5), nf.HyperParameterError,
         r"batches: batch_size must be at most len\(data\) = 4; got 5\. A batch cannot be "
         r"larger than the data: use batch_size=4 for full-batch"),
        (lambda: nfa.batches(DATA, 0), nf.HyperParameterError,
         r"batches: batch_size must be an integer >= 1; got 0"),
        (lambda: nfa.batches((X, Y), 2), nf.DTypeError,
         r"batches: data must be an nnfunc.Dataset; got tuple\. Wrap the arrays"),
        (lambda: nfa.split(DATA, 0.0), nf.HyperParameterError,
         r"split: test_fraction must be a finite number in \(0.0, 1.0\); got 0.0"),
        (lambda: nfa.split(DATA, 0.01), nf.DataError,
         r"split: data must be enough rows .*; got 4 rows\. That gives 0 test row"),
        (lambda: nfa.split(DATA, 0.5, rng=0), nf.DTypeError,
         r"split: rng must be a numpy.random.Generator; got int"),
        (lambda: nfa.make_tutorial_data(RNG, 2.5), nf.DTypeError,
         r"make_tutorial_data: n_samples must be an integer; got float"),
        (lambda: nfa.sgd_step(P, X, Y, 10**400), nf.HyperParameterError,
         r"sgd_step: lr must be a finite number; got an integer with 401 digits"),
        (lambda: nfa.sgd_step(P, X, Y, True), nf.DTypeError,
         r"sgd_step: lr must be a real number; got bool"),
        (lambda: nfa.fit_scaler(np.ones((1, 2))), nf.DataError,
         r"fit_scaler: X column 0 must be non-constant .* One row cannot be standardized"),
        (lambda: nfa.transform(SCALER_, np.ones((2, 3))), nf.ShapeError,
         r"transform: X must be 2 columns, as the scaler was fit; got 3 columns"),
        (lambda: nfa.transform(X, X), nf.DTypeError,
         r"transform: scaler must be an nnfunc.Scaler; got an array"),
        (lambda: nfa.Scaler(np.zeros(2), np.array([1.0, 0.0])), nf.DataError,
         r"Scaler column 1: std must be > 0; got 0.0"),
        (lambda: nfa.grad_check(P, X, Y, eps=0.0), nf.HyperParameterError,
         r"grad_check: eps must be a finite number in \(0.0, inf\); got 0.0"),
        (lambda: nfa.penalty(P, -1.0), nf.HyperParameterError,
         r"penalty: l2 must be a finite number in \[0.0, inf\); got -1.0"),
    ],
)
def test_every_kind_of_bad_input_is_named(call: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()


def test_every_error_is_an_nnfunc_error_and_the_matching_builtin() -> None:
    builtin = {nf.ShapeError: ValueError, nf.DTypeError: TypeError, nf.DataError: ValueError,
               nf.NonFiniteError: ValueError, nf.HyperParameterError: ValueError,
               nf.UnknownActivationError: ValueError, nf.FileFormatError: ValueError,
               nf.DivergenceError: ArithmeticError}
    for cls, base in builtin.items():
        assert issubclass(cls, nf.NnfuncError) and issubclass(cls, base), cls
    for warning in (nf.ScaleWarning, nf.CapacityWarning, nf.DeadUnitsWarning):
        assert issubclass(warning, nf.NnfuncWarning) and issubclass(warning, UserWarning)


def test_lr_zero_is_allowed_and_returns_equal_params() -> None:
    assert nf.sgd_step(P, X, Y, 0.0) == P


def test_lists_are_converted_to_the_params_dtype() -> None:
    p32 = nf.init([2, 3, 1], ["relu", "linear"], np.random.default_rng(0), dtype=np.float32)
    out = nf.forward(p32, [[1, 2], [3, 4]])  # type: ignore[arg-type]
    assert out.dtype == np.float32
    assert np.array_equal(out, nf.forward(p32, np.array([[1, 2], [3, 4]], dtype=np.float32)))
    with pytest.raises(nf.NonFiniteError, match=r"forward: X must be representable in float32"):
        nf.forward(p32, [[1e300, 0.0]])  # type: ignore[arg-type]


@pytest.mark.parametrize("caller_policy", ["raise", "warn", "ignore"])
def test_overflow_is_a_nonfinite_error_whatever_the_callers_errstate(caller_policy: str) -> None:
    huge = np.full((1, 2), 1e300)
    p = nf.Params((nf.Layer(np.full((2, 2), 1e300), np.zeros(2), "linear"),))
    with np.errstate(all=caller_policy):  # type: ignore[arg-type]
        with pytest.raises(nf.NonFiniteError,
                           match=r"forward: X and params must be small enough .*; got "
                                 r"'overflow encountered in matmul'\. Standardize X and Y"):
            nf.forward(p, huge)
        with pytest.raises(nf.NonFiniteError, match=r"penalty: params must be small enough .*"
                                                    r"got a result of inf"):
            nf.penalty(p, 1.0)  # np.vdot overflows without raising: the result is checked


def test_underflow_is_silent_and_exact() -> None:
    tiny = np.full((1, 2), 1e-300)
    p = nf.Params((nf.Layer(np.full((2, 1), 1e-300), np.zeros(1), "leaky_relu"),))
    assert nf.forward(p, tiny)[0, 0] == 0.0  # 2e-600 rounds to 0, the right answer
    with np.errstate(under="ignore"):
        expected = np.float64(-1e-310) * np.float64(0.01)
    assert nf.leaky_relu.fn(np.array([-1e-310]))[0] == expected  # a subnormal, no error
    assert nf.sigmoid.fn(np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]


def test_fit_scaler_is_finite_for_values_near_the_float_limit() -> None:
    big = np.finfo(np.float64).max
    s = nf.fit_scaler(np.array([[big, 1.0], [-big, 2.0], [big / 2, 3.0]]))
    assert np.isfinite(s.mean).all() and np.isfinite(s.std).all()
    assert s.mean[0] == pytest.approx(big / 6) and s.std[1] == pytest.approx(np.sqrt(2 / 3))


def test_predict_refuses_inputs_that_overflow_the_models_dtype() -> None:
    rng = np.random.default_rng(0)
    params = nf.init([2, 3, 1], ["relu", "linear"], rng, dtype=np.float32)
    X = rng.normal(size=(20, 2))
    model = nf.Model(params, nf.fit_scaler(X), nf.fit_scaler(X[:, :1]))
    with pytest.raises(nf.NonFiniteError, match=r"predict: X_raw and the model must be small"):
        nf.predict(model, [[1e300, 1.0]])
    assert nf.predict(model, [[1.0, 1.0]]).dtype == np.float32


# --- training: faults and interruptions --------------------------------------------------

TRAIN_DATA = nf.Dataset(np.random.default_rng(5).normal(size=(40, 2)),
                        np.random.default_rng(6).normal(size=(40, 1)))


def _custom(opt: nf.Optimizer[Any]) -> nf.Optimizer[Any]:
    """The same optimizer known only by init/update: train's step-by-step path."""
    return nf.Optimizer("custom", opt.init, opt.update)


@pytest.mark.parametrize("path", ["flat", "step by step"])
@pytest.mark.parametrize(("what", "lr", "scale"), [
    ("huge learning rate", 1e300, 1.0),
    ("huge but finite data", 0.1, 1e200),
    ("data near the float limit", 0.1, 1e307),
])
def test_an_overflow_in_a_training_step_is_a_divergence_error(
        path: str, what: str, lr: float, scale: float) -> None:
    """Under np.errstate(all="raise") (conftest) and warnings as errors: never a
    FloatingPointError or RuntimeWarning, always DivergenceError with the last finite params."""
    data = nf.Dataset(TRAIN_DATA.X * scale, TRAIN_DATA.Y * scale)
    opt = nf.sgd(lr) if path == "flat" else _custom(nf.sgd(lr))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", nf.ScaleWarning)  # the huge data is warned about
        with pytest.raises(nf.DivergenceError, match=r"^train: the (loss|gradient|training "
                                                     r"loss) became non-finite in epoch 1") as info:
            nf.train(P, data, np.random.default_rng(0), epochs=3, batch_size=8, optimizer=opt)
    last = info.value.last_finite
    assert isinstance(last, nf.Params)
    assert all(np.isfinite(layer.W).all() and np.isfinite(layer.b).all() for layer in last.layers)
    assert info.value.result.epochs == 0


def test_huge_data_warns_naming_the_column_then_diverges_cleanly() -> None:
    data = nf.Dataset(TRAIN_DATA.X * [1.0, 1e200], TRAIN_DATA.Y)
    with pytest.warns(nf.ScaleWarning, match=r"^train: data.X column 1 has a root mean square "
                                             r"of [\d.]+e\+(199|200) \(above 10"):
        with pytest.raises(nf.DivergenceError):
            nf.train(P, data, np.random.default_rng(0), epochs=1, optimizer=nf.sgd(0.1))


def test_sgd_step_and_apply_updates_refuse_an_overflow() -> None:
    with pytest.raises(nf.NonFiniteError, match=r"^sgd_step: X, Y, params and lr must be small"):
        nf.sgd_step(P, X * 1e200, Y, 1e300)
    huge = nf.tree_map(lambda a: np.full_like(a, 1.7e308), P)
    with pytest.raises(nf.NonFiniteError, match=r"^apply_updates layer 0: params \+ updates \(W\) "
                                                r"must be finite"):
        nf.apply_updates(huge, huge)


@pytest.mark.parametrize("where", ["on_epoch", "gradient step", "optimizer update"])
def test_ctrl_c_returns_exactly_the_completed_epochs(
        where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """KeyboardInterrupt in epoch 3 (through the callback, a patched gradient step, or the
    optimizer's update mid-epoch): the result is the clean 2-epoch run (3 for on_epoch, which
    runs after its epoch completed), params and history, with interrupted=True."""
    base = nf.sgd(0.05)
    steps = 5  # 40 rows, batch 8
    calls = {"n": 0}

    def flaky_update(g: nf.Params, state: Any, params: nf.Params) -> Any:
        calls["n"] += 1
        if calls["n"] == 2 * steps + 3:  # the 3rd step of epoch 3
            raise KeyboardInterrupt
        return base.update(g, state, params)

    opt = _custom(base)
    kw: dict[str, Any] = {}
    done = 2
    if where == "on_epoch":
        def stop(epoch: int, params: nf.Params, history: nf.History) -> None:
            if epoch == 2:
                raise KeyboardInterrupt
        kw["on_epoch"] = stop
        done = 3
    elif where == "gradient step":
        train_module = importlib.import_module("nnfunc.train")
        real = train_module._value_and_grads

        def flaky_grads(*args: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == 2 * steps + 3:
                raise KeyboardInterrupt
            return real(*args)
        monkeypatch.setattr(train_module, "_value_and_grads", flaky_grads)
    else:
        opt = nf.Optimizer("custom", base.init, flaky_update)
    settings: dict[str, Any] = {"epochs": 6, "batch_size": 8, "revive_epochs": 0,
                                "val_fraction": 0.0, "test": TRAIN_DATA}
    moment = "after epoch 3" if done == 3 else "during epoch 3"
    with pytest.warns(nf.NnfuncWarning, match=rf"interrupted \(KeyboardInterrupt\) {moment}; "
                                              rf"returning the {done} completed"):
        part = nf.train(P, TRAIN_DATA, np.random.default_rng(0), optimizer=opt, **settings, **kw)
    monkeypatch.undo()
    clean = nf.train(P, TRAIN_DATA, np.random.default_rng(0), optimizer=_custom(base),
                     **{**settings, "epochs": done})
    assert part.interrupted and not clean.interrupted
    assert part.epochs == done and part.params == clean.params
    assert part.history == clean.history and part.state == clean.state


# --- files: a real filesystem problem is the usual OSError, naming the path --------------

MODEL = nf.Model(P, nf.fit_scaler(TRAIN_DATA.X), nf.fit_scaler(TRAIN_DATA.Y))


def test_saving_to_a_folder_or_a_missing_folder_is_a_clear_oserror(tmp_path: Any) -> None:
    with pytest.raises(IsADirectoryError, match=r"save: path must be a file name, not a folder"):
        nf.save(MODEL, tmp_path)
    with pytest.raises(IsADirectoryError, match=r"not a folder"):
        nf.save(MODEL, "")  # the current folder
    with pytest.raises(FileNotFoundError, match=r"save: the folder of path must exist; "
                                                r"'.*nowhere' does not"):
        nf.save(MODEL, tmp_path / "nowhere" / "model.npz")
    with pytest.raises(IsADirectoryError):
        nf.load(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing left behind


def test_saving_into_a_read_only_folder_is_a_permission_error(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anywhere: simulate it
        real_open = os.open

        def refuse(path: Any, flags: int, mode: int = 0o777) -> int:
            if str(path).startswith(str(folder)):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, mode)
        monkeypatch.setattr(os, "open", refuse)
    try:
        with pytest.raises(PermissionError, match=r"save: cannot write '.*model\.npz' "
                                                  r"\(Permission denied\)"):
            nf.save(MODEL, folder / "model.npz")
    finally:
        monkeypatch.undo()
        folder.chmod(0o700)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("path", [None, 3, b"model.npz", ["m.npz"], "bad\x00name.npz"])
def test_a_path_that_is_not_a_path_is_a_dtype_error(path: Any) -> None:
    for call, where in ((lambda: nf.save(MODEL, path), "save"), (lambda: nf.load(path), "load")):
        with pytest.raises(nf.DTypeError, match=rf"^{where}: path must be a str or os.PathLike"):
            call()
