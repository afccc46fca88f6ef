"""Steps 8 and 9: train — resume, validation and early stopping, the divergence guard,
interruption, history and its warnings."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnfunc as nf
from nnfunc import _kernels

train_module = importlib.import_module("nnfunc.train")


def _task(seed: int = 0, n: int = 300) -> tuple[nf.Dataset, nf.Dataset]:
    data = nf.make_tutorial_data(np.random.default_rng(seed), n)
    tr, te = nf.split(data)
    xs, ys = nf.fit_scaler(tr.X), nf.fit_scaler(tr.Y)
    return (nf.Dataset(nf.transform(xs, tr.X), nf.transform(ys, tr.Y)),
            nf.Dataset(nf.transform(xs, te.X), nf.transform(ys, te.Y)))


TRAIN, TEST = _task()
SIZES = [2, 6, 5, 3]
ACTS = ["relu", "relu", "linear"]


def _start(seed: int = 7, bias: float = 0.0) -> tuple[nf.Params, np.random.Generator]:
    rng = np.random.default_rng(seed)
    return nf.init(SIZES, ACTS, rng, bias=bias), rng


def _same_run(a: nf.TrainResult, b: nf.TrainResult) -> None:
    assert a.params == b.params and a.last_params == b.last_params
    assert a.state == b.state
    assert a.history == b.history
    assert a.best_epoch == b.best_epoch


OPTIMIZERS: dict[str, Callable[[], nf.Optimizer[Any]]] = {
    "adam-cosine": lambda: nf.adam(nf.cosine(0.02, 60, warmup_steps=10)),
    "nesterov": lambda: nf.momentum(nf.step_decay(0.05, every=20), nesterov=True),
    "sgd": lambda: nf.sgd(0.1),
}


@pytest.mark.filterwarnings("ignore::nnfunc.DeadUnitsWarning")
@settings(max_examples=12)
@given(k=st.integers(0, 6), name=st.sampled_from(sorted(OPTIMIZERS)),
       val_fraction=st.sampled_from([0.0, 0.2]), full_batch=st.booleans())
def test_resume_equals_one_long_run_bit_for_bit(
    k: int, name: str, val_fraction: float, full_batch: bool
) -> None:
    n_train = len(TRAIN) - round(val_fraction * len(TRAIN))
    kw: dict[str, Any] = {"batch_size": n_train if full_batch else 16, "test": TEST,
                          "val_fraction": val_fraction, "revive_epochs": 3, "l2": 1e-3}
    p, rng = _start()
    long = nf.train(p, TRAIN, rng, epochs=6, optimizer=OPTIMIZERS[name](), **kw)
    p, rng = _start()
    first = nf.train(p, TRAIN, rng, epochs=k, optimizer=OPTIMIZERS[name](), **kw)
    rest = nf.train(first, TRAIN, rng, epochs=6 - k, test=TEST)
    _same_run(long, rest)
    assert rest.epochs == 6 and len(rest.history.train_loss) == 6


def test_the_flat_path_and_a_plain_init_update_optimizer_agree() -> None:
    opt = nf.adam(0.01)
    plain = nf.Optimizer("adam", opt.init, opt.update, opt.hyper)  # no FlatRule: step by step
    p, rng = _start()
    a = nf.train(p, TRAIN, rng, epochs=3, optimizer=opt)
    p, rng = _start()
    b = nf.train(p, TRAIN, rng, epochs=3, optimizer=plain)
    assert a.params == b.params and a.state == b.state
    assert np.array_equal(a.history.train_loss, b.history.train_loss)
    assert np.isnan(b.history.lr).all()  # an optimizer without lr reports NaN


def test_history_records_every_figure_per_epoch() -> None:
    p, rng = _start(bias=0.1)
    sched = nf.cosine(0.01, 5 * 7, warmup_steps=3)
    res = nf.train(p, TRAIN, rng, epochs=5, batch_size=32, test=TEST, l2=0.01,
                   optimizer=nf.adam(sched))
    h = res.history
    assert len(h) == 5 and h.val_loss is None and h.test_loss is not None
    assert h.dead.shape == (5, 2)
    for arr in (h.train_loss, h.test_loss, h.penalty, h.lr, h.grad_norm, h.dead):
        assert not arr.flags.writeable
    assert h.train_loss[-1] == nf.loss(res.params, TRAIN.X, TRAIN.Y)
    assert h.test_loss[-1] == nf.loss(res.params, TEST.X, TEST.Y)
    assert h.penalty[-1] == pytest.approx(nf.penalty(res.params, 0.01), rel=1e-12)
    assert list(h.lr) == [sched(7 * (e + 1) - 1) for e in range(5)]  # 210 rows / 32 = 7 steps
    assert (h.grad_norm > 0).all() and h.train_loss[-1] < h.train_loss[0]


def test_validation_rows_come_from_the_training_set_only() -> None:
    p, rng = _start()
    res = nf.train(p, TRAIN, rng, epochs=2, val_fraction=0.25, test=TEST)
    assert res.val_rows is not None and len(res.val_rows) == round(0.25 * len(TRAIN))
    keep = np.ones(len(TRAIN), dtype=bool)
    keep[res.val_rows] = False
    assert res.history.val_loss is not None and res.history.val_loss[-1] == nf.loss(
        res.last_params, TRAIN.X[~keep], TRAIN.Y[~keep])
    assert res.history.train_loss[-1] == nf.loss(res.last_params, TRAIN.X[keep], TRAIN.Y[keep])


def test_early_stopping_returns_the_params_of_the_best_validation_epoch() -> None:
    rng = np.random.default_rng(3)
    noise = nf.Dataset(rng.normal(size=(60, 2)), rng.normal(size=(60, 3)))  # nothing to learn
    p = nf.init([2, 32, 3], ["relu", "linear"], rng)
    seen: list[nf.Params] = []
    res = nf.train(p, noise, rng, epochs=200, batch_size=8, optimizer=nf.adam(0.05),
                   val_fraction=0.3, patience=3, min_delta=0.0,
                   on_epoch=lambda e, q, h: seen.append(q))
    h = res.history
    assert res.stopped_epoch is not None and res.best_epoch is not None
    assert len(h) == res.stopped_epoch + 1 < 200
    assert res.stopped_epoch - res.best_epoch == 3
    assert h.val_loss is not None and res.best_epoch == int(np.argmin(h.val_loss))
    assert res.params == seen[res.best_epoch] and res.last_params == seen[-1]
    assert res.params != res.last_params
    assert "stopped early after epoch" in repr(res)


def test_min_delta_counts_small_gains_as_no_gain() -> None:
    p, rng = _start()
    res = nf.train(p, TRAIN, rng, epochs=30, val_fraction=0.2, patience=2, min_delta=10.0)
    assert res.best_epoch == 0 and res.stopped_epoch == 2


def test_a_forced_divergence_raises_with_the_last_finite_params_and_the_history() -> None:
    p, rng = _start()
    with pytest.raises(nf.DivergenceError,
                       match=r"train: .* non-finite in epoch \d+, batch \d+ \(counting from 1\), "
                             r"with learning rate 1e\+03; the largest gradient is in layer "
                             r"\d .* Lower the learning rate \(try 100\)") as info:
        nf.train(p, TRAIN, rng, epochs=50, batch_size=32, optimizer=nf.sgd(1e3))
    last = info.value.last_finite
    assert isinstance(last, nf.Params)
    assert all(np.isfinite(a).all() for layer in last.layers for a in (layer.W, layer.b))
    partial = info.value.result
    assert isinstance(partial, nf.TrainResult)
    assert len(partial.history) == partial.epochs
    assert np.isfinite(partial.history.train_loss).all()


def test_divergence_mid_run_keeps_completed_epochs_and_resumes() -> None:
    p, rng = _start()
    res = nf.train(p, TRAIN, rng, epochs=2, optimizer=nf.sgd(0.01))
    boom = nf.Optimizer("sgd", res.optimizer.init, lambda g, s, q: (
        nf.tree_map(lambda a: np.full_like(a, np.inf), g), s))
    with pytest.raises(nf.DivergenceError, match=r"a parameter became non-finite in epoch 3, "
                                                 r"batch 1 \(counting") as info:
        nf.train(res, TRAIN, rng, epochs=3, optimizer=boom)
    assert info.value.result.epochs == 2 and info.value.last_finite == res.params


@pytest.mark.parametrize("where", ["on_epoch", "step"])
def test_ctrl_c_returns_the_completed_epochs_and_resumes_exactly(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    opt = nf.adam(nf.cosine(0.01, 70, warmup_steps=5))
    p, rng = _start()
    long = nf.train(p, TRAIN, rng, epochs=6, batch_size=32, optimizer=opt, revive_epochs=3)

    p, rng = _start()
    if where == "on_epoch":
        def stop(epoch: int, params: nf.Params, history: nf.History) -> None:
            if epoch == 2:
                raise KeyboardInterrupt
        kw: dict[str, Any] = {"on_epoch": stop}
    else:
        calls = {"n": 0}

        def flaky(real: Any) -> Any:
            def call(*args: Any) -> Any:
                calls["n"] += 1
                if calls["n"] == 7 * 3 + 4:  # 7 steps per epoch: during the 4th
                    raise KeyboardInterrupt
                return real(*args)
            return call

        # the gradient of a step: the general path's, or the fused path's (nnfunc._kernels)
        monkeypatch.setattr(train_module, "_value_and_grads",
                            flaky(train_module._value_and_grads))
        monkeypatch.setattr(_kernels.FlatNet, "grad", flaky(_kernels.FlatNet.grad))
        kw = {}
    with pytest.warns(nf.NnfuncWarning, match=r"interrupted .* returning the 3 completed"):
        part = nf.train(p, TRAIN, rng, epochs=6, batch_size=32, optimizer=opt, revive_epochs=3,
                        **kw)
    monkeypatch.undo()
    assert part.interrupted and part.epochs == 3 and "interrupted" in repr(part)
    rest = nf.train(part, TRAIN, rng, epochs=3)
    _same_run(long, rest)
    assert not rest.interrupted


@pytest.mark.filterwarnings("ignore::nnfunc.DeadUnitsWarning")
def test_huge_unstandardized_data_warns_to_standardize() -> None:
    raw = nf.make_tutorial_data(np.random.default_rng(0), 200)
    p, rng = _start()
    with pytest.warns(nf.ScaleWarning, match=r"data.X column \d has a root mean square of .* and "
                                             r"data.Y column .* nnfunc.fit_scaler"):
        nf.train(p, raw, rng, epochs=1, optimizer=nf.adam(1e-4), revive_epochs=0)


def test_a_dead_layer_warns_and_revival_brings_it_back() -> None:
    rng = np.random.default_rng(0)
    p = nf.init(SIZES, ACTS, rng)
    dead_layer = nf.Layer(p.layers[0].W, np.full(6, -100.0), "relu")
    p = nf.Params((dead_layer, *p.layers[1:]))
    with pytest.warns(nf.DeadUnitsWarning, match=r"hidden layer 0 has 6 of 6 units \(100%\) "
                                                 r".* output zero .* Try"):
        res = nf.train(p, TRAIN, rng, epochs=1, revive_epochs=0)
    assert res.history.dead[-1, 0] == 1.0
    seen: list[nf.Params] = []
    revived = nf.train(p, TRAIN, np.random.default_rng(1), epochs=3, revive_epochs=1,
                       on_epoch=lambda e, q, h: seen.append(q))
    h = revived.history
    assert h.dead[0, 0] == 1.0 and h.dead[1, 0] < 0.5
    # the history and on_epoch describe the same params, revived or not
    assert [nf.loss(q, TRAIN.X, TRAIN.Y) for q in seen] == list(h.train_loss)
    assert revived.params == seen[-1]


def test_quiet_by_default_and_verbose_prints_a_line_every_few_epochs(
    capsys: pytest.CaptureFixture[str]
) -> None:
    p, rng = _start()
    nf.train(p, TRAIN, rng, epochs=3)
    assert capsys.readouterr().out == ""
    nf.train(p, TRAIN, rng, epochs=10, verbose=True, test=TEST)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and lines[0].startswith("epoch  1/10  train ")
    assert "test " in lines[0] and " lr " in lines[0] and "dead " in lines[0]
    nf.train(p, TRAIN, rng, epochs=10, verbose=4)
    assert [ln.split()[1] for ln in capsys.readouterr().out.splitlines()] == [
        "4/10", "8/10", "10/10"]


def test_progress_without_tqdm_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    p, rng = _start()
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'nnfunc\[progress\]'"):
        nf.train(p, TRAIN, rng, epochs=1, progress=True)


def test_progress_bar_with_tqdm(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    p, rng = _start()
    res = nf.train(p, TRAIN, rng, epochs=2, progress=True)
    assert res.epochs == 2 and capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"patience": 3}, nf.HyperParameterError,
         r"train: val_fraction must be > 0 for early stopping \(patience=3\); got 0.0"),
        ({"val_fraction": 1.0}, nf.HyperParameterError,
         r"train: val_fraction must be a finite number in \[0.0, 1.0\); got 1.0"),
        ({"val_fraction": 0.001}, nf.DataError, r"train: data must be enough rows"),
        ({"patience": 0, "val_fraction": 0.1}, nf.HyperParameterError,
         r"train: patience must be an integer >= 1; got 0"),
        ({"min_delta": -1.0}, nf.HyperParameterError, r"train: min_delta must be"),
        ({"l2": -1.0}, nf.HyperParameterError, r"train: l2 must be"),
        ({"revive_epochs": -1}, nf.HyperParameterError, r"train: revive_epochs must be"),
        ({"verbose": -2}, nf.HyperParameterError, r"train: verbose must be an integer >= 0"),
        ({"optimizer": "adam"}, nf.DTypeError, r"train: optimizer must be an nnfunc.Optimizer"),
        ({"batch_size": 0}, nf.HyperParameterError, r"train: batch_size must be an integer >= 1"),
    ],
)
def test_bad_train_arguments_raise_typed_errors(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    p, rng = _start()
    with pytest.raises(error, match=match):
        nf.train(p, TRAIN, rng, epochs=1, **kwargs)


def test_resume_refuses_other_data_or_another_kind_of_optimizer() -> None:
    p, rng = _start()
    res = nf.train(p, TRAIN, rng, epochs=1)
    with pytest.raises(nf.HyperParameterError, match=r"train: optimizer must be a adam"):
        nf.train(res, TRAIN, rng, epochs=1, optimizer=nf.sgd(0.1))
    with pytest.raises(nf.DataError, match=r"train: data must be the 210 rows"):
        nf.train(res, TEST, rng, epochs=1)
    with pytest.raises(nf.DataError, match=r"train: test must be given \(or not\) .*; got given"):
        nf.train(res, TRAIN, rng, epochs=1, test=TEST)
    with_test = nf.train(p, TRAIN, rng, epochs=1, test=TEST)
    with pytest.raises(nf.DataError, match=r"train: test must be given .*; got not given"):
        nf.train(with_test, TRAIN, rng, epochs=1)


def test_float32_stays_float32_through_every_optimizer() -> None:
    t32 = nf.Dataset(TRAIN.X.astype(np.float32), TRAIN.Y.astype(np.float32))
    for opt in (nf.sgd(0.05), nf.momentum(0.05), nf.adam(0.01)):
        rng = np.random.default_rng(0)
        p = nf.init(SIZES, ACTS, rng, dtype=np.float32)
        res = nf.train(p, t32, rng, epochs=2, optimizer=opt)
        assert res.params.dtype == np.float32
        for slot in ("velocity", "mu", "nu"):
            if hasattr(res.state, slot):
                assert getattr(res.state, slot).dtype == np.float32


def test_train_does_not_change_its_arguments_and_results_are_read_only() -> None:
    p, rng = _start()
    before = [a.copy() for layer in p.layers for a in (layer.W, layer.b)]
    res = nf.train(p, TRAIN, rng, epochs=2, val_fraction=0.2)
    assert all(np.array_equal(a, b) for a, b in zip(
        before, [a for layer in p.layers for a in (layer.W, layer.b)], strict=True))
    for layer in (*res.params.layers, *res.state.mu.layers):
        with pytest.raises(ValueError, match="read-only"):
            layer.W[...] = 0.0


def test_the_epoch_evaluation_in_chunks_matches_one_pass() -> None:
    rng = np.random.default_rng(2)
    p = nf.init([2, 64, 64, 3], ["relu", "relu", "linear"], rng)  # chunks of 64 rows
    res = nf.train(p, TRAIN, rng, epochs=1, test=TEST, optimizer=nf.adam(0.01))
    q = res.params
    assert res.history.train_loss[0] == pytest.approx(nf.loss(q, TRAIN.X, TRAIN.Y), rel=1e-12)
    assert res.history.test_loss is not None
    assert res.history.test_loss[0] == pytest.approx(nf.loss(q, TEST.X, TEST.Y), rel=1e-12)
    A1 = np.maximum(TRAIN.X @ q.layers[0].W + q.layers[0].b, 0)
    A2 = np.maximum(A1 @ q.layers[1].W + q.layers[1].b, 0)
    assert list(res.history.dead[0]) == [float(np.mean(~(A > 0).any(axis=0))) for A in (A1, A2)]
