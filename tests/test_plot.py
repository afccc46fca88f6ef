"""Pictures render to PNG files headlessly; without matplotlib the error says how to get it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import nnfunc as nf

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run() -> tuple[nf.Model, nf.History, nf.Dataset]:
    rng = np.random.default_rng(0)
    train_raw, test_raw = nf.split(nf.make_tutorial_data(rng, 300))
    xs, ys = nf.fit_scaler(train_raw.X), nf.fit_scaler(train_raw.Y)
    train = nf.Dataset(nf.transform(xs, train_raw.X), nf.transform(ys, train_raw.Y))
    test = nf.Dataset(nf.transform(xs, test_raw.X), nf.transform(ys, test_raw.Y))
    params = nf.init([2, 8, 3], ["relu", "linear"], rng)
    result = nf.train(params, train, rng, epochs=5, test=test)
    return nf.Model(result.params, xs, ys), result.history, test_raw


def _is_png(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(PNG)


def test_plot_history_writes_a_png(run: tuple[nf.Model, nf.History, nf.Dataset],
                                   tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    _, history, _ = run
    fig = nf.plot_history(history, tmp_path / "loss.png")
    assert _is_png(tmp_path / "loss.png")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = [str(line.get_label()) for line in ax.get_lines()]
    assert [label.split()[0] for label in labels] == ["train", "test"]
    assert np.array_equal(ax.get_lines()[0].get_ydata(), history.train_loss)


def test_plot_history_draws_validation_when_the_history_has_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rng = np.random.default_rng(1)
    data = nf.make_tutorial_data(rng, 200)
    xs, ys = nf.fit_scaler(data.X), nf.fit_scaler(data.Y)
    train = nf.Dataset(nf.transform(xs, data.X), nf.transform(ys, data.Y))
    params = nf.init([2, 8, 3], ["tanh", "linear"], rng)
    history = nf.train(params, train, rng, epochs=3, val_fraction=0.2).history
    train_loss, val = history.train_loss, history.val_loss
    assert val is not None
    fig = nf.plot_history(history, tmp_path / "val.png")
    assert _is_png(tmp_path / "val.png")
    lines = fig.axes[0].get_lines()
    assert [str(line.get_label()).split()[0] for line in lines] == ["train", "validation"]
    assert np.array_equal(lines[1].get_ydata(), val)
    with pytest.raises(nf.DTypeError, match=r"plot_history: history must be an nnfunc\.History"):
        nf.plot_history({"train_loss": train_loss})  # type: ignore[arg-type]


def test_plot_predictions_writes_one_panel_per_output(
    run: tuple[nf.Model, nf.History, nf.Dataset], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    model, _, test_raw = run
    fig = nf.plot_predictions(model, test_raw.X, test_raw.Y, tmp_path / "pred.png",
                              names=["a+b", "a-b", "|a-b|"])
    assert _is_png(tmp_path / "pred.png")
    assert len(fig.axes) == 3
    assert fig.axes[2].get_title().startswith("|a-b|   RMSE ")
    # the same picture from the predictions themselves
    pred = nf.predict(model, test_raw.X)
    fig2 = nf.plot_predictions(pred, None, test_raw.Y, str(tmp_path / "pred2.png"))
    assert _is_png(tmp_path / "pred2.png")
    assert [a.get_title().split()[-1] for a in fig2.axes] == [
        a.get_title().split()[-1] for a in fig.axes]


def test_plot_arguments_are_checked(run: tuple[nf.Model, nf.History, nf.Dataset]) -> None:
    pytest.importorskip("matplotlib")
    model, _, test_raw = run
    pred = nf.predict(model, test_raw.X)
    with pytest.raises(nf.ShapeError, match=r"Y_raw must be shape \(90, 3\)"):
        nf.plot_predictions(pred, None, test_raw.Y[:, :2])
    with pytest.raises(nf.DTypeError, match=r"X_raw must be None when predictions are passed"):
        nf.plot_predictions(pred, test_raw.X, test_raw.Y)
    with pytest.raises(nf.DTypeError, match=r"X_raw must be the inputs to predict from"):
        nf.plot_predictions(model, None, test_raw.Y)
    with pytest.raises(nf.ShapeError, match=r"names must be 3 strings"):
        nf.plot_predictions(pred, None, test_raw.Y, names=["x"])
    with pytest.raises(nf.DataError, match=r"history must be at least one epoch"):
        e = np.empty(0)
        nf.plot_history(nf.History(e, None, None, e, e, e, np.empty((0, 1))))


def test_without_matplotlib_the_error_says_how_to_get_it(
    run: tuple[nf.Model, nf.History, nf.Dataset], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends",
                 "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    _, history, _ = run
    with pytest.raises(ModuleNotFoundError,
                       match=r"plot_history needs matplotlib.*pip install 'nnfunc\[plot\]'") as err:
        nf.plot_history(history)
    assert err.value.name == "matplotlib"


def test_import_nnfunc_does_not_import_matplotlib() -> None:
    import subprocess

    code = "import sys, nnfunc; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_demo_writes_its_pictures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    from nnfunc.__main__ import main

    assert main(["--epochs", "1", "--hidden", "16", "16", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"pictures written: {tmp_path / 'loss.png'} and {tmp_path / 'predictions.png'}" in out
    assert _is_png(tmp_path / "loss.png") and _is_png(tmp_path / "predictions.png")


def test_the_demo_without_matplotlib_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from nnfunc.__main__ import main

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    assert main(["--epochs", "1", "--hidden", "16", "16", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pictures skipped: matplotlib is not installed" in out
    assert "pip install 'nnfunc[plot]'" in out
    assert (tmp_path / "model.npz").exists() and not (tmp_path / "loss.png").exists()
